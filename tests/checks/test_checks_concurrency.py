"""One capture's stages side by side (station.checks.workers) give exactly what they give in turn:
the same verdicts, the same numbers and the same export JPEG bytes."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from station.checks import landmarks, pipeline, rowstream, splitjpeg
from station.checks.imageio import open_source
from station.checks.workers import Stages, set_opencv_threads
from station.sim.portrait import render


def _camera_jpeg(width: int, height: int, **params) -> bytes:
    img, _ = render(width, height, **params)
    buf = io.BytesIO()
    Image.fromarray(img[:, :, ::-1]).save(buf, "JPEG", quality=92)
    return buf.getvalue()


# Landscape frames decode a finer reduction ahead on the second core; the small person's crop
# needs it, the others do not. A portrait frame, a failing one and one with a second face.
CASES = {
    "landscape": dict(width=3600, height=2400),
    "landscape_small_person": dict(width=3600, height=2400, face_width=380),
    "portrait": dict(width=2000, height=3000),
    "tilted_blue_top": dict(width=3600, height=2400, roll=4.0, shirt=(60, 150, 230)),
    "second_face": dict(width=3600, height=2400, face_width=500, second_face=True),
    "roll_near_limit": dict(width=3600, height=2400, roll=1.8),  # irises looked at again
}


def _outcome(data: bytes, profile, threads: int):
    import cv2

    before = cv2.getNumThreads()
    set_opencv_threads(threads)  # as the station's capture process runs with that setting
    try:
        result = pipeline.analyse(data, profile, threads=threads, encode=True)
    finally:
        cv2.setNumThreads(before)
    report = result.report
    checks = [(c.name, c.status, c.value, c.limit, c.message_en) for c in report.checks]
    values = result.measurements.values if result.measurements is not None else None
    jpeg = result.export_jpeg(profile) if result.frame is not None else None
    frame = result.frame
    return checks, report.geometry, values, jpeg, frame


@pytest.mark.parametrize("case", sorted(CASES))
def test_side_by_side_gives_the_same_verdicts_numbers_and_bytes(profile, case):
    data = _camera_jpeg(**CASES[case])
    one = _outcome(data, profile, threads=1)
    two = _outcome(data, profile, threads=2)
    assert one[0] == two[0]          # every check: status, value, limit, message
    assert one[1] == two[1]          # geometry, unrounded
    assert one[2] == two[2]          # every measurement
    assert one[3] is not None and one[3] == two[3]  # the export JPEG, byte for byte
    assert np.array_equal(one[4], two[4])


def test_the_cases_cover_what_they_claim(profile):
    """The small person's crop comes from the finer decode; the default framing's does not; the
    tilted frame fails; the second face is counted (else the comparisons above prove little)."""
    small = pipeline.analyse(_camera_jpeg(**CASES["landscape_small_person"]), profile, threads=1)
    usual = pipeline.analyse(_camera_jpeg(**CASES["landscape"]), profile, threads=1)
    assert small.framing is not None and usual.framing is not None
    assert small.framing.scale < 2.0 <= usual.framing.scale  # 2 = the analysis decode's reduction
    tilted = pipeline.analyse(_camera_jpeg(**CASES["tilted_blue_top"]), profile, threads=1)
    assert {"roll", "clothing_contrast"} <= set(tilted.report.failed())
    two = pipeline.analyse(_camera_jpeg(**CASES["second_face"]), profile, threads=1)
    assert "face_count" in two.report.failed()
    near = pipeline.analyse(_camera_jpeg(**CASES["roll_near_limit"]), profile, threads=1)
    assert near.measurements is not None and near.measurements.landmarks is not None
    assert landmarks.near_roll_limit(near.measurements.landmarks)


def test_stages_run_beside_the_caller_only_with_more_than_one_thread(profile, threads_of):
    from station.checks import detect

    seen = threads_of(detect, "other_faces")
    data = _camera_jpeg(**CASES["landscape"])
    pipeline.analyse(data, profile, threads=1)
    pipeline.analyse(data, profile, threads=2)
    assert seen[0] == threading.current_thread().name
    assert seen[1].startswith("checks") and seen[1] != seen[0]


def test_the_finer_decode_is_started_ahead_as_the_last_capture_of_that_size_needed(
        profile, monkeypatch):
    monkeypatch.setattr(pipeline, "_NEEDED_FINER", {})
    assert pipeline.may_need_finer((3600, 2400), 2)       # no history: landscape frames do
    assert not pipeline.may_need_finer((2400, 3600), 2)   # portrait frames do not
    assert not pipeline.may_need_finer((3600, 2400), 1)   # nothing finer than full size
    pipeline.analyse(_camera_jpeg(**CASES["landscape"]), profile, threads=1)
    assert not pipeline.may_need_finer((3600, 2400), 2)   # that one's crop came from the 1/2
    pipeline.analyse(_camera_jpeg(**CASES["landscape_small_person"]), profile, threads=1)
    assert pipeline.may_need_finer((3600, 2400), 2)


def test_a_decode_started_ahead_is_the_one_used(monkeypatch):
    monkeypatch.setattr(pipeline, "_NEEDED_FINER", {})
    data = _camera_jpeg(3600, 2400, face_width=380)
    for threads, ahead in ((1, False), (2, True)):
        src = open_source(data)
        stages = Stages(threads)
        r = pipeline._reduction(src.size, pipeline.ANALYSIS_MIN_SIDE)
        assert r == 2 and pipeline.may_need_finer(src.size, r)
        if stages.concurrent:
            src.prefetch(1, stages)
        assert src.decoded(1) is ahead
        if ahead:  # the decode made ahead is the one a later decode() returns, not a second one
            first = src.decode(1)
            assert src.decode(1) is first
            assert np.array_equal(first, open_source(data).decode(1))


def test_thread_counts_outside_the_range_are_refused():
    with pytest.raises(ValueError, match="1..8"):
        Stages(0)
    assert not Stages(1).concurrent
    assert Stages(2).concurrent


def test_a_failed_stage_raises_where_its_result_is_asked():
    for threads in (1, 2):
        future = Stages(threads).submit(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            future.result()


def test_a_stage_no_pool_thread_has_started_is_made_by_the_caller():
    from station.checks.workers import result_here

    stages = Stages(2)
    release = threading.Event()
    busy = [stages.submit(release.wait) for _ in range(stages.threads)]  # every pool thread
    try:
        waiting = stages.submit(threading.current_thread)
        assert result_here(waiting, threading.current_thread) is threading.current_thread()
        assert waiting.cancelled()
    finally:
        release.set()
    assert all(b.result() for b in busy)
    made = stages.submit(threading.current_thread)
    ran_on = made.result()  # started (and done) on a pool thread: its result, not made again
    assert result_here(made, threading.current_thread) is ran_on is not threading.current_thread()


def test_mtcnn_with_its_largest_scale_beside_the_rest_finds_the_same_faces():
    import cv2

    from station.checks import detect

    images = [render(480, 320, seed=1)[0], render(480, 320, second_face=True, face_width=90)[0],
              render(480, 640, roll=3.0)[0], render(480, 320, person=False)[0]]
    found = 0
    for img in images:
        plain = detect._detect_mtcnn(img, 24.0, 0.9)
        split = detect._detect_mtcnn(img, 24.0, 0.9, Stages(2))
        assert plain == split
        found += len(plain)
    assert found >= 4  # faces were found (one per portrait, two beside each other)

    # the scales made ahead are exactly the ones the wheel's detect asks for
    model = detect._mtcnn()
    asked: list[float] = []
    real = model._MTCNN__run_first_stage

    def spy(image, scale, threshold):
        asked.append(scale)
        return real(image, scale, threshold)

    model._MTCNN__run_first_stage = spy
    try:
        model.detect(images[0], min_face_size=24.0, thresholds=list(detect.STAGE_THRESHOLDS))
    finally:
        del model._MTCNN__run_first_stage
    assert asked == detect.pyramid(cv2.cvtColor(images[0], cv2.COLOR_BGR2RGB).shape, 24.0)


def test_the_two_eyes_looked_at_side_by_side_give_the_same_landmarks():
    from station.checks.detect import detect_faces
    from station.checks.landmarks import find_landmarks

    img, _ = render(900, 1200, roll=1.0)
    face = detect_faces(img, 100.0)[0]
    one = find_landmarks(img, face)
    two = find_landmarks(img, face, stages=Stages(2))
    assert one is not None and two is not None and one.iris and two.iris
    assert np.array_equal(one.mesh, two.mesh)
    for side in ("left", "right"):
        assert np.array_equal(one.iris[side], two.iris[side])
        assert np.array_equal(one.eye_contour[side], two.eye_contour[side])


def _capture_in_child(data: bytes, profile, out) -> None:
    result = pipeline.analyse(data, profile, threads=2, encode=True)
    out.put((result.report.passed, result.export_jpeg(profile)))


def test_a_forked_child_runs_its_stages_on_a_pool_of_its_own(profile):
    """A process forked after the pool was made (the desk forks its live-checks process) must
    not hand its stages to the parent's pool threads, which do not exist in the child."""
    import multiprocessing

    data = _camera_jpeg(**CASES["landscape"])
    here = pipeline.analyse(data, profile, threads=2, encode=True)  # the parent's pool exists
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_capture_in_child, args=(data, profile, out))
    child.start()
    child.join(timeout=300)  # a hang guard, not a speed limit
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0
    passed, jpeg = out.get(timeout=10)
    assert passed == here.report.passed and jpeg == here.export_jpeg(profile)


def test_models_made_on_two_threads_at_once_leave_stderr_where_it_was(tmp_path):
    """Each model is made with fd 2 silenced for a moment; two made at once on two threads must
    not leave it silenced (the desk's terminal UI draws on stderr)."""
    import os
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from station.checks import landmarks as lm

    target = tmp_path / "stderr.txt"
    saved = os.dup(2)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT)
    os.dup2(fd, 2)
    try:
        with ThreadPoolExecutor(4) as pool:
            for _ in range(3):
                models = list(pool.map(lambda _: lm._Model("iris_landmark.tflite"), range(4)))
                assert len(models) == 4
        os.write(2, b"still here\n")
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)
    assert target.read_text().endswith("still here\n")


@pytest.fixture(scope="module")
def large_small_person() -> bytes:
    """A 5400×3600 camera JPEG (analysed at 1/4) whose person is small enough for the crop to
    need the 1/2 decode, the window in the upper two thirds of the frame."""
    import cv2

    img, _ = render(2700, 1800, face_width=340)
    big = cv2.resize(img, (5400, 3600), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(4).integers(-5, 6, size=big.shape, dtype=np.int16)
    buf = io.BytesIO()
    Image.fromarray((big + noise).clip(0, 255).astype(np.uint8)[:, :, ::-1]).save(buf, "JPEG",
                                                                                  quality=92)
    return buf.getvalue()


def test_a_split_decodes_crop_is_cut_from_the_windows_rows_alone(
        profile, large_small_person, monkeypatch):
    """A plain camera JPEG goes to the split decoder (``splitjpeg``) at any thread count; the
    crop's 1/2 pixels are decoded from its row index, only the window's rows, and no finer
    decode is started ahead. One thread and two give the same frame, verdicts and bytes."""
    windows: list[tuple[int, int, int, int]] = []
    real = splitjpeg.decode_window

    def spy(data, size, index, reduction, window):
        windows.append(window)
        return real(data, size, index, reduction, window)

    monkeypatch.setattr(splitjpeg, "decode_window", spy)
    monkeypatch.setattr(pipeline, "_NEEDED_FINER", {})  # no history: a landscape frame would prefetch
    outcomes = []
    for threads in (1, 2):
        src = open_source(large_small_person)
        outcomes.append(pipeline._analyse(src, profile, None, Stages(threads), True))
        assert src.indexed() and src.streaming(2) is None
    one, two = outcomes
    assert one.framing is not None and one.framing.scale < 4  # the crop needed the 1/2
    assert len(windows) == 2 and windows[0] == windows[1]
    x, y, w, h = windows[0]
    assert h < 1800 * 0.8  # of the 1/2 decode's 1800 rows
    assert np.array_equal(one.frame, two.frame)
    assert [(c.name, c.status, c.value) for c in one.report.checks] == \
        [(c.name, c.status, c.value) for c in two.report.checks]
    assert one.export_jpeg(profile) == two.export_jpeg(profile)


def test_the_crop_is_cut_from_a_finer_decode_streaming_ahead_before_it_ends(
        profile, large_small_person, monkeypatch):
    """For a file the split decoder leaves to libjpeg (4:2:2, progressive, restart markers; here
    by its size limit): the 1/2 decode started ahead stops once the export window's rows are in;
    the frame, the verdicts and the JPEG bytes are those of one thread, which decodes the 1/2
    whole."""
    monkeypatch.setattr(splitjpeg, "MIN_SCAN_BYTES", 1 << 40)
    monkeypatch.setattr(pipeline, "_NEEDED_FINER", {})  # no history: a landscape frame prefetches
    one = pipeline.analyse(large_small_person, profile, threads=1, encode=True)
    # the 1/2 stream starts only once a window is asked of it (on a fast machine it could end
    # before the analysis knows the window: then nothing is stopped, the same bytes still)
    run, stop_at, asked = rowstream.RowStream.run, rowstream.RowStream.stop_at, threading.Event()

    def held(self):
        if self.height == 1800:
            asked.wait(timeout=60)
        run(self)

    def asking(self, rows):
        stop_at(self, rows)
        asked.set()

    monkeypatch.setattr(rowstream.RowStream, "run", held)
    monkeypatch.setattr(rowstream.RowStream, "stop_at", asking)
    src = open_source(large_small_person)
    two = pipeline._analyse(src, profile, None, Stages(2), True)
    stream = src.streaming(2)
    assert stream is not None and two.framing is not None and one.framing is not None
    assert one.framing.scale < 4 <= pipeline._reduction(src.size, pipeline.ANALYSIS_MIN_SIDE)
    assert stream.wait(1) < stream.height  # the rows below the window were never decoded
    assert np.array_equal(one.frame, two.frame)
    assert [(c.name, c.status, c.value) for c in one.report.checks] == \
        [(c.name, c.status, c.value) for c in two.report.checks]
    assert one.export_jpeg(profile) == two.export_jpeg(profile)


def test_a_finer_stream_stopped_above_the_window_gives_the_whole_decodes_frame(
        large_small_person, monkeypatch):
    """A guess's window stopped the stream; the frame finally asked for reaches lower: it is
    cut from the whole 1/2 decode, made the ordinary way (never from rows not decoded)."""
    import cv2

    from station.checks.framing import Framing, cut
    from station.checks.subject import export_frame

    monkeypatch.setattr(splitjpeg, "MIN_SCAN_BYTES", 1 << 40)  # libjpeg's stream (not split)
    src = open_source(large_small_person)
    src.prefetch(2, Stages(1))  # one thread: the stream runs at once, to its end
    stream = src.streaming(2)
    assert stream is not None and stream.wait(stream.height) == stream.height
    low = Framing(1800.0, 1500.0, 2.5)  # a window ending at 3100 of 3600 rows
    whole = cv2.imdecode(np.frombuffer(large_small_person, np.uint8), cv2.IMREAD_REDUCED_COLOR_2)
    want = cut(whole, low, src.size, (480, 640))[0]
    assert np.array_equal(export_frame(src, 2, low, (480, 640))[0], want)

    src = open_source(large_small_person)
    src._ahead[2] = stopped = rowstream.RowStream(large_small_person, 2, src.size)
    stopped.stop_at(stopped.height // 3)
    stopped.run()
    assert export_frame(src, 2, low, (480, 640), wait=False) is None  # its rows are not in
    assert np.array_equal(export_frame(src, 2, low, (480, 640))[0], want)


def test_a_finer_decode_ahead_yields_to_the_captures_other_work(large_small_person, monkeypatch):
    """It runs on its own thread at a lower priority (Linux: that thread's nice value), so the
    analysis decode and the face's work come first on the cores; the caller's is untouched."""
    import os

    from station.checks import imageio

    seen: dict[str, int] = {}
    run = rowstream.RowStream.run

    def spy(self):
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["thread"] = threading.get_native_id()
        run(self)

    monkeypatch.setattr(rowstream.RowStream, "run", spy)
    monkeypatch.setattr(splitjpeg, "MIN_SCAN_BYTES", 1 << 40)  # libjpeg's stream (not split)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    src = open_source(large_small_person)
    src.prefetch(2, Stages(2))
    stream = src.streaming(2)
    assert stream is not None and stream.wait(stream.height) == stream.height
    assert seen["thread"] != threading.get_native_id()
    assert seen["nice"] == min(19, mine + imageio.AHEAD_NICE)
    assert seen["nice"] > mine or mine == 19  # (a test run at nice 19 cannot go lower)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
