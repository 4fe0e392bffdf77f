"""Measured geometry against the renderer's truth, on export-size frames and on larger captures."""

import math

import pytest

from station.checks.pipeline import analyse
from station.sim.portrait import render


@pytest.mark.parametrize("params", [
    dict(face_width=221, eye_y=250),
    dict(face_width=200, eye_y=235, centre_x=232),
    dict(face_width=250, eye_y=270, centre_x=246),
    dict(face_width=225, eye_y=255, roll=1.5),
])
def test_export_frame_geometry_is_measured_as_is(profile, params):
    img, truth = render(480, 640, **params)
    result = analyse(img, profile)
    g = result.report.geometry
    assert g["scale"] == 1.0 and result.framing.level_deg == 0.0, "an export-size image is not re-framed"
    assert g["head_top_y"] == pytest.approx(truth["head_top_y"], abs=4)
    eye_y = (g["eye_left"][1] + g["eye_right"][1]) / 2
    assert eye_y == pytest.approx(truth["eye_mid"][1], abs=4)
    assert g["eye_left"][0] == pytest.approx(truth["eye_left"][0], abs=4)
    assert g["eye_right"][0] == pytest.approx(truth["eye_right"][0], abs=4)
    assert g["face_width"] == pytest.approx(truth["face_width"], abs=8)
    assert g["roll_deg"] == pytest.approx(truth["roll_deg"], abs=1.0)


@pytest.mark.parametrize("params", [dict(), dict(roll=2.5), dict(centre_x=560, face_width=400)])
def test_capture_geometry_maps_truth_into_the_export_frame(profile, params):
    img, truth = render(1200, 1600, **params)
    result = analyse(img, profile)
    fr, g = result.framing, result.report.geometry
    assert result.report.passed, result.report.failed()
    left, right = fr.point(truth["eye_left"]), fr.point(truth["eye_right"])
    assert g["eye_left"][0] == pytest.approx(left[0], abs=4)
    assert g["eye_left"][1] == pytest.approx(left[1], abs=4)
    assert g["eye_right"][1] == pytest.approx(right[1], abs=4)
    top = fr.point((truth["eye_mid"][0], truth["head_top_y"]))
    assert g["head_top_y"] == pytest.approx(top[1], abs=5)
    assert g["face_width"] == pytest.approx(truth["face_width"] / fr.scale, abs=10)
    # the crop levels the eyes: true roll minus the applied rotation is what remains
    residual = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
    assert abs(residual) < 1.5 and g["roll_deg"] == pytest.approx(residual, abs=1.5)  # MTCNN eyes ≈ ±1°
    assert fr.level_deg == pytest.approx(truth["roll_deg"], abs=1.5)


def test_colours_are_measured(profile):
    img, truth = render(1200, 1600, backdrop=(90, 180, 240), shirt=(200, 40, 40))
    m = analyse(img, profile).measurements
    from station.checks.framing import rgb_to_lab

    lab = rgb_to_lab((90, 180, 240))
    assert math.dist(m.values["backdrop_lab"], lab) < 3
    shirt = rgb_to_lab((200, 40, 40))
    assert m.values["clothing_delta_e"] == pytest.approx(math.dist(shirt, lab), abs=4)
