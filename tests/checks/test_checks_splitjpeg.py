"""A JPEG without restart markers decoded on two threads (station.checks.splitjpeg): the second
thread starts mid-scan and its rows are taken from where the two meet, with the DC values put
right; the pixels are OpenCV's DCT-scaled decode within rounding. Anything else is left to
libjpeg, and damaged files never crash the decoder."""

from __future__ import annotations

import io
import threading

import cv2
import numpy as np
import pytest
from PIL import Image

from station.checks import bands, splitjpeg
from station.checks.imageio import open_source
from station.checks.rowstream import NotStreamed
from station.checks.workers import Stages
from station.sim.portrait import render
from tests.checks.decodes import opencv_reduced, run_whole

pytest.importorskip("station.checks._splitjpeg", reason="the C extension is built by `pip install`")


@pytest.fixture(autouse=True)
def split_small_files(monkeypatch):
    """Split from the first byte: the test images are smaller than a camera's."""
    monkeypatch.setattr(splitjpeg, "MIN_SCAN_BYTES", 1)


def _noisy(width: int, height: int, seed: int = 3) -> np.ndarray:
    """A rendered portrait with sensor noise (BGR)."""
    img, _ = render(width, height)
    noise = np.random.default_rng(seed).integers(-10, 11, size=img.shape, dtype=np.int16)
    return (img.astype(np.int16) + noise).clip(0, 255).astype(np.uint8)


def _jpeg(bgr: np.ndarray, subsampling: int | str = 2, quality: int = 92, **extra) -> bytes:
    """Pillow's JPEG (libjpeg-turbo, no restart markers): subsampling 2 is 4:2:0, 0 is 4:4:4,
    1 is 4:2:2, "L" grey."""
    rgb = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    out = io.BytesIO()
    if subsampling == "L":
        rgb.convert("L").save(out, "JPEG", quality=quality, **extra)
    else:
        rgb.save(out, "JPEG", quality=quality, subsampling=subsampling, **extra)
    return out.getvalue()


_opencv = opencv_reduced


def _split(data: bytes, reduction: int, size: tuple[int, int]) -> splitjpeg.SplitStream:
    stream: splitjpeg.SplitStream = run_whole(splitjpeg.SplitStream(data, reduction, size))
    return stream


def _mcus(size: tuple[int, int], mcu: int | tuple[int, int]) -> int:
    across, down = mcu if isinstance(mcu, tuple) else (mcu, mcu)
    return -(-size[0] // across) * -(-size[1] // down)


@pytest.mark.parametrize("reduction", [4, 8])
@pytest.mark.parametrize(("subsampling", "mcu"), [(2, 16), (1, (16, 8)), (0, 8), ("L", 8)])
@pytest.mark.parametrize("size", [(1003, 757), (1600, 2400)])
def test_the_two_halves_give_opencvs_pixels(subsampling, mcu, size, reduction):
    data = _jpeg(_noisy(*size), subsampling)
    stream = _split(data, reduction, size)
    # the second thread's MCUs were used, from about the middle on
    assert 0.3 < stream.joined_at / _mcus(size, mcu) < 0.7
    mine = cv2.cvtColor(stream.rgbx, cv2.COLOR_RGBA2BGR)
    diff = np.abs(mine.astype(int) - _opencv(data, reduction).astype(int))
    assert diff.max() <= 3  # rounded once here, twice in libjpeg's integer IDCT
    assert diff.mean() < 0.1
    # the half joined in: its DC values put right (a wrong predictor shifts its whole half)
    lower = diff[diff.shape[0] * 3 // 4:]
    assert lower.mean() < 0.1


@pytest.mark.parametrize("interval", [1, 7, "row"])
@pytest.mark.parametrize("sampling", ["420", "422"])
def test_a_restart_marked_file_splits_at_an_interval_and_its_windows_hold(sampling, interval):
    """With restart markers the second thread starts at an interval near the middle (a known
    state: no guessing); decodes and windows are OpenCV's pixels, the markers' resets kept."""
    size = (1600, 1200)
    every = -(-size[0] // 16) if interval == "row" else interval
    ok, enc = cv2.imencode(".jpg", _noisy(*size), [
        cv2.IMWRITE_JPEG_QUALITY, 92, cv2.IMWRITE_JPEG_RST_INTERVAL, every,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR, getattr(cv2, f"IMWRITE_JPEG_SAMPLING_FACTOR_{sampling}")])
    assert ok
    data = enc.tobytes()
    for _ in range(3):  # (the two threads' timing differs from run to run)
        stream = _split(data, 4, size)
        assert stream.joined_at % every == 0 and 0.3 < stream.joined_at / _mcus(size, (16, 16 if sampling == "420" else 8)) < 0.7
        mine = cv2.cvtColor(stream.rgbx, cv2.COLOR_RGBA2BGR)
        assert np.abs(mine.astype(int) - _opencv(data, 4).astype(int)).max() <= 3
    assert stream.index is not None
    half = _opencv(data, 2)
    window = (299, 207, 500, 333)
    got = splitjpeg.decode_window(data, size, stream.index, 2, window)
    x, y, w, h = window
    assert np.abs(got.astype(int) - half[y:y + h, x:x + w].astype(int)).max() <= 3


def test_a_restart_marked_file_missing_a_marker_is_left_to_libjpeg():
    size = (1600, 1200)
    ok, enc = cv2.imencode(".jpg", _noisy(*size), [cv2.IMWRITE_JPEG_RST_INTERVAL, 10])
    assert ok
    data = bytearray(enc.tobytes())
    at = data.index(b"\xff\xd3", splitjpeg._read_header(bytes(data)).scan_at)
    data[at + 1] = 0xD5  # RST3 → RST5: out of sequence
    with pytest.raises(NotStreamed):
        _split(bytes(data), 4, size)


def test_the_rows_of_the_first_half_are_counted_as_they_are_written():
    size = (1600, 2400)
    data = _jpeg(_noisy(*size))
    stream = splitjpeg.SplitStream(data, 4, size)
    seen: list[int] = []
    worker = threading.Thread(target=stream.run)
    worker.start()
    while worker.is_alive():
        seen.append(stream.rows)
    worker.join()
    assert stream.rows == stream.height
    assert seen == sorted(seen)  # never counts back
    assert stream.wait(stream.height) == stream.height


@pytest.mark.parametrize("reduction", [2, 4])
@pytest.mark.parametrize("subsampling", [2, 1])
def test_a_window_decoded_from_the_row_index_is_that_part_of_opencvs_decode(subsampling, reduction):
    """Only the window's MCU rows are decoded, from where the analysis decode noted they start
    (its DC predictors there); with 4:2:2 the chroma samples beside the window are decoded too,
    for libjpeg's upsampling across its edges."""
    size = (2400, 1600)
    data = _jpeg(_noisy(*size), subsampling)
    index = _split(data, 4, size).index
    assert index is not None
    whole = _opencv(data, reduction)
    height, width = whole.shape[:2]
    for window in [(0, 0, width, height), (width // 3 + 1, height // 5 + 3, width // 3, height // 2),
                   (width - 9, height - 5, 9, 5), (5, 7, 1, 1)]:
        x, y, w, h = window
        got = splitjpeg.decode_window(data, size, index, reduction, window)
        assert got.shape == (h, w, 3)
        assert np.abs(got.astype(int) - whole[y:y + h, x:x + w].astype(int)).max() <= 3


def test_a_window_from_an_index_that_does_not_hold_is_refused():
    size = (1600, 1200)
    data = _jpeg(_noisy(*size))
    index = _split(data, 4, size).index
    assert index is not None
    index.starts[10 * 100] = len(data) * 8 + 1  # past the scan: row 10's first MCU (100 a row)
    with pytest.raises(NotStreamed):
        splitjpeg.decode_window(data, size, index, 2, (0, 70, 100, 20))
    with pytest.raises(NotStreamed):  # outside the image
        splitjpeg.decode_window(data, size, index, 2, (700, 0, 200, 10))


@pytest.mark.parametrize("kind", ["440", "411", "progressive", "12 bytes"])
def test_what_libjpeg_would_upsample_or_cut_is_left_to_it(kind):
    size = (1003, 757)
    img = _noisy(*size)
    if kind == "440":  # upsampled down the image: not this decoder's
        ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                             cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440])
        assert ok
        data = enc.tobytes()
    elif kind == "411":  # upsampled four times across: not this decoder's
        ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                             cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411])
        assert ok
        data = enc.tobytes()
    elif kind == "progressive":
        data = _jpeg(img, progressive=True)
    else:
        data = _jpeg(img)[:12]
    with pytest.raises(NotStreamed):
        splitjpeg.SplitStream(data, 4, size)


def test_a_damaged_scan_never_crashes_and_a_cut_one_says_so():
    size = (1003, 757)
    data = _jpeg(_noisy(*size))
    start = splitjpeg._read_header(data).scan_at
    rng = np.random.default_rng(5)
    failed = 0
    for _ in range(120):
        damaged = bytearray(data)
        for at in rng.integers(start, len(data) - 2, size=int(rng.integers(1, 40))):
            damaged[at] = int(rng.integers(0, 256))
        stream = _try(bytes(damaged), size)
        failed += stream is None
    cut_short = 0
    for keep in np.linspace(start + 10, len(data) - 3000, 25).astype(int):
        cut_short += _try(data[:keep], size) is None
    assert cut_short == 25  # a file cut short is never taken for whole
    assert failed < 120  # (and some damaged ones still decode, as libjpeg's would)


def _try(data: bytes, size: tuple[int, int]) -> splitjpeg.SplitStream | None:
    try:
        return _split(data, 4, size)
    except NotStreamed:
        return None


def test_the_analysis_decode_is_split_on_two_check_threads(opened):
    size = (2400, 1600)
    data = _jpeg(_noisy(*size))
    base, small = open_source(data, "capture.jpg").decode_shrunk(4, 300, Stages(2))
    assert [type(s) for s in opened] == [splitjpeg.SplitStream]
    assert np.abs(base.astype(int) - _opencv(data, 4).astype(int)).max() <= 3
    assert small.shape[1] == 300


def test_without_the_extension_the_checks_decode_with_libjpeg(monkeypatch):
    """A station installed without a C compiler: the same decode path falls back to libjpeg's
    stream, which gives OpenCV's pixels exactly."""
    import sys

    from station.checks.rowstream import RowStream

    monkeypatch.setitem(sys.modules, "station.checks._splitjpeg", None)  # as if never built
    size = (2400, 1600)
    data = _jpeg(_noisy(*size))
    stream = bands.open_stream(data, 4, size, parts=2)
    assert isinstance(stream, RowStream)
    base, _ = open_source(data, "capture.jpg").decode_shrunk(4, 300, Stages(2))
    assert np.array_equal(base, _opencv(data, 4))
