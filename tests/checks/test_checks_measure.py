"""The head top found a block of rows at a time, the cheeks' percentile and the placement's
violations give exactly the values of the plain computations."""

from __future__ import annotations

import numpy as np
import pytest

from station.checks.framing import (
    HEAD_TOP_BLOCKS,
    head_top,
    head_top_mask,
    head_top_of,
    rgb_to_lab,
    to_lab,
)
from station.sim.portrait import render
from tests.checks.drawing import add_hair
from tests.checks.test_checks_bystander import behind

BACKDROP_BGR = (255, 197, 100)


@pytest.fixture(scope="module")
def portrait():
    return render(480, 640, face_width=250, eye_y=265)


def _scenes(portrait):
    img, truth = portrait
    return {"plain": img, "long hair": add_hair(img, truth, reach=1.6),
            "a face behind": behind(img, truth, 1, down=0.45, out=1.0),
            "blue shirt": render(480, 640, face_width=250, eye_y=265, shirt=(60, 150, 230))[0]}


def _rows_image(subject_rows: np.ndarray, width: int = 40) -> np.ndarray:
    """Backdrop blue, with dark hair across the rows flagged in ``subject_rows``."""
    img = np.empty((subject_rows.size, width, 3), np.uint8)
    img[:] = BACKDROP_BGR
    img[subject_rows] = (30, 30, 35)
    return img


def test_head_top_block_by_block_is_the_whole_bands_head_top(profile):
    """Every way rows can fall: a head top at every row (across block boundaries), random
    isolated subject rows (a single one never counts), the head cut by the top edge, none."""
    colour = rgb_to_lab(BACKDROP_BGR[::-1])

    def both(img: np.ndarray, centre: tuple[float, float], iod: float):
        whole = head_top(head_top_mask(to_lab(img), colour, profile), centre, iod)
        return whole, head_top_of(img, colour, centre, iod, profile)

    rows = 100
    block = -(-rows // HEAD_TOP_BLOCKS)
    seen = set()
    for top in range(rows):
        flags = np.zeros(rows, bool)
        flags[top:] = True
        whole, blocks = both(_rows_image(flags), (20.0, float(rows)), 40.0)
        assert blocks == whole
        seen.add(whole)
    assert {0.0, float(block - 1), float(block), float(rows - 2), None} <= seen
    rng = np.random.default_rng(7)
    for _ in range(200):
        flags = rng.random(rows) < rng.uniform(0.05, 0.6)
        img = _rows_image(flags)
        centre = (float(rng.uniform(0, 40)), float(rng.uniform(0, rows * 1.2)))
        whole, blocks = both(img, centre, float(rng.uniform(5, 80)))
        assert repr(blocks) == repr(whole)


def test_head_top_block_by_block_on_rendered_portraits(profile, portrait):
    img, truth = portrait
    colour = to_lab(img[5:25, 5:25]).reshape(-1, 3).mean(axis=0)
    ex, ey = truth["eye_mid"]
    for frame in _scenes(portrait).values():
        for dx in (-30, 0, 30):
            for bottom in (ey, ey - 150, 40):
                x0 = int(ex + dx) - 40
                band = frame[:int(bottom), x0:x0 + 81]
                whole = head_top(head_top_mask(to_lab(band), colour, profile), (40.0, bottom), 100.0)
                assert repr(head_top_of(band, colour, (40.0, bottom), 100.0, profile)) == repr(whole)


def test_the_percentile_of_a_uint8_zone_from_its_counts_is_numpys():
    """``percentile_u8`` (the cheeks' 80th percentile from their 256-level counts) gives exactly
    ``np.percentile``'s value: every size up to 600 and larger ones, flat, narrow and two-level
    zones, the percentiles at and near both ends."""
    from station.checks.measure import percentile_u8

    rng = np.random.default_rng(3)
    sizes = list(range(1, 600)) + [int(n) for n in rng.integers(600, 40000, 60)]
    for n in sizes:
        zones = [rng.integers(0, 256, n).astype(np.uint8),
                 np.clip(rng.normal(rng.uniform(0, 255), rng.uniform(0.5, 30), n), 0, 255).astype(np.uint8),
                 (rng.integers(0, 2, n) * rng.integers(1, 255)).astype(np.uint8)]
        for zone in zones:
            counts = np.bincount(zone, minlength=256)
            for q in (0, 1, 50, 80, 99, 100):
                assert repr(percentile_u8(counts, q)) == repr(float(np.percentile(zone, q))), (n, q)


def test_the_placements_squared_violation_is_the_plain_expressions():
    """placement's in-place ``_viol_squared`` is ``_viol(...) ** 2`` (NaN where the window does
    not exist included), and its cached unit steps are ``np.linspace(0, 1, n)``."""
    from station.checks.placement import _unit_steps, _viol, _viol_squared

    rng = np.random.default_rng(11)
    for _ in range(50):
        v = rng.uniform(-500, 1500, (int(rng.integers(1, 300)), int(rng.integers(1, 42))))
        v[rng.random(v.shape) < 0.05] = np.nan
        lo, hi = sorted(rng.uniform(-100, 900, 2))
        assert np.array_equal(_viol_squared(v, lo, hi), _viol(v, lo, hi) ** 2, equal_nan=True)
    for n in (21, 41):
        assert np.array_equal(_unit_steps(n), np.linspace(0.0, 1.0, n))
