"""The smallest face looked for: a share of the frame's long side, whichever way the camera is turned."""

from __future__ import annotations

import numpy as np
import pytest

from station.checks.detect import FirstStage, detect_faces, min_face_px
from station.sim.portrait import render


def test_the_smallest_face_is_the_same_share_of_a_portrait_and_a_landscape_frame():
    assert min_face_px((333, 500, 3), 0.06) == pytest.approx(30.0)
    assert min_face_px((500, 333, 3), 0.06) == pytest.approx(30.0)


def _pyramid_pixels(shape: tuple[int, int, int]) -> tuple[int, list[tuple[int, int]]]:
    first = FirstStage(0.06)
    first.feed(np.zeros(shape, np.uint8), 0)  # the pyramid is laid out on the first rows fed
    levels = [(level.sw, level.sh) for level in first._levels]
    return sum(w * h for w, h in levels), levels


def test_a_portrait_frame_is_searched_on_the_pyramid_of_its_landscape_twin():
    """MTCNN's first stage costs as its levels' pixels: a portrait capture's must not be 2.25
    times a landscape one's (as it was with the smallest face a share of the width)."""
    portrait, p_levels = _pyramid_pixels((750, 500, 3))
    landscape, l_levels = _pyramid_pixels((500, 750, 3))
    assert [(h, w) for w, h in p_levels] == l_levels
    assert portrait == landscape


@pytest.mark.parametrize("share", [0.09, 0.12])
def test_a_face_a_little_above_the_smallest_is_found_in_a_portrait_frame(share):
    img, truth = render(500, 750, face_width=share * 750, seed=1)
    faces = detect_faces(img, min_face_px(img.shape, 0.06), 0.9, fallback=False)
    assert len(faces) == 1
    assert np.hypot(*np.subtract(faces[0].eye_mid, truth["eye_mid"])) < 0.1 * share * 750
