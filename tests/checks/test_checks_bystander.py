"""second_person: someone half hidden behind the student, cut by the frame's edge, or an object.

Face detectors miss such a person (a third of a face, some hair at the edge); the backdrop mask
does not. The student's own long hair and shoulders reaching the frame's sides must still pass.
Rendered export-size portraits (480×640, checked as they are); the second head is a copy of the
student's own, pasted only over backdrop pixels so that the student hides part of it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from station.checks.pipeline import analyse
from station.sim.portrait import render
from tests.checks.drawing import add_hair

BACKDROP_BGR = np.array((255, 197, 100), np.float32)


@pytest.fixture(scope="module")
def portrait():
    return render(480, 640, face_width=250, eye_y=265)


def behind(img: np.ndarray, truth: dict, side: int, down: float = 0.1, out: float = 0.95,
           scale: float = 0.8, tint: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """A second head (the student's own, ``scale`` times as big, colours × ``tint`` BGR: another
    person's hair and skin) behind the student, its centre ``out`` face widths to the ``side``
    (-1 left, 1 right) and ``down`` face widths below the student's eyes; drawn only where the
    backdrop shows, so the student and the frame cut it."""
    fw = truth["face_width"]
    ex, ey = truth["eye_mid"]
    x0, y0 = int(max(0, ex - 0.75 * fw)), int(max(0, ey - 0.9 * fw))
    patch = img[y0:int(ey + 1.0 * fw), x0:int(ex + 0.75 * fw)]
    patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ph, pw = patch.shape[:2]
    left = int(ex + side * out * fw) - pw // 2
    top = int(ey + down * fw) - int((ey - y0) * scale)
    h, w = img.shape[:2]
    canvas = np.zeros((h + 2 * ph, w + 2 * pw, 3), np.uint8)
    canvas[ph:ph + h, pw:pw + w] = img
    region = canvas[ph + top:2 * ph + top, pw + left:2 * pw + left]
    free = np.linalg.norm(region.astype(np.float32) - BACKDROP_BGR, axis=2) < 40
    head = np.linalg.norm(patch.astype(np.float32) - BACKDROP_BGR, axis=2) >= 40
    other = np.clip(patch.astype(np.float32) * np.array(tint, np.float32), 0, 255).astype(np.uint8)
    region[free & head] = other[free & head]
    return canvas[ph:ph + h, pw:pw + w].copy()


def _second_person(img: np.ndarray, profile):
    report = analyse(img, profile).report
    return report, next(c for c in report.checks if c.name == "second_person")


def test_the_portrait_alone_passes_with_its_shoulders_at_the_frame_sides(profile, portrait):
    img, _ = portrait
    report, check = _second_person(img, profile)
    assert report.passed, report.failed()
    # the shoulders do reach both sides of the frame, below the chin
    assert check.status == "pass" and check.value > 1.0, check.value


@pytest.mark.parametrize("side,word", [(-1, "left"), (1, "right")])
def test_a_second_head_cut_by_the_frame_edge_fails_and_says_who_must_step_away(profile, portrait,
                                                                              side, word):
    img, truth = portrait
    report, check = _second_person(behind(img, truth, side), profile)
    assert check.status == "fail", check
    assert word in check.message_en and "step away" in check.message_en
    assert ("左" if side < 0 else "右") in check.message_zh and "离开" in check.message_zh
    assert report.top_instruction is not None


def test_a_second_face_lower_beside_the_student_fails_by_its_colour(profile, portrait):
    """A contact below the forehead: what touches the edge is not the student's hair (another
    person's face and darker hair), so the silhouette alone fails it, face mesh or not; the
    student's own hair at the same height passes (the long-hair test)."""
    from station.checks import bystander

    img, truth = portrait
    other = behind(img, truth, 1, down=0.45, out=1.0, tint=(0.55, 0.6, 0.75))
    result = analyse(other, profile)
    assert result.measurements is not None
    values = dict(result.measurements.values)
    side, edge, hair = next(e for e in values["bystander_edges"] if e[0] == "right")
    s = profile.second_person
    assert s.edge_always < edge <= s.edge_above and hair < s.hair_share, (edge, hair)
    values.pop("bystander_face", None)  # the silhouette's verdict on its own
    check = bystander.verdict(values, profile)
    assert check.status == "fail" and "right" in check.message_en, check


def test_a_second_face_with_the_students_hair_colour_is_found_by_the_face_mesh(profile, portrait):
    """Its hair is the student's colour and touches the edge below the forehead line, so the
    silhouette alone would let it pass: the face mesh, asked beside the head, finds the face."""
    img, truth = portrait
    result = analyse(behind(img, truth, 1, down=0.45, out=1.0), profile)
    check = next(c for c in result.report.checks if c.name == "second_person")
    assert result.measurements is not None
    assert result.measurements.values["bystander_face"] >= profile.second_person.face_presence
    assert check.status == "fail" and "right" in check.message_en, check


def test_long_hair_reaching_both_frame_sides_beside_the_face_passes(profile, portrait):
    img, truth = portrait
    result = analyse(add_hair(img, truth, reach=1.6), profile)
    check = next(c for c in result.report.checks if c.name == "second_person")
    # the hair touches the frame's sides above the mouth line: it passes by its colour, and the
    # face mesh asked beside the head (the hair reaches out there) finds no face in it
    assert check.value is not None and check.value < profile.second_person.edge_above
    assert result.measurements is not None
    values = result.measurements.values
    assert set(values["bystander_beyond"]) == {"left", "right"}
    assert values["bystander_face"] < profile.second_person.face_presence
    assert check.status == "pass", check
    assert result.report.passed, result.report.failed()


@pytest.mark.parametrize("box", [((12, 60), (70, 130)), ((400, 0), (470, 50))],
                         ids=["floating beside the head", "hanging from the top edge"])
def test_an_object_against_the_backdrop_fails(profile, portrait, box):
    img, _ = portrait
    marked = img.copy()
    cv2.rectangle(marked, box[0], box[1], (40, 60, 90), -1)
    _, check = _second_person(marked, profile)
    assert check.status == "fail" and "object" in check.message_en, check


@pytest.mark.parametrize(("eye_y", "cx"), [(300.0, -400.0), (300.0, 900.0), (10.0, 240.0)])
def test_hair_model_of_a_face_at_or_beyond_the_frame_edge_is_none_not_a_crash(eye_y, cx):
    """A group photo's face found at the frame's edge leaves no forehead block inside the frame:
    cv2.distanceTransform of an empty block returned None and analyse() raised a TypeError."""
    from station.checks.bystander import _hair_model

    subject = np.zeros((640, 480), np.uint8)
    subject[200:, 100:380] = 1
    lab = np.zeros((640, 480, 3), np.uint8)
    assert _hair_model(lab, subject, eye_y=eye_y, cx=cx, fw=200.0) is None


@pytest.mark.parametrize("scene", ["long hair", "a face behind"])
def test_the_face_probes_on_two_threads_give_the_one_thread_presences(profile, portrait, scene,
                                                                      monkeypatch):
    """With concurrent stages every other look beside the head runs on a pool thread with its own
    interpreter: the same presences, the same side, every value the same as on one thread."""
    import threading

    from station.checks import landmarks
    from station.checks.bystander import probe_faces
    from station.checks.workers import Stages

    img, truth = portrait
    frame = add_hair(img, truth, reach=1.6) if scene == "long hair" else \
        behind(img, truth, 1, down=0.45, out=1.0)
    one = analyse(frame, profile, threads=1)
    two = analyse(frame, profile, threads=2)
    assert one.measurements is not None and two.measurements is not None
    assert "bystander_face" in one.measurements.values
    assert two.measurements.values == one.measurements.values
    assert [(c.name, c.status, c.value) for c in two.report.checks] == \
        [(c.name, c.status, c.value) for c in one.report.checks]
    # the probes themselves on two threads: every other look on a pool thread, copy 1
    m = one.measurements
    assert m.landmarks is not None
    real = landmarks.run_mesh
    looks: list[tuple[str, int]] = []
    pool_started = threading.Event()

    def run_mesh(image, roi, copy=0):
        looks.append((threading.current_thread().name, copy))
        if copy == 1:
            pool_started.set()
        else:  # the caller's looks wait until the pool has started its share (else
            assert pool_started.wait(60)  # result_here would take back what it has not)
        return real(image, roi, copy)

    monkeypatch.setattr(landmarks, "run_mesh", run_mesh)
    probed = probe_faces(frame, m.values, m.landmarks, m.face_span, Stages(2))
    assert probed == {k: m.values[k] for k in ("bystander_face", "bystander_face_side")}
    main = threading.main_thread().name
    assert any(name.startswith("checks") and copy == 1 for name, copy in looks), looks
    assert all(copy == 0 for name, copy in looks if name == main), looks


def test_probes_the_busy_pool_has_not_started_are_made_in_the_callers_thread(profile, portrait,
                                                                          monkeypatch, busy_pool):
    """With every pool thread busy, the looks handed to it are taken back and made by the
    caller on the second interpreter copy: the same presences and side."""
    import threading

    from station.checks import landmarks
    from station.checks.bystander import probe_faces
    from station.checks.workers import Stages

    img, truth = portrait
    frame = add_hair(img, truth, reach=1.6)
    found = analyse(frame, profile, threads=1).measurements
    assert found is not None and found.landmarks is not None
    one = probe_faces(frame, found.values, found.landmarks, found.face_span)
    real = landmarks.run_mesh
    looks: list[tuple[str, int]] = []

    def run_mesh(image, roi, copy=0):
        looks.append((threading.current_thread().name, copy))
        return real(image, roi, copy)

    monkeypatch.setattr(landmarks, "run_mesh", run_mesh)
    with busy_pool():
        two = probe_faces(frame, found.values, found.landmarks, found.face_span, Stages(2))
    assert two == one and "bystander_face" in two
    assert len(looks) >= 2 and {name for name, _ in looks} == {threading.main_thread().name}
    assert {copy for _, copy in looks} == {0, 1}
