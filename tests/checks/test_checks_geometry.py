"""Measured geometry against the renderer's truth, on export-size frames and on larger captures.

Face width is cheek to cheek on the face itself (the astronaut's cheek edges located by hand, see
``drawing.py``); the renderer's own ``face_width`` is its silhouette, hair and ears included.
"""

import math

import pytest

from station.checks.pipeline import analyse
from station.sim.portrait import render
from tests.checks.drawing import true_cheek_width


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
    assert g["scale"] == 1.0 and g["window"] == [0.0, 0.0, 1.0], "an export-size image is not re-framed"
    assert g["head_top_y"] == pytest.approx(truth["head_top_y"], abs=4)
    # iris centres; the renderer's eye truth was placed by hand on an 8 px iris, to about one
    # astronaut pixel (2 px here), so this bounds the label as much as the measurement
    for side in ("eye_left", "eye_right"):
        assert math.dist(g[side], truth[side]) < 2.5, (side, g[side], truth[side])
    assert g["face_width"] == pytest.approx(true_cheek_width(truth), rel=0.08)
    assert g["roll_deg"] == pytest.approx(truth["roll_deg"], abs=0.4)


@pytest.mark.parametrize("params", [dict(), dict(roll=1.5), dict(centre_x=560, face_width=400)])
def test_capture_geometry_maps_truth_into_the_export_frame(profile, params):
    img, truth = render(1200, 1600, **params)
    result = analyse(img, profile)
    fr, g = result.framing, result.report.geometry
    assert result.report.passed, result.report.failed()
    left, right = fr.point(truth["eye_left"]), fr.point(truth["eye_right"])
    assert math.dist(g["eye_left"], left) < 2.5 and math.dist(g["eye_right"], right) < 2.5
    top = fr.point((truth["eye_mid"][0], truth["head_top_y"]))
    assert g["head_top_y"] == pytest.approx(top[1], abs=4)
    assert g["face_width"] == pytest.approx(true_cheek_width(truth) / fr.scale, rel=0.08)
    # no rotation: the eyes keep the capture's angle in the export frame
    true_roll = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
    assert true_roll == pytest.approx(truth["roll_deg"], abs=1e-6)
    assert g["roll_deg"] == pytest.approx(truth["roll_deg"], abs=0.4)


def test_level_eyes_read_level(profile):
    """MTCNN's five points read 2° on level eyes; the iris model reads them level."""
    for seed in range(3):
        img, _ = render(1200, 1600, seed=seed, centre_x=590 + 10 * seed)
        roll = analyse(img, profile).report.geometry["roll_deg"]
        assert abs(roll) < 0.5, (seed, roll)


def test_colours_are_measured(profile):
    img, truth = render(1200, 1600, backdrop=(90, 180, 240), shirt=(200, 40, 40))
    m = analyse(img, profile).measurements
    from station.checks.framing import rgb_to_lab
    from station.checks.measure import light_scale

    lab = rgb_to_lab((90, 180, 240))
    assert math.dist(m.values["backdrop_lab"], lab) < 3
    shirt = rgb_to_lab((200, 40, 40))
    # on the scale of the expected exposure: this blue is darker than the profile's (light_scale)
    light = light_scale(m.values["backdrop_lab"], rgb_to_lab(profile.backdrop.reference_rgb))
    assert 1.0 < light < 1.1
    assert m.values["clothing_delta_e"] == pytest.approx(light * math.dist(shirt, lab), abs=4)


def _backdrop_and_hair(shadow_gain: float | None):
    """A 60×200 strip above a head: backdrop blue, dark hair with a blue cast from row 120, and
    optionally the backdrop just above the hair at ``shadow_gain`` of its light (linear)."""
    import numpy as np

    backdrop = np.array([255, 197, 100], np.float64)         # BGR of the reference blue
    img = np.tile(backdrop, (200, 60, 1))
    if shadow_gain is not None:
        lin = (backdrop / 255.0) ** 2.2 * shadow_gain
        img[70:120] = 255.0 * lin ** (1 / 2.2)
    img[120:] = (100, 71, 30)                                 # dark hair, blue-tinted by the backdrop
    return img.astype(np.uint8)


@pytest.mark.parametrize("shadow_gain", [None, 0.5])
def test_dark_blue_cast_hair_is_the_head_top_and_a_shadow_above_it_is_not(profile, shadow_gain):
    """Real dark hair with a blue cast passed for a shadowed backdrop (head top read up to 10 px
    low); a backdrop at half its light above the head must still read as backdrop."""
    import numpy as np

    from station.checks.framing import backdrop_mask, head_top, head_top_mask, rgb_to_lab, to_lab

    lab = to_lab(_backdrop_and_hair(shadow_gain))
    colour = rgb_to_lab((100, 197, 255)).astype(np.float32)
    assert backdrop_mask(lab, colour, profile)[150].all(), "the case: the lenient mask takes the hair for backdrop"
    assert head_top(head_top_mask(lab, colour, profile), (30, 199), 80) == 120
