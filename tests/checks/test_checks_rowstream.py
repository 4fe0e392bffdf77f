"""The analysis decode streamed row by row (station.checks.rowstream) gives exactly OpenCV's
DCT-scaled decode and the INTER_AREA reduction of it; what it cannot stream decodes as before."""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
from PIL import Image

from station.checks import rowstream
from station.checks.detect import min_face_px
from station.checks.imageio import ImageError, _area, open_source
from station.checks.workers import Stages
from station.sim.portrait import render

if TYPE_CHECKING:
    from station.checks.detect import FirstStage


def _jpeg(width: int, height: int, *, mode: str = "RGB", orientation: int = 1,
          progressive: bool = False, quality: int = 92) -> bytes:
    img, _ = render(width, height)
    noise = np.random.default_rng(3).integers(-6, 7, size=img.shape, dtype=np.int16)
    im = Image.fromarray((img.astype(np.int16) + noise).clip(0, 255).astype(np.uint8)[:, :, ::-1])
    if mode != "RGB":
        im = im.convert(mode)
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, progressive=progressive, exif=exif.tobytes())
    return buf.getvalue()


def _ordinary(data: bytes, reduction: int, width: int):
    """What the capture tier did before streaming: OpenCV's reduced decode, then INTER_AREA."""
    base = cv2.imdecode(np.frombuffer(data, np.uint8), getattr(cv2, f"IMREAD_REDUCED_COLOR_{reduction}"))
    return base, _area(base, width)


# sizes whose heights reduce to awkward ratios (strips of a few rows, a single strip, no reduction)
SIZES = [(3000, 2000, 4), (2000, 3000, 2), (2999, 2001, 4), (1603, 1201, 2), (1200, 800, 4)]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("width", "height", "reduction"), SIZES)
def test_streamed_decode_and_reduction_are_opencvs(width, height, reduction, threads):
    data = _jpeg(width, height)
    src = open_source(data)
    base, small = src.decode_shrunk(reduction, 480, Stages(threads))
    want_base, want_small = _ordinary(data, reduction, 480)
    assert base.shape == want_base.shape and np.array_equal(base, want_base)
    assert small.shape == want_small.shape and np.array_equal(small, want_small)
    assert src.decode(reduction) is base  # kept for the crop: not decoded again


def test_progressive_jpeg_streams_the_same_pixels():
    data = _jpeg(2400, 1600, progressive=True)
    base, small = open_source(data).decode_shrunk(4, 480, Stages(2))
    want_base, want_small = _ordinary(data, 4, 480)
    assert np.array_equal(base, want_base) and np.array_equal(small, want_small)


@pytest.mark.parametrize(("width", "height", "step"), [(1000, 1500, 2), (1500, 1000, 3),
                                                       (1001, 1499, 2), (700, 500, 1)])
def test_the_faces_are_found_on_means_of_whole_blocks(width, height, step):
    """The detection image: the whole step nearest width/480, each pixel the rounded mean of
    its own step×step block of the decode (rows and columns short of a block left out)."""
    from station.checks.imageio import detection_step

    img = np.random.default_rng(5).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert detection_step(width, 480) == step
    small = _area(img, 480)
    assert small.shape == (height // step, width // step, 3)
    blocks = img[: height // step * step, : width // step * step].astype(np.float64)
    blocks = blocks.reshape(height // step, step, width // step, step, 3).mean(axis=(1, 3))
    assert np.abs(small - blocks).max() <= 0.5 + 1e-9
    if step == 1:
        assert small is img


def test_rows_are_handed_over_while_the_decode_goes_on():
    """The decoder publishes its rows piece by piece, in order, not only at the end."""
    data = _jpeg(3000, 2000, quality=95)
    stream = rowstream.RowStream(data, 2, (3000, 2000))
    seen: list[int] = []
    notify = stream._cond.notify_all

    def record() -> None:
        seen.append(stream._rows)
        notify()

    stream._cond.notify_all = record  # type: ignore[method-assign]
    stream.run()
    assert len(seen) > 3 and seen == sorted(seen)
    assert 0 < seen[1] < stream.height and seen[-1] == stream.height


def test_a_waiting_reader_gets_rows_from_another_thread():
    data = _jpeg(3000, 2000)
    stream = rowstream.RowStream(data, 4, (3000, 2000))
    worker = threading.Thread(target=stream.run)
    worker.start()
    try:
        assert stream.wait(stream.height) == stream.height
    finally:
        worker.join()
    base, _ = rowstream.follow(stream, 480)
    assert np.array_equal(base, _ordinary(data, 4, 480)[0])


@pytest.mark.parametrize("case", ["rotated", "gray", "png", "cmyk"])
def test_what_cannot_stream_decodes_the_ordinary_way(case):
    if case == "png":
        img, _ = render(1600, 1200)
        buf = io.BytesIO()
        Image.fromarray(img[:, :, ::-1]).save(buf, "PNG")
        data = buf.getvalue()
    else:
        data = _jpeg(1600, 1200, orientation=6 if case == "rotated" else 1,
                     mode={"gray": "L", "cmyk": "CMYK"}.get(case, "RGB"))
    src = open_source(data)
    # a rotated JPEG and a PNG are not tried; gray and CMYK ones are found out by the stream itself
    assert src._streams(2) == (case in ("gray", "cmyk"))
    base, small = src.decode_shrunk(2, 480, Stages(2))
    want = src._decode(2)
    assert np.array_equal(base, want) and np.array_equal(small, _area(want, 480))
    if case == "rotated":
        assert base.shape[:2] == (800, 600)  # EXIF orientation applied, as OpenCV does


def test_a_truncated_jpeg_is_left_to_the_ordinary_decode():
    """The stream gives up; the ordinary decode then says the file is unreadable, as before."""
    data = _jpeg(2400, 1600)
    cut = data[: len(data) * 2 // 3]
    stream = rowstream.RowStream(cut, 4, (2400, 1600))
    stream.run()
    with pytest.raises(rowstream.NotStreamed):
        stream.wait(stream.height)
    with pytest.raises(ImageError) as ordinary:
        open_source(cut)._decode(4)
    with pytest.raises(ImageError) as streamed:
        open_source(cut).decode_shrunk(4, 480, Stages(2))
    assert str(streamed.value) == str(ordinary.value)


def _wheel_first_stage(small: np.ndarray, size: float) -> dict:
    from station.checks.detect import STAGE_THRESHOLDS, _mtcnn, pyramid

    rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    step = _mtcnn()._MTCNN__run_first_stage
    return {s: step(rgb, s, STAGE_THRESHOLDS[0]) for s in pyramid(rgb.shape, size)}


def _assert_boxes_are_the_wheels(first: FirstStage, small: np.ndarray) -> dict:
    """``first``'s joined boxes equal the wheel's own first stage, scale by scale; returns the wheel's."""
    size = max(12.0, min_face_px(small.shape, 0.06))
    made = first.boxes(small, size)
    want = _wheel_first_stage(small, size)
    assert made is not None and made.keys() == want.keys()
    for scale, boxes in want.items():
        assert (boxes is None and made[scale] is None) or np.array_equal(made[scale], boxes)
    return want


@pytest.mark.parametrize(("width", "height", "reduction"), SIZES[:3])
def test_first_stage_made_while_streaming_is_the_wheels(width, height, reduction):
    """P-Net over row strips of each pyramid level, joined: the wheel's boxes for every scale."""
    from station.checks.detect import FirstStage

    first = FirstStage(0.06)
    _, small = open_source(_jpeg(width, height)).decode_shrunk(reduction, 480, Stages(2),
                                                          lambda s, n, *_: first.feed(s, n))
    want = _assert_boxes_are_the_wheels(first, small)
    assert any(b is not None and len(b) for b in want.values())  # the face gave candidates


@pytest.mark.parametrize(("step", "threads"), [(3, 1), (8, 1), (25, 1), (8, 2), (200, 2)])
def test_first_stage_fed_in_strips_is_the_wheels(step, threads):
    """Rows handed over a few at a time: each level is looked at in several strips, and the
    joined result is still the wheel's, scale by scale (with two threads the last strips are
    shared out between them)."""
    from station.checks.detect import FirstStage

    _, small = _ordinary(_jpeg(2000, 3000), 2, 480)
    first = FirstStage(0.06, stages=Stages(threads))
    for rows in [*range(step, small.shape[0], step), small.shape[0]]:
        first.feed(small, rows)
    _assert_boxes_are_the_wheels(first, small)
    assert len(first._levels[0]._parts[0]) > (3 if step < 100 else 1)  # the largest: in strips


def test_the_last_strips_are_shared_out():
    """Once every row is fed, a share of the levels' last strips is handed to the pool (made
    there, or taken back when no pool thread is free): the wheel's boxes either way."""
    from station.checks import detect
    from station.checks.detect import FirstStage

    _, small = _ordinary(_jpeg(2000, 3000), 2, 480)
    handed: list = []

    class Spy(Stages):
        def submit(self, fn, *args):
            handed.append((fn, args[0]))
            return super().submit(fn, *args)

    first = FirstStage(0.06, stages=Spy(2))
    first.feed(small, small.shape[0] // 3)
    assert handed == []  # not while rows are still coming (the decode's thread is busy)
    first.feed(small, small.shape[0])
    ((fn, levels),) = handed
    assert fn is detect._advance and 0 < len(levels) < len(first._levels)
    _assert_boxes_are_the_wheels(first, small)


def test_rnet_and_onet_shared_out_give_the_ones_look():
    from station.checks import detect

    model = detect._mtcnn()
    rng = np.random.default_rng(5)
    for net, side in ((model._MTCNN__rnet, 24), (model._MTCNN__onet, 48)):
        session, name, outputs = net
        shared = detect._Shared(session, Stages(2))
        for n in (1, 2, 17):
            x = (rng.integers(0, 256, (n, 3, side, side)).astype("float32") - 127.5) * 0.0078125
            for w, p in zip(session.run(outputs, {name: x}), shared.run(outputs, {name: x}),
                            strict=True):
                assert np.array_equal(w, p)


def test_first_stage_hands_nothing_before_every_row_is_fed():
    from station.checks.detect import FirstStage

    _, small = _ordinary(_jpeg(3000, 2000), 4, 480)
    first = FirstStage(0.06)
    first.feed(small, small.shape[0] // 2)
    size = max(12.0, min_face_px(small.shape, 0.06))
    assert first.boxes(small, size) is None
    first.feed(small, small.shape[0])
    assert first.boxes(small, size) is not None
    assert first.boxes(small, size + 1.0) is None  # another face size: not these boxes


def test_a_stream_stopped_early_keeps_its_rows_and_refuses_more():
    """``stop_at``: the decode ends at the piece that writes the rows asked for; those rows are
    OpenCV's, and a wait for rows below them is refused (the caller decodes the ordinary way)."""
    data = _jpeg(3000, 2000, quality=95)
    want, _ = _ordinary(data, 2, 480)
    stream = rowstream.RowStream(data, 2, (3000, 2000))
    stream.stop_at(stream.height // 3)
    stream.run()
    assert stream.height // 3 <= stream.rows < stream.height
    assert stream.wait(stream.height // 3) == stream.rows
    rows = stream.rows
    assert np.array_equal(cv2.cvtColor(stream.rgbx[:rows], cv2.COLOR_RGBA2BGR), want[:rows])
    with pytest.raises(rowstream.NotStreamed):
        stream.wait(stream.height)
