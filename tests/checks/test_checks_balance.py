"""The camera's white balance read off the backdrop, and the cheeks' skin test that undoes it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from station.checks.balance import backdrop_gains, rebalanced
from station.checks.framing import backdrop_colour, rgb_to_lab, to_lab
from station.checks.measure import _cheek_zones_mesh
from station.checks.pipeline import analyse

REFERENCE = (100, 197, 255)  # RGB: the CHSI blue
DIMMER = (92, 181, 235)      # the same blue a little darker: no channel clipped


def _seen(rgb, cast) -> np.ndarray:
    """The Lab a camera whose white balance multiplies B, G, R by ``cast`` gives for ``rgb``."""
    bgr = np.array([[rgb[::-1]]], np.float32) * np.array(cast, np.float32)
    return to_lab(np.clip(np.rint(bgr), 0, 255).astype(np.uint8))[0, 0]


def test_a_warm_balance_is_read_off_the_backdrop_as_its_inverse():
    gains = backdrop_gains(_seen(DIMMER, (0.92, 1.0, 1.08)), rgb_to_lab(DIMMER))
    assert gains is not None
    assert gains == pytest.approx([1 / 0.92, 1.0, 1 / 1.08], abs=0.01)


def test_a_right_balance_and_a_change_of_exposure_are_left_alone():
    assert backdrop_gains(rgb_to_lab(REFERENCE), rgb_to_lab(REFERENCE)) is None
    assert backdrop_gains(_seen(DIMMER, (0.8, 0.8, 0.8)), rgb_to_lab(DIMMER)) is None


def test_a_clipped_channel_tells_no_gain():
    """A cool balance clips the reference blue's B (already 255): only red is read."""
    gains = backdrop_gains(_seen(REFERENCE, (1.08, 1.0, 0.92)), rgb_to_lab(REFERENCE))
    assert gains is not None
    assert gains[:2] == pytest.approx([1.0, 1.0], abs=1e-3)
    assert gains[2] == pytest.approx(1 / 0.92, abs=0.01)


def test_another_backdrop_is_not_taken_for_a_white_balance():
    assert backdrop_gains(_seen((60, 170, 230), (1.0, 1.0, 1.0)), rgb_to_lab(REFERENCE)) is None
    assert backdrop_gains(rgb_to_lab((128, 128, 128)), rgb_to_lab(REFERENCE)) is None


def test_the_skin_test_under_a_cast_keeps_the_pixels_of_a_neutral_balance(profile):
    """A cast moves the chroma of the bright nose bridge (the skin reference) more than that of a
    darker cheek; with the gains read off the backdrop undone, the cheeks' skin is the one a
    neutral balance gives (to the 8-bit rounding of the cast), and without them it is not."""
    from station.sim.portrait import render

    with_gains, without = [], []
    for side_light, seed in ((0.0, 1), (0.0, 3), (0.35, 1), (0.35, 3)):
        img, _ = render(900, 1200, side_light=side_light, seed=seed, backdrop=DIMMER)
        img = np.clip(img * np.float32(0.85), 0, 255).astype(np.uint8)  # no skin channel clipped
        result = analyse(img, profile)
        frame, lm = result.frame, result.measurements.landmarks
        assert lm is not None
        neutral = _cheek_zones_mesh(frame, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), lm)
        half = cv2.resize(frame, (240, 320), interpolation=cv2.INTER_AREA)
        expected = backdrop_colour(to_lab(half))
        for cast in ((0.92, 1.0, 1.08), (0.9, 1.0, 1.1), (1.1, 1.0, 0.9)):
            seen = rebalanced(frame, np.array(cast))
            gray = cv2.cvtColor(seen, cv2.COLOR_BGR2GRAY)
            gains = backdrop_gains(backdrop_colour(to_lab(cv2.resize(
                seen, (240, 320), interpolation=cv2.INTER_AREA))), expected)
            assert gains is not None
            for out, g in ((with_gains, gains), (without, None)):
                zones = _cheek_zones_mesh(seen, gray, lm, None, g)
                out.extend(abs(z.size - n.size) / n.size for z, n in zip(zones, neutral, strict=True))
    assert max(with_gains) < 0.03
    assert np.mean(with_gains) < np.mean(without) / 2


def test_a_brighter_frame_that_clips_the_blue_is_not_a_cast():
    """0.5 EV over the reference blue's B stays 255 while G and R grow alike: no cast (a gain
    of 1 before taking green's out read it as B × 1.15)."""
    brighter = _seen(REFERENCE, (1.15, 1.15, 1.15))
    assert backdrop_gains(brighter, rgb_to_lab(REFERENCE)) is None
    warm_and_brighter = backdrop_gains(_seen(REFERENCE, (1.15, 1.15, 1.15 * 1.08)), rgb_to_lab(REFERENCE))
    assert warm_and_brighter is not None
    assert warm_and_brighter == pytest.approx([1.0, 1.0, 1 / 1.08], abs=0.01)
