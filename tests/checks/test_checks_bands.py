"""A restart-marked JPEG decoded in bands side by side (station.checks.bands) gives exactly
OpenCV's DCT-scaled decode of the whole file; a file that cannot be cut safely streams whole."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from station.checks import bands, check_and_crop
from station.checks.imageio import ImageError, open_source
from station.checks.profile import load_profile
from station.checks.rowstream import NotStreamed, RowStream
from station.checks.workers import Stages
from station.sim.portrait import render
from tests.checks.decodes import opencv_reduced, run_whole

WIDTH, HEIGHT = 2400, 1600


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    """A portrait with sensor noise: about 1 MB as JPEG, enough for two bands."""
    img, _ = render(WIDTH, HEIGHT)
    noise = np.random.default_rng(11).integers(-8, 9, size=img.shape, dtype=np.int16)
    return (img.astype(np.int16) + noise).clip(0, 255).astype(np.uint8)


@pytest.fixture(autouse=True)
def libjpeg_only(monkeypatch):
    """These files go to the split decoder (``splitjpeg``) when it is built; the bands are for
    those it does not take (4:4:0, no extension): here, all of them."""
    from station.checks import splitjpeg

    monkeypatch.setattr(splitjpeg, "MIN_SCAN_BYTES", 1 << 40)


def _encode(img: np.ndarray, sampling: str = "420", interval: int | None = None, **extra: int) -> bytes:
    """OpenCV's JPEG with a restart marker every ``interval`` MCUs (default: one MCU row)."""
    factor = getattr(cv2, f"IMWRITE_JPEG_SAMPLING_FACTOR_{sampling}")
    mcu_w = {"444": 8, "440": 8, "422": 16, "420": 16, "411": 32}[sampling]
    every = -(-img.shape[1] // mcu_w) if interval is None else interval
    params = [cv2.IMWRITE_JPEG_QUALITY, 92, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor,
              cv2.IMWRITE_JPEG_RST_INTERVAL, every]
    for key, value in extra.items():
        params += [getattr(cv2, key), value]
    ok, enc = cv2.imencode(".jpg", img, params)
    assert ok
    return enc.tobytes()


_opencv = opencv_reduced


def _decoded(stream: bands.BandedStream | RowStream) -> np.ndarray:
    return cv2.cvtColor(run_whole(stream).rgbx, cv2.COLOR_RGBA2BGR)


@pytest.mark.parametrize("reduction", [2, 4, 8])
@pytest.mark.parametrize(("sampling", "interval"), [("420", None), ("420", 5), ("422", None),
                                                    ("444", None), ("411", 3)])
def test_bands_give_the_whole_files_pixels(pixels, sampling, interval, reduction):
    data = _encode(pixels, sampling, interval)
    stream = bands.open_stream(data, reduction, (WIDTH, HEIGHT), parts=2)
    assert isinstance(stream, bands.BandedStream)  # cut in two, not streamed whole
    cut = bands.restart_bands(data, reduction, 2)
    assert cut is not None and len(cut) == 2 and cut[0].top == 0
    assert cut[1].top == cut[0].height and cut[1].top + cut[1].height == HEIGHT
    assert np.array_equal(_decoded(stream), _opencv(data, reduction))


def test_more_bands_than_two(pixels):
    data = _encode(pixels, interval=5)
    cut = bands.restart_bands(data, 4, 3)
    assert cut is not None and len(cut) == 3
    assert [b.top for b in cut] == [0, cut[0].height, cut[0].height + cut[1].height]
    assert np.array_equal(_decoded(bands.BandedStream(cut, 4, (WIDTH, HEIGHT))), _opencv(data, 4))


def test_vertical_chroma_upsampling_is_not_banded(pixels):
    """4:4:0 chroma is upsampled across rows at every scale: a band's edge would differ."""
    data = _encode(pixels, "440")
    assert bands.restart_bands(data, 4, 2) is None
    stream = bands.open_stream(data, 4, (WIDTH, HEIGHT), parts=2)
    assert isinstance(stream, RowStream)
    assert np.array_equal(_decoded(stream), _opencv(data, 4))


def test_only_well_formed_restart_files_are_cut(pixels):
    plain = _encode(pixels, interval=0)  # no DRI
    assert bands.restart_bands(plain, 4, 2) is None
    progressive = _encode(pixels, IMWRITE_JPEG_PROGRESSIVE=1)
    assert bands.restart_bands(progressive, 4, 2) is None
    data = _encode(pixels)
    assert bands.restart_bands(data, 4, 1) is None  # one thread: nothing to share
    assert bands.restart_bands(data, 1, 2) is None  # full scale upsamples chroma across rows
    scan = data.index(b"\xff\xda")
    first = data.index(b"\xff\xd0", scan)
    misnumbered = data[:first + 1] + b"\xd3" + data[first + 2:]
    assert bands.restart_bands(misnumbered, 4, 2) is None
    fewer = data[:first] + data[first + 2:]  # one marker gone: the count is not the header's
    assert bands.restart_bands(fewer, 4, 2) is None


def test_data_after_the_image_is_not_read_as_its_markers(pixels):
    """Cameras append previews after the main image's end (MPF); their markers are not ours."""
    data = _encode(pixels)
    appended = data + _encode(pixels[:400, :600])
    cut = bands.restart_bands(appended, 4, 2)
    assert cut is not None and [b.height for b in cut] == [b.height for b in bands.restart_bands(data, 4, 2) or []]
    assert np.array_equal(_decoded(bands.BandedStream(cut, 4, (WIDTH, HEIGHT))), _opencv(data, 4))


def test_a_banded_stream_stopped_in_its_first_band_keeps_those_rows_only(pixels):
    data = _encode(pixels)
    stream = bands.open_stream(data, 2, (WIDTH, HEIGHT), parts=2)
    assert isinstance(stream, bands.BandedStream)
    first = stream._parts[1][0]  # the second band's first row
    stream.stop_at(first // 2)
    stream.run()
    rows = stream.wait(first // 2)
    assert first // 2 <= rows < first
    want = _opencv(data, 2)
    assert np.array_equal(cv2.cvtColor(stream.rgbx[:rows], cv2.COLOR_RGBA2BGR), want[:rows])
    with pytest.raises(NotStreamed):
        stream.wait(stream.height)


def test_a_broken_band_is_left_to_the_ordinary_decode(pixels):
    data = _encode(pixels)
    cut = bands.restart_bands(data, 4, 2)
    assert cut is not None
    broken = [cut[0], bands.Band(cut[1].data[: len(cut[1].data) // 3], cut[1].top, cut[1].height)]
    stream = bands.BandedStream(broken, 4, (WIDTH, HEIGHT))
    stream.run()
    assert stream.wait(cut[1].top // 4) >= cut[1].top // 4  # the first band is whole
    with pytest.raises(NotStreamed):
        stream.wait(stream.height)


def test_a_truncated_restart_file_says_what_the_ordinary_decode_says(pixels):
    cut = _encode(pixels)[: 600_000]
    with pytest.raises(ImageError) as ordinary:
        open_source(cut)._decode(4)
    with pytest.raises(ImageError) as banded:
        open_source(cut).decode_shrunk(4, 480, Stages(2))
    assert str(banded.value) == str(ordinary.value)


def test_the_analysis_decode_of_a_restart_file_is_banded_and_the_same(pixels, opened):
    data = _encode(pixels)
    base, small = open_source(data).decode_shrunk(4, 480, Stages(2))
    assert len(opened) == 1 and isinstance(opened[0], bands.BandedStream)
    want = _opencv(data, 4)
    assert np.array_equal(base, want)
    assert np.array_equal(small, open_source(_encode(pixels, interval=0)).decode_shrunk(4, 480, Stages(2))[1])


def test_a_restart_marked_capture_gets_the_same_verdicts_and_photo():
    """Restart markers change how the file is laid out, not its pixels: the checks and the export
    are the same bytes as for the same capture without them."""
    img, _ = render(4000, 3000, seed=4)
    profile = load_profile("chsi")
    plain_report, plain_jpeg = check_and_crop(_encode(img, interval=0), profile, threads=2)
    report, jpeg = check_and_crop(_encode(img), profile, threads=2)
    assert [(c.name, c.status, c.value) for c in report.checks] == \
        [(c.name, c.status, c.value) for c in plain_report.checks]
    assert jpeg == plain_jpeg


def test_beside_a_finer_decode_streaming_ahead_nothing_is_banded(pixels, opened):
    """The finer decode (cut at the crop window) holds the second core: neither it nor the
    analysis decode is split into bands then, and both still give OpenCV's pixels."""
    data = _encode(pixels)
    src = open_source(data)
    src.prefetch(2, Stages(2))
    base, _ = src.decode_shrunk(4, 480, Stages(2))
    assert len(opened) == 2 and all(isinstance(s, RowStream) for s in opened)
    assert np.array_equal(base, _opencv(data, 4))
    assert np.array_equal(src.decode(2), _opencv(data, 2))
