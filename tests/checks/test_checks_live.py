"""Live tier: every frame checked, face tracked between detections, one instruction, overlay guides."""

import pytest

from station.checks import LiveChecker
from station.sim.portrait import render


def test_live_frames_pass_and_are_tracked_between_detections(profile):
    checker = LiveChecker(profile)
    reports = [checker.analyse(render(1024, 680, centre_x=500 + 4 * i, seed=i)[0]) for i in range(6)]
    assert all(r.passed for r in reports), [r.failed() for r in reports]
    assert any(r.tracked for r in reports) and not reports[0].tracked
    last = reports[-1]
    assert last.top_instruction is None
    assert last.face.eye_mid[0] == pytest.approx(520, abs=6)  # frame coordinates follow the face
    g = last.guides
    assert len(g["window"]) == 4 and "eye_band" in g and "head_top_line" in g
    ys = [p[1] for p in g["window"]]
    assert min(ys) >= 0 and max(ys) <= 680
    assert g["eye_band"][0][0][1] < last.face.eye_mid[1] < g["eye_band"][1][0][1]


@pytest.mark.parametrize(("params", "check", "word"), [
    (dict(shirt=(95, 185, 245)), "clothing_contrast", "non-blue"),
    (dict(centre_x=90), "framing", "move the camera left"),
    (dict(face_width=70), "framing", "zoom in"),
])
def test_live_top_instruction_names_the_fix(profile, params, check, word):
    report = LiveChecker(profile).analyse(render(1024, 680, **params)[0])
    assert check in report.failed()
    assert word in report.top_instruction[1]


def test_live_without_a_face(profile):
    report = LiveChecker(profile).analyse(render(1024, 680, face=False)[0])
    assert report.failed() == ["face_count"] and report.face is None


@pytest.mark.parametrize(("at", "faces"), [(4.5, 1), (2.5, 2), (1.75, 2)])
def test_live_counts_the_faces_near_the_export_photo(profile, at, faces):
    """Someone waiting at the edge of the view, well outside the export window, is not a retake
    (as the capture counts them); someone beside the student or reaching into the photo is."""
    img, _ = render(1024, 680, face_width=100, second_face=True, second_face_at=at)
    checker = LiveChecker(profile)
    report = checker.analyse(img)
    count = next(c for c in report.checks if c.name == "face_count")
    assert count.value == faces
    assert ("face_count" in report.failed()) == (faces > 1)
