"""Each defect fails its own check and nothing unrelated."""

import pytest

from station.checks.pipeline import analyse
from station.sim.portrait import render

GEOMETRY = {"head_top", "eye_line", "face_width", "centring", "resolution"}

# name: (render parameters, the check that must fail, other checks allowed to fail with it)
DEFECTS = {
    "blue_top": (dict(shirt=(95, 185, 245)), "clothing_contrast", set()),
    "tilt": (dict(roll=8), "roll", set()),
    "off_centre": (dict(centre_x=400), "centring", set()),
    "too_small": (dict(face_width=150), "resolution", set()),
    "too_large": (dict(face_width=800), "face_width", GEOMETRY),
    "blur": (dict(blur=8), "sharpness", set()),
    # exposure changes the whole frame, so the backdrop's colour goes with it
    "dark": (dict(exposure=0.45), "exposure", {"backdrop_colour"}),
    "over_exposed": (dict(exposure=1.5), "exposure", {"backdrop_colour"}),
    "two_faces": (dict(face_width=300, second_face=True), "face_count", set()),
    "no_face": (dict(face=False), "face_count", set()),
    "shadowed_backdrop": (dict(shadow=0.5), "backdrop_shadow", {"backdrop_uniformity"}),
    "uneven_light": (dict(side_light=0.5), "lighting", set()),
    "glasses_glare": (dict(glare=True), "glasses_glare", set()),
}


def test_good_capture_passes_everything(profile, good_capture):
    report = analyse(good_capture[0], profile).report
    assert report.passed and not report.failed(), report.failed()
    names = {c.name for c in report.checks}
    assert {"face_count", "head_top", "eye_line", "face_width", "centring", "roll", "backdrop_colour",
            "backdrop_uniformity", "backdrop_shadow", "clothing_contrast", "sharpness", "exposure",
            "lighting", "eyes_open", "glasses_glare", "resolution"} <= names


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_fails_the_right_check_only(profile, name):
    params, expected, allowed = DEFECTS[name]
    img, _ = render(1200, 1600, **params)
    report = analyse(img, profile).report
    failed = set(report.failed())
    assert expected in failed, (name, failed)
    assert failed <= {expected} | allowed, (name, failed)
    check = next(c for c in report.checks if c.name == expected)
    assert check.message_zh and check.message_en and check.message_en != check.message_zh
    assert report.top_instruction is not None


def test_small_tilt_is_levelled_by_the_crop(profile):
    report = analyse(render(1200, 1600, roll=3)[0], profile).report
    assert report.passed, report.failed()
    assert abs(report.geometry["roll_deg"]) < 1.0
