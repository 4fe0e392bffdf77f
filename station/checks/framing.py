"""The backdrop: its colour, the mask of backdrop pixels, and the head top found on that mask.

Hair counts for the head top (CHSI measures from the top of the hair), so the head top is where
the backdrop ends above the face. Face width and centring come from the face's own landmarks
(``station.checks.landmarks``), never from this mask: hair beside the cheeks is subject here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from station.checks.placement import Placement
    from station.checks.profile import Profile


def to_lab(bgr: np.ndarray) -> np.ndarray:
    """CIE Lab with L in 0..100 and a, b signed (float32), so distances are ΔE76."""
    import cv2
    import numpy as np

    # one pass to float32 (numpy's astype then multiply makes and walks two arrays): same values
    unit = np.multiply(bgr, np.float32(1.0 / 255.0), dtype=np.float32)
    return cv2.cvtColor(unit, cv2.COLOR_BGR2Lab)


def rgb_to_lab(rgb) -> np.ndarray:
    import numpy as np

    px = np.array([[list(rgb)[::-1]]], dtype=np.uint8)
    return to_lab(px)[0, 0]


def backdrop_sample(lab: np.ndarray) -> np.ndarray:
    """Lab pixels where the export frame always shows backdrop: the top band and upper side strips."""
    import numpy as np

    h, w = lab.shape[:2]
    band = lab[3:max(4, int(h * 0.05)), 3:w - 3].reshape(-1, 3)
    sx = max(4, int(w * 0.08))
    left = lab[3:int(h * 0.4), 3:sx].reshape(-1, 3)
    right = lab[3:int(h * 0.4), w - sx:w - 3].reshape(-1, 3)
    return np.concatenate([band, left, right])


def median_colour(px: np.ndarray) -> np.ndarray:
    """``np.median(px, axis=0)`` of (N, 3) pixels, the same values and dtype, in half the time
    (one partition per channel over contiguous memory)."""
    import numpy as np

    channels = np.ascontiguousarray(px.T)
    n = channels.shape[1]
    if n == 0 or n % 2:
        return np.median(channels, axis=1)
    part = np.partition(channels, (n // 2 - 1, n // 2), axis=1)
    out: np.ndarray = (part[:, n // 2 - 1] + part[:, n // 2]) / 2
    return out


def backdrop_colour(lab: np.ndarray) -> np.ndarray:
    return median_colour(backdrop_sample(lab))


def backdrop_mask(lab: np.ndarray, colour: np.ndarray, profile: Profile) -> np.ndarray:
    """True where a pixel is backdrop: Lab distance with lightness weighed less (shadows stay blue).

    a and b are scaled by (L0 + 16) / (L + 16), which undoes a change of exposure (Lab components
    all follow the cube root of the light), so a darker or lighter patch of the same blue still
    counts as backdrop, and a dark shirt in a dark frame does not.
    """
    import numpy as np

    dist2 = shade_distance2(lab, colour, float(profile.backdrop.mask_l_weight))
    # a greyer (darker, paler) backdrop leaves less room between it and neutral clothes
    chroma = float(np.hypot(colour[1], colour[2]))
    limit = float(profile.backdrop.mask_distance) * min(1.0, max(0.4, chroma / 40.0))
    return dist2 <= limit * limit


def shade_distance2(lab: np.ndarray, colour: np.ndarray, l_weight: float) -> np.ndarray:
    """Squared distance of Lab pixels (any shape ending in 3) to ``colour`` forgiving a change of
    light: (wl·ΔL)² + Δa² + Δb² with a, b rescaled by (L0 + 16) / (L + 16) (Lab's components
    all follow the cube root of the light) and L weighed by ``l_weight``."""
    import numpy as np

    colour = colour.astype(np.float32)
    # in place: the same float32 operations in the same order as the plain expression, three
    # arrays instead of ten
    gain = lab[..., 0] + 16.0
    np.divide(colour[0] + 16.0, gain, out=gain)
    da = lab[..., 1] * gain
    da -= colour[1]
    da *= da
    db = np.multiply(lab[..., 2], gain, out=gain)
    db -= colour[2]
    db *= db
    dist2: np.ndarray = lab[..., 0] - colour[0]
    dist2 *= l_weight
    dist2 *= dist2
    dist2 += da
    dist2 += db
    return dist2


def head_top_mask(lab: np.ndarray, colour: np.ndarray, profile: Profile) -> np.ndarray:
    """The backdrop mask above the head: a pixel far darker than the backdrop is hair, not shadow.

    The backdrop mask forgives lightness so that a shadowed backdrop stays backdrop; above the
    head that lets dark hair with a blue cast (backdrop spill, a bluish room light) pass for a
    shadow, and the head top was read up to 10 px low on real hair. Half the light on the backdrop
    lowers its L by about 20; dark hair sits 35 or more below it.
    """
    limit = float(profile.backdrop.head_top_dark_l)
    return backdrop_mask(lab, colour, profile) & (lab[:, :, 0] >= float(colour[0]) - limit)


HEAD_TOP_HALF_IOD = 0.3   # the head top is judged on the columns within this of the face's centre
HEAD_TOP_SHARE = 0.5      # … as the first row where at least this share of them is subject


def _head_top_band(shape: tuple[int, ...], centre: tuple[float, float], iod: float
                   ) -> tuple[int, int, int] | None:
    """The columns (x0, x1) and the rows above the eyes where the head top is looked for: one
    band for ``head_top`` and ``head_top_of``, so both read the same pixels. None when too small."""
    cx, ey = centre
    half = max(2, int(round(iod * HEAD_TOP_HALF_IOD)))
    x0, x1 = max(0, int(cx) - half), min(shape[1], int(cx) + half + 1)
    rows = int(min(ey, shape[0]))
    if x1 - x0 < 3 or rows < 3:
        return None
    return x0, x1, rows


def head_top(mask: np.ndarray, centre: tuple[float, float], iod: float) -> float | None:
    """First row from the top where the central columns above the face stop being backdrop.

    ``centre`` is the face's centre line (x) at eye height (y). 0.0 when the subject already
    fills the top row (the head is cut by the frame edge: no room above it); None when no
    subject is found above the eyes at all.
    """
    import numpy as np

    band = _head_top_band(mask.shape, centre, iod)
    if band is None:
        return None
    x0, x1, rows = band
    subject = (~mask[:rows, x0:x1]).mean(axis=1) >= HEAD_TOP_SHARE
    hit = np.flatnonzero(subject[:-1] & subject[1:])
    if hit.size == 0:
        return None
    return float(hit[0])


HEAD_TOP_BLOCKS = 4  # ``head_top_of`` converts the rows in this many blocks at most


def head_top_of(bgr: np.ndarray, colour: np.ndarray, centre: tuple[float, float], iod: float,
                profile: Profile) -> float | None:
    """``head_top(head_top_mask(to_lab(bgr), colour, profile), centre, iod)``, the same value,
    with the pixels converted and masked only down to the row that decides it: a few rows at a
    time from the top (every figure is per pixel, the subject share per row over the same
    columns), stopping at the first pair of subject rows (the head top sits well above the eyes,
    where the rows end)."""
    import numpy as np

    band = _head_top_band(bgr.shape, centre, iod)
    if band is None:
        return None
    x0, x1, rows = band
    last = False  # the previous block's last row is subject
    block = max(16, -(-rows // HEAD_TOP_BLOCKS))
    for r0 in range(0, rows, block):
        r1 = min(rows, r0 + block)
        mask = head_top_mask(to_lab(bgr[r0:r1]), colour, profile)
        subject = (~mask[:, x0:x1]).mean(axis=1) >= HEAD_TOP_SHARE
        if last and subject[0]:
            return float(r0 - 1)
        hit = np.flatnonzero(subject[:-1] & subject[1:])
        if hit.size:
            return float(r0 + hit[0])
        last = bool(subject[-1])
    return None


def backdrop_colour_near(lab: np.ndarray, expected: np.ndarray, rows: int) -> np.ndarray:
    """The backdrop colour in a capture's upper part: pixels near the expected blue, else the top band.

    A wide capture can show the room beyond the backdrop at its sides, so only pixels within a
    broad distance of the expected (profile or calibrated) colour are taken.
    """
    import numpy as np

    region = lab[: max(4, rows)].reshape(-1, 3)
    step = max(1, region.shape[0] // 20000)
    px = region[::step]
    near = px[np.linalg.norm(px - expected, axis=1) < 30.0]
    if near.shape[0] >= 200:
        return median_colour(near)
    return backdrop_colour(lab)


@dataclass
class Framing:
    """The export window in a capture: capture pixels (x0, y0) and the scale (capture px per
    export px). A scale and a shift only; ``placement`` keeps why the window is where it is."""

    x0: float
    y0: float
    scale: float
    placement: Placement | None = None

    @property
    def matrix(self) -> list[list[float]]:
        """2×3 affine full-resolution capture → export pixels (no rotation term, ever)."""
        k = 1.0 / self.scale
        return [[k, 0.0, -self.x0 * k], [0.0, k, -self.y0 * k]]

    @property
    def feasible(self) -> bool:
        return self.placement is None or self.placement.feasible

    @property
    def clamped(self) -> bool:
        """The ideal window did not fit (kept for reports written before placements had reasons)."""
        return not self.feasible

    def point(self, p) -> tuple[float, float]:
        """A capture point in export pixels."""
        return ((p[0] - self.x0) / self.scale, (p[1] - self.y0) / self.scale)

    def back(self, p) -> tuple[float, float]:
        """An export point in capture pixels."""
        return (p[0] * self.scale + self.x0, p[1] * self.scale + self.y0)

    def for_reduction(self, reduction: float) -> np.ndarray:
        """The matrix for a capture decoded at 1/``reduction`` of full size."""
        import numpy as np

        m = np.array(self.matrix, dtype=np.float64)
        m[:, :2] *= reduction
        return m


def identity_framing() -> Framing:
    return Framing(0.0, 0.0, 1.0)


def cut_window(shape: tuple[int, ...], framing: Framing, full_size: tuple[int, int],
               out: tuple[int, int]) -> tuple[int, int, int, int]:
    """The pixels ``cut`` reads of an image of ``shape`` (a decode of a ``full_size`` capture):
    x, y, width, height."""
    kx, ky = shape[1] / full_size[0], shape[0] / full_size[1]
    h = max(8, int(round(out[1] * framing.scale * ky / 4.0)) * 4)
    w = h * out[0] // out[1]
    h, w = min(h, shape[0] - shape[0] % 4), min(w, shape[1])
    if w * out[1] != h * out[0]:  # the capture is narrower than the window's aspect
        h = w * out[1] // out[0]
        w = h * out[0] // out[1]
    x = int(round(framing.x0 * kx))
    y = int(round(framing.y0 * ky))
    x, y = min(max(0, x), shape[1] - w), min(max(0, y), shape[0] - h)
    return x, y, w, h


def cut(img: np.ndarray, framing: Framing, full_size: tuple[int, int],
        out: tuple[int, int]) -> tuple[np.ndarray, Framing]:
    """The export frame cut from ``img`` (a decode of a ``full_size`` capture) and resized.

    The window is snapped to whole pixels of ``img`` (the resize then averages whole pixels) and
    kept inside it; the returned framing is the exact window used, so points map exactly.
    """
    window = cut_window(img.shape, framing, full_size, out)
    x, y, w, h = window
    return cut_region(img[y:y + h, x:x + w], window, img.shape, framing, full_size, out)


def cut_region(region: np.ndarray, window: tuple[int, int, int, int], shape: tuple[int, ...],
               framing: Framing, full_size: tuple[int, int],
               out: tuple[int, int]) -> tuple[np.ndarray, Framing]:
    """``cut`` given the pixels of its window (``cut_window``) of an image of ``shape``: all it
    reads, so a decode whose lower rows are not made yet gives the same frame."""
    import cv2

    x, y, w, h = window
    kx, ky = shape[1] / full_size[0], shape[0] / full_size[1]
    interp = cv2.INTER_AREA if w >= out[0] else cv2.INTER_CUBIC
    frame = region if (w, h) == out else cv2.resize(region, out, interpolation=interp)
    exact = Framing(x / kx, y / ky, h / (out[1] * ky), framing.placement)
    return frame, exact
