"""Tinted glasses: the skin under the eyes turns darker than the cheeks behind a lens."""

import numpy as np
import pytest

from station.checks.eyearea import under_eye_ratio
from station.checks.pipeline import analyse
from station.sim.portrait import render

EXPORT = dict(face_width=221, eye_y=250)


@pytest.fixture(scope="module")
def export_photo():
    return render(480, 640, **EXPORT)


def test_bare_eyes_pass_and_sunglasses_are_a_retake(profile, export_photo):
    img, _ = export_photo
    bare = analyse(img, profile)
    assert bare.report.status("glasses_tint") == "pass"
    assert 0.8 < bare.measurements.values["under_eye"] < 1.3
    dark = analyse(render(480, 640, sunglasses=0.12, **EXPORT)[0], profile).report
    tint = next(c for c in dark.checks if c.name == "glasses_tint")
    assert tint.status == "fail", tint.value
    assert "tinted glasses" in tint.message_en and "有色眼镜" in tint.message_zh
    assert dark.status("facing") == "pass"


def test_a_darker_lens_reads_a_darker_band(profile):
    values = [analyse(render(480, 640, sunglasses=passes, **EXPORT)[0],
                      profile).measurements.values["under_eye"] for passes in (0.8, 0.4, 0.12)]
    assert values == sorted(values, reverse=True), values   # darker lens, darker band


def test_a_face_cut_by_the_frame_edge_is_not_judged(profile, export_photo):
    img, _ = export_photo
    lm = analyse(img, profile).measurements.landmarks
    assert lm is not None and under_eye_ratio(img[:, :, 1], lm) is not None
    shifted = lm.mapped(lambda p: p - np.array([lm.point(205)[0] + 2.0, 0.0]))  # cheek off the left
    assert under_eye_ratio(img[:, :, 1], shifted) is None
