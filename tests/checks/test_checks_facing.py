"""A head turned away from the camera (yaw) is read from the face mesh, whatever its roll."""

import math

import numpy as np
import pytest

from station.checks.landmarks import EYE_CORNERS, FACE_SIDES, NOSE_TIP, Landmarks


def _face(nose_share: float, roll_deg: float = 0.0, width: float = 200.0) -> Landmarks:
    """Mesh points of a face ``width`` px wide at the eyes whose nose tip sits ``nose_share`` of
    that width right of the middle, rolled by ``roll_deg`` about the eye midpoint."""
    mesh = np.zeros((468, 2))
    points = {FACE_SIDES[0]: (-width / 2, 0.0), FACE_SIDES[1]: (width / 2, 0.0),
              NOSE_TIP: (nose_share * width, 0.45 * width)}
    for side, sign in (("left", -1), ("right", 1)):
        outer, inner = EYE_CORNERS[side]
        points[outer], points[inner] = (sign * 0.38 * width, 0.0), (sign * 0.12 * width, 0.0)
    a = math.radians(roll_deg)
    turn = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    for i, p in points.items():
        mesh[i] = turn @ np.array(p) + (300.0, 260.0)
    return Landmarks(mesh, 1.0, None, None)


@pytest.mark.parametrize("roll", [0.0, 8.0, -15.0])
@pytest.mark.parametrize(("share", "expected"), [
    (0.0, 0.0), (0.1, 11.54), (-0.25, -30.0), (1 / 3, 41.81), (0.6, 90.0)])
def test_the_turn_is_where_the_nose_lies_between_the_outline_sides(share, expected, roll):
    assert _face(share, roll).turn_deg == pytest.approx(expected, abs=0.02)


def test_a_face_with_no_width_reads_frontal_rather_than_failing():
    assert _face(0.2, width=0.0).turn_deg == 0.0


def test_a_frontal_face_passes_and_a_turn_says_which_way_and_how_far(profile, good_capture):
    from station.checks.pipeline import analyse
    from station.checks.verdict import evaluate

    result = analyse(good_capture[0], profile)
    assert result.report.status("facing") == "pass"
    m = result.measurements
    assert abs(m.values["head_turn"]) < 5, m.values["head_turn"]   # the rendered face is frontal
    pose = profile.pose
    for turn, status, side in ((-(pose.turn_fail + 5), "fail", "left"),
                               (pose.turn_warn + 5, "warn", "right"),
                               (pose.turn_warn - 5, "pass", None)):
        m.values["head_turn"] = turn
        facing = next(c for c in evaluate(m, profile, None, scale=None, window_share=None)
                      if c.name == "facing")
        assert facing.status == status and facing.value == pytest.approx(abs(turn))
        if side is not None:
            assert f"image's {side}" in facing.message_en and "正对相机" in facing.message_zh
