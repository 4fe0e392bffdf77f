"""The face's work made while the capture's decode still runs (ahead.Ahead) is used only
when it is exactly what the work after the decode would give: the same verdicts, numbers and
JPEG bytes as one thread, whether the guess on the rows decoded so far was right or wrong."""

from __future__ import annotations

import numpy as np
import pytest

from station.checks import ahead, detect, frame_work, landmarks, pipeline
from tests.checks.test_checks_concurrency import CASES, _camera_jpeg, _outcome


@pytest.fixture(autouse=True)
def no_history(monkeypatch) -> None:
    """No capture before: where earlier tests' faces ended, how long their face's work took (or
    whether their crops needed a finer decode) does not move the guesses."""
    monkeypatch.setattr(ahead, "FACE_BOTTOM", {})
    monkeypatch.setattr(ahead, "WORK_TIME", {})
    monkeypatch.setattr(pipeline, "_NEEDED_FINER", {})
    monkeypatch.setattr(ahead.Ahead, "PAY", 0.0)  # the decode's pace (the machine's) does not gate


@pytest.fixture
def aheads(monkeypatch) -> list:
    """Every Ahead a capture makes, to look at after it."""
    made: list = []
    init = ahead.Ahead.__init__

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(ahead.Ahead, "__init__", spy)
    return made


@pytest.fixture
def paced(monkeypatch) -> None:
    """The decode's rows handed over 16 at a time whatever the machine's load (the decoder may
    be further): the guesses then happen at the same rows on every run."""
    from station.checks.rowstream import RowStream

    wait = RowStream.wait

    def in_steps(self, rows: int) -> int:
        want = min(self.height, rows - 1 + 16)
        wait(self, want)
        return want

    monkeypatch.setattr(RowStream, "wait", in_steps)


def _same(one, two) -> None:
    assert one[0] == two[0]          # every check: status, value, limit, message
    assert one[1] == two[1]          # geometry, unrounded
    assert one[2] == two[2]          # every measurement
    assert one[3] is not None and one[3] == two[3]  # the export JPEG, byte for byte
    assert np.array_equal(one[4], two[4])


@pytest.mark.parametrize(("case", "frame_too"), [("portrait", True),
                                               ("landscape_small_person", False)])
def test_the_face_work_made_during_the_decode_is_used_and_is_the_same(profile, aheads, paced,
                                                                       monkeypatch, case,
                                                                       frame_too):
    """The portrait's export window ends above the frame's bottom: its frame, measurements,
    BlazeFace and encode are made during the decode too; the small person's crop needs a
    finer decode, so only the face's work is."""
    data = _camera_jpeg(**CASES[case])
    one = _outcome(data, profile, threads=1)
    assert aheads == []  # one thread: everything after the decode, in turn
    calls = []
    find = landmarks.find_landmarks
    monkeypatch.setattr(landmarks, "find_landmarks", lambda *a, **k: calls.append(1) or find(*a, **k))
    works = []
    fw = frame_work.frame_work
    monkeypatch.setattr(frame_work, "frame_work", lambda *a, **k: works.append(1) or fw(*a, **k))
    two = _outcome(data, profile, threads=2)
    last = aheads[-1]
    assert last.face is not None and last.made is not None
    # every mesh run was the guess's own (a second when the first read rows not yet decoded),
    # none after the decode
    assert 1 <= len(calls) == last._tries
    assert (last.work is not None) == frame_too
    assert len(works) == 1  # the frame's measurements too: made once, during the decode or after
    _same(one, two)


@pytest.mark.parametrize("case", sorted(CASES))
def test_guesses_on_any_part_of_the_frame_change_nothing(profile, aheads, paced, monkeypatch,
                                                         case):
    """Guessing from the first rows on and settling on any face (the guess is then often a
    partial face, its mesh on rows not yet decoded): only the timing may change."""
    data = _camera_jpeg(**CASES[case])
    one = _outcome(data, profile, threads=1)
    monkeypatch.setattr(ahead, "FACE_BOTTOM", {})
    monkeypatch.setattr(ahead.Ahead, "START", 0.0)
    monkeypatch.setattr(ahead.Ahead, "STEP", 0.02)
    monkeypatch.setattr(ahead.Ahead, "LAST", 1.0)
    monkeypatch.setattr(ahead.Ahead, "GUESSES", 100)
    monkeypatch.setattr(ahead.Ahead, "MARGIN", -1.0)
    calls = []
    fw = frame_work.frame_work
    monkeypatch.setattr(frame_work, "frame_work", lambda *a, **k: calls.append(1) or fw(*a, **k))
    two = _outcome(data, profile, threads=2)
    assert aheads[-1].face is not None  # a guess was settled on
    if case == "landscape":  # a frame's work made on a wrong guess (a part of the face), dropped
        assert aheads[-1].work is not None and len(calls) == 2
    _same(one, two)


def test_rnet_and_onet_outputs_per_row_do_not_depend_on_the_batch():
    """What the memo of ``detect._Remembered`` relies on: a candidate looked at alone or among
    others gives the same bits."""
    model = detect._mtcnn()
    rng = np.random.default_rng(3)
    for net, side in ((model._MTCNN__rnet, 24), (model._MTCNN__onet, 48)):
        session, name, outputs = net
        x = (rng.integers(0, 256, (23, 3, side, side)).astype("float32") - 127.5) * 0.0078125
        whole = session.run(outputs, {name: x})
        for rows in ([0], [7, 2], list(range(5, 23))):
            part = session.run(outputs, {name: x[rows]})
            for w, p in zip(whole, part, strict=True):
                assert np.array_equal(w[rows], p)
        kept: dict = {}
        remembered = detect._Remembered(session, kept)
        first = remembered.run(outputs, {name: x[:9]})
        assert len(kept) == 9
        again = remembered.run(outputs, {name: x[4:]})  # five kept, fourteen new
        assert len(kept) == 23
        for w, a, b in zip(whole, first, again, strict=True):
            assert np.array_equal(w[:9], a) and np.array_equal(w[4:], b)


def test_the_landmarks_read_no_row_below_those_counted(profile):
    """Rows below those ``rows_read`` counts may change (not yet decoded) without changing the
    landmarks; a change above them, in the face, does change them (the test can fail)."""
    from station.sim.portrait import render

    img, _ = render(1500, 1000, face_width=300)
    faces = detect.detect_faces(img, 60)
    with landmarks.rows_read() as read:
        lm = landmarks.find_landmarks(img, faces[0], refine=False)
    assert lm is not None and read and max(read) < img.shape[0]  # the face ends above the bottom
    need = max(read)
    noisy = img.copy()
    noisy[need:] = np.random.default_rng(0).integers(0, 256, noisy[need:].shape, dtype=np.uint8)
    again = landmarks.find_landmarks(noisy, faces[0], refine=False)
    assert again is not None
    assert np.array_equal(again.mesh, lm.mesh) and again.iris is not None and lm.iris is not None
    assert all(np.array_equal(again.iris[s], lm.iris[s]) for s in ("left", "right"))
    noisy[need - 40:need] = 0
    changed = landmarks.find_landmarks(noisy, faces[0], refine=False)
    assert changed is None or not np.array_equal(changed.mesh, lm.mesh)


def test_a_guess_keeps_the_looks_the_detection_on_the_whole_image_uses():
    """``FirstStage.guess`` on the top rows fills the memo; the detection on all rows then finds
    what the wheel finds without it."""
    from station.sim.portrait import render

    img, _ = render(720, 480, face_width=120)
    first = detect.FirstStage(0.06)
    half = img.copy()
    half[300:] = 0
    first.feed(half, 300)
    guessed = first.guess(half, 0.06 * 720, 0.9)
    assert guessed and sum(len(k) for k in first.memo) > 0
    first.feed(img, img.shape[0])
    assert detect.detect_faces(img, 0.06 * 720, 0.9, first=first) == detect.detect_faces(
        img, 0.06 * 720, 0.9)


def test_guesses_start_below_where_the_last_captures_face_ended(profile, paced, monkeypatch):
    """The same station frames every student alike: the first guess waits for the rows just
    below the last face of that frame size; a face that ended too low is not guessed at."""
    data = _camera_jpeg(**CASES["portrait"])
    rows: list[float] = []
    guess = detect.FirstStage.guess

    def spy(self, bgr, *args):
        rows.append(self.rows / bgr.shape[0])
        return guess(self, bgr, *args)

    monkeypatch.setattr(detect.FirstStage, "guess", spy)
    pipeline.analyse(data, profile, threads=2)
    assert rows and rows[0] < 0.5  # no history: from 40 % of the rows on
    bottom = ahead.FACE_BOTTOM[(2000, 3000)]
    rows.clear()
    pipeline.analyse(data, profile, threads=2)
    assert rows and bottom + ahead.Ahead.AFTER <= rows[0] <= ahead.Ahead.LAST
    ahead.FACE_BOTTOM[(2000, 3000)] = 0.9
    rows.clear()
    pipeline.analyse(data, profile, threads=2)
    assert rows == []


def test_a_guess_that_fails_leaves_the_capture_as_without_it(profile, aheads, paced, monkeypatch):
    data = _camera_jpeg(**CASES["portrait"])
    one = _outcome(data, profile, threads=1)

    def broken(self, *args):
        raise RuntimeError("a model failed during the decode")

    monkeypatch.setattr(detect.FirstStage, "guess", broken)
    two = _outcome(data, profile, threads=2)
    assert aheads[-1].made is None
    _same(one, two)


def test_a_truncated_capture_gives_what_one_thread_gives(profile):
    """The stream fails near the end; the ordinary decode takes over (its grey rows): nothing
    made on the stream's rows is used."""
    data = _camera_jpeg(**CASES["portrait"])
    cut = data[: len(data) * 9 // 10]
    one = pipeline.analyse(cut, profile, threads=1)
    two = pipeline.analyse(cut, profile, threads=2)
    assert [(c.name, c.status, c.value) for c in one.report.checks] == [
        (c.name, c.status, c.value) for c in two.report.checks]
    assert one.report.geometry == two.report.geometry


def test_no_guess_when_the_work_cannot_end_before_the_decode(profile, paced, monkeypatch):
    """A face's work that took longer than the whole decode the last time is not started (that
    time is then partly forgotten); the capture is the same without it."""
    data = _camera_jpeg(**CASES["portrait"])
    one = _outcome(data, profile, threads=1)
    guesses: list[int] = []
    guess = detect.FirstStage.guess
    monkeypatch.setattr(detect.FirstStage, "guess",
                        lambda self, *a: guesses.append(1) or guess(self, *a))
    monkeypatch.setattr(ahead.Ahead, "PAY", 1.0)
    ahead.WORK_TIME[(2000, 3000)] = 1e9  # seconds: longer than any decode
    _same(one, _outcome(data, profile, threads=2))
    assert guesses == []
    assert ahead.WORK_TIME[(2000, 3000)] == pytest.approx(1e9 * ahead.Ahead.FORGET)
    ahead.WORK_TIME[(2000, 3000)] = 1e-9
    _same(one, _outcome(data, profile, threads=2))
    assert guesses


def test_the_time_left_is_read_at_the_decodes_pace(profile, monkeypatch):
    class Capture:
        size = (2000, 3000)

    now = [10.0]
    monkeypatch.setattr(ahead.Ahead, "clock", staticmethod(lambda: now[0]))
    monkeypatch.setattr(ahead.Ahead, "PAY", 1.0)
    made = ahead.Ahead(None, Capture(), 4, profile, None, None, False)
    now[0] += 0.05  # a quarter of the rows in 50 ms: 150 ms left
    assert made._pays(250, 1000)
    ahead.WORK_TIME[Capture.size] = 0.15
    assert made._pays(250, 1000)
    ahead.WORK_TIME[Capture.size] = 0.16
    assert made._pays(200, 1000)  # slower: 200 ms left
    assert not made._pays(250, 1000)
    assert ahead.WORK_TIME[Capture.size] == pytest.approx(0.16 * ahead.Ahead.FORGET)
    assert not made._pays(300, 1000)  # refused again in the same capture: forgotten once only
    assert ahead.WORK_TIME[Capture.size] == pytest.approx(0.16 * ahead.Ahead.FORGET)
    later = ahead.Ahead(None, Capture(), 4, profile, None, None, False)
    now[0] += 0.05
    assert later._pays(250, 1000)  # the next capture: 150 ms left ≥ 128 ms, tried again


@pytest.fixture
def rest_at_once(monkeypatch, aheads) -> None:
    """The decode's rows 16 at a time until the face's work is made, then all the rest at once
    (the decode ended meanwhile): the export frame's work is made at the decode's end."""
    from station.checks.rowstream import RowStream

    wait = RowStream.wait

    def in_steps(self, rows: int) -> int:
        made = any(a.made is not None for a in aheads)
        want = self.height if made else min(self.height, rows - 1 + 16)
        wait(self, want)
        return want

    monkeypatch.setattr(RowStream, "wait", in_steps)


def test_the_frame_work_starts_on_the_pool_when_the_decode_ends(profile, aheads, rest_at_once,
                                                                 monkeypatch, threads_of):
    """The face's work was made, the window's rows came with the decode's end: the export
    frame's work runs on the pool while this thread ends the detection; made once, the same."""
    from station.checks.workers import Stages

    data = _camera_jpeg(**CASES["portrait"])
    one = _outcome(data, profile, threads=1)
    seen = threads_of(frame_work, "frame_work")
    handed: list[str] = []
    submit = Stages.submit
    monkeypatch.setattr(Stages, "submit",
                        lambda self, fn, *a: handed.append(fn.__name__) or submit(self, fn, *a))
    two = _outcome(data, profile, threads=2)
    last = aheads[-1]
    assert last.made is not None and last.work is not None
    assert "_frame_work" in handed  # handed to the pool (made there, or taken back if unstarted)
    assert len(seen) == 1
    _same(one, two)


@pytest.mark.parametrize("case", ["portrait", "landscape"])
def test_a_frame_work_on_a_wrong_guess_at_the_decodes_end_changes_nothing(
        profile, aheads, rest_at_once, monkeypatch, case):
    """Settling on any face (often a part of it) with the rest of the rows at once: the frame's
    work on the pool made on a wrong guess is let end and dropped; the same results."""
    data = _camera_jpeg(**CASES[case])
    one = _outcome(data, profile, threads=1)
    monkeypatch.setattr(ahead.Ahead, "START", 0.0)
    monkeypatch.setattr(ahead.Ahead, "STEP", 0.02)
    monkeypatch.setattr(ahead.Ahead, "LAST", 1.0)
    monkeypatch.setattr(ahead.Ahead, "GUESSES", 100)
    monkeypatch.setattr(ahead.Ahead, "MARGIN", -1.0)
    two = _outcome(data, profile, threads=2)
    assert aheads[-1].made is not None
    _same(one, two)


def test_a_guess_that_does_not_settle_counts_its_own_time(profile, monkeypatch):
    """The face's work takes at least its guess: a face too low to settle on leaves the guess's
    time as the work time, so the next capture does not guess on too few rows left."""
    class Capture:
        size = (2000, 3000)

    now = [10.0]

    class First:
        rows = 0

        def guess(self, *args):
            now[0] += 0.03  # the guess takes 30 ms and finds nothing settled
            return []

    monkeypatch.setattr(ahead.Ahead, "clock", staticmethod(lambda: now[0]))
    small, base = np.zeros((100, 60, 3), np.uint8), np.zeros((400, 240, 3), np.uint8)
    ahead.WORK_TIME[Capture.size] = 0.01
    made = ahead.Ahead(First(), Capture(), 4, profile, None, None, False)
    made._face_work(small, 50, base, 200)
    assert ahead.WORK_TIME[Capture.size] == pytest.approx(0.03)
    ahead.WORK_TIME[Capture.size] = 0.05
    ahead.Ahead(First(), Capture(), 4, profile, None, None, False)._face_work(small, 50, base, 200)
    assert ahead.WORK_TIME[Capture.size] == pytest.approx(0.05)


def test_no_frame_work_on_the_pool_outlives_its_capture(profile, aheads, rest_at_once,
                                                         monkeypatch):
    """The detection on the whole image finds no face after all: the frame's work on the pool
    (its models) has ended when the capture returns, as when the guess was right."""
    data = _camera_jpeg(**CASES["portrait"])
    pipeline.analyse(data, profile, threads=1)  # where the face ends: the guess settles
    running: list[int] = []
    fw = frame_work.frame_work

    def spy(*args, **kwargs):
        running.append(1)
        try:
            return fw(*args, **kwargs)
        finally:
            running.pop()

    monkeypatch.setattr(frame_work, "frame_work", spy)
    find = detect.detect_faces
    monkeypatch.setattr(detect, "detect_faces",
                        lambda *a, **k: [] if k.get("first") is not None else find(*a, **k))
    result = pipeline.analyse(data, profile, threads=2)
    assert aheads[-1].made is not None
    assert result.report.geometry == {"face_count": 0}
    assert running == []  # ended (or never started: taken back from the queue)
