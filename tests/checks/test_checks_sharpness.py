"""Sharpness reads the least sharp direction: motion blur fails like defocus, a smooth face in focus passes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from station.checks.detect import Face
from station.checks.measure import sharpness

# an export-frame face: eyes 100 px apart at y 250
FACE = Face((140, 150, 200, 300), 0.99, (190.0, 250.0), (290.0, 250.0), (240.0, 300.0),
            (205.0, 350.0), (275.0, 350.0))


def _smooth_face_with_crisp_features(seed: int = 3):
    """A 480×640 frame: flat backdrop, a skin oval without texture (as a beauty filter leaves it)
    and crisp-edged features on it (brows, eyes, nostrils, lips: small dark and light blobs)."""
    rng = np.random.default_rng(seed)
    img = np.full((640, 480), 200.0, np.float32)
    cv2.ellipse(img, (240, 300), (115, 150), 0, 0, 360, 150, -1)
    img = cv2.GaussianBlur(img, (0, 0), 3)
    features = np.zeros_like(img)
    for _ in range(90):
        x, y = rng.uniform(160, 320), rng.uniform(200, 400)
        ax, ay = rng.uniform(2, 12), rng.uniform(1.5, 5)
        cv2.ellipse(features, (int(x * 16), int(y * 16)), (int(ax * 16), int(ay * 16)),
                    float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(-50, 30)), -1, cv2.LINE_AA, shift=4)
    img = img + features + rng.normal(0, 1.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _motion(img, length: int, degrees: float):
    """A straight motion blur of ``length`` px along ``degrees``."""
    k = np.zeros((2 * length + 1, 2 * length + 1), np.float32)
    dx, dy = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    for t in np.linspace(-length / 2, length / 2, 4 * length + 1):
        k[round(length + t * dy), round(length + t * dx)] += 1
    return cv2.filter2D(img, -1, k / k.sum())


def test_a_smooth_face_with_crisp_features_passes(profile):
    focus, structure = sharpness(_smooth_face_with_crisp_features(), FACE, profile.sharpness.iod_px)
    assert focus >= profile.sharpness.min_focus * profile.sharpness.warn_ratio, focus
    assert structure >= profile.sharpness.min_structure


@pytest.mark.parametrize("sigma", [1.6, 2.0])
def test_the_same_face_out_of_focus_fails(profile, sigma):
    img = cv2.GaussianBlur(_smooth_face_with_crisp_features(), (0, 0), sigma)
    focus, _ = sharpness(img, FACE, profile.sharpness.iod_px)
    assert focus < profile.sharpness.min_focus, focus


@pytest.mark.parametrize("degrees", [0.0, 90.0])
def test_the_same_face_with_motion_blur_fails(profile, degrees):
    """8 px of motion: the detail across the motion is intact, along it gone. A ratio of whole-band
    energies read 0.58–0.61 here (a pass); the least sharp direction reads under the limit."""
    img = _motion(_smooth_face_with_crisp_features(), 8, degrees)
    focus, _ = sharpness(img, FACE, profile.sharpness.iod_px)
    assert focus < profile.sharpness.min_focus, focus


@pytest.mark.parametrize("blur", [9.0, 14.0])
def test_a_photo_blurred_past_any_detail_reports_the_figure_that_failed_it(profile, blur):
    """Blurred this far the focus figure measures noise and can read above its limit (0.57 at
    σ 14); the verdict then names the detail figure that decided it, below its own limit."""
    from station.checks.pipeline import analyse
    from station.sim.portrait import render

    report = analyse(render(1200, 1600, blur=blur)[0], profile).report
    check = next(c for c in report.checks if c.name == "sharpness")
    assert check.status == "fail"
    assert check.limit == profile.sharpness.min_structure
    assert check.value < check.limit, (check.value, check.limit)
    assert "no facial detail" in check.message_en and "细节" in check.message_zh


def test_a_photo_a_little_out_of_focus_reports_its_focus_figure(profile):
    from station.checks.pipeline import analyse
    from station.sim.portrait import render

    report = analyse(render(1200, 1600, blur=3.0)[0], profile).report
    check = next(c for c in report.checks if c.name == "sharpness")
    assert check.status == "fail" and check.limit == profile.sharpness.min_focus
    assert check.value < check.limit
    assert "Photo blurred (sharpness" in check.message_en
