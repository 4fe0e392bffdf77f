"""Shadows cast on the backdrop: where it is darker than the backdrop's own smooth lighting.

The backdrop's lightness is modelled by a quadratic surface (a gentle falloff or gradient of the
backdrop lights is normal and is the uniformity check's business) fitted to the backdrop pixels
as an upper envelope: shadows only ever darken, so pixels well below the fit are left out and the
fit redone. What remains below the surface, averaged over a patch about an eighth of a face wide,
is a shadow: a soft one beside the head, a hard edge, or a halo behind the head alike.

Hair and shoulders are subject, not backdrop (the backdrop mask); a band along the subject's
outline is left out, so stray hairs blending into the blue do not read as shadow; a pixel counts
at most a cast shadow's depth (a detached dark strand is not a deep shadow), and the patch size
keeps small dark specks (a clip, a cut-out crumb) from counting. Only the backdrop above the
shoulders is judged: below them, clothes close to the backdrop's blue (a light blue shirt, a
denim jacket) would pass for shadowed backdrop, and shadows are cast beside the head anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

EDGE_BAND = 0.04       # × face width: left out along the subject's outline (hair strands)
HUE_TOLERANCE = 7.0    # ΔE of exposure-normalised a, b: a shadow keeps the backdrop's hue exactly
MAX_DROP = 20.0        # CIE L: deeper than a cast shadow (a 60 % darker backdrop) is not shadow
PATCH = 0.12           # × face width: side of the averaging patch
MIN_PATCH_SHARE = 0.6  # a patch counts when this share of it is usable backdrop
SAMPLES = 6000         # backdrop pixels used for the fit
CLIPPED = 250          # a backdrop channel this bright (8-bit) is clipped (the reference blue's B is 255)
CHANNEL_TOLERANCE = 8  # levels: a shadowed pixel's channels off the backdrop's scaled colour
MIN_FACTOR = 0.45      # sRGB factor (≈ 17 % of the light): darker is clothes, not a cast shadow
HIDDEN = 1.3           # a clipped channel's true value is at most this × 255 (more: not the backdrop)


def backdrop_shadow(lab: np.ndarray, mask: np.ndarray, face_width: float,
                    bottom: float | None = None, colour: np.ndarray | None = None,
                    bgr: np.ndarray | None = None) -> float | None:
    """Largest patch-average lightness drop (CIE L) of the backdrop below its lighting surface,
    looking only above row ``bottom`` (the shoulders). None when too little backdrop is visible.

    With the backdrop's ``colour``, only pixels with its hue count: dimming light scales L + 16,
    a and b by the same factor, so a shadowed backdrop pixel, rescaled, has the backdrop's a, b
    exactly, while dark hair showing through blue (a stray strand, a translucent edge) does not.
    Where the backdrop's own colour is clipped in a channel (the CHSI blue's B is 255: a touch
    more exposure or a cooler white balance clips it), the lit backdrop no longer shows its true
    hue while its shadows do; then, given the frame's ``bgr`` (the pixels of ``lab``), a pixel
    counts as the backdrop under less light (``_scaled_clipped``).
    """
    import cv2
    import numpy as np

    h, w = mask.shape
    # only the rows above ``bottom`` can hold usable pixels, and a patch centred below them holds
    # less than half a patch of usable ones (never MIN_PATCH_SHARE): the rest of the frame is not
    # looked at. Per-pixel figures are made on the usable pixels only (the same values as over
    # the whole frame, a third of the work).
    rows = h if bottom is None else min(h, max(0, int(bottom)))
    backdrop = mask.astype(np.uint8)
    if colour is not None and bgr is not None:
        lit = _clipped_colour(bgr[:rows], mask[:rows])
        if lit is not None:
            # more light clips the lit backdrop's blue and turns its hue toward cyan, but not
            # its shadows': the mask (a hue test) leaves a shadow out as subject, so at 0.5 EV
            # over the bench's shadows went unseen. Here the backdrop under less light is backdrop.
            dimmed = _scaled_clipped(bgr[:rows].reshape(-1, 3), lit).reshape(rows, w)
            backdrop[:rows] |= dimmed.astype(np.uint8)
    subject = cv2.morphologyEx(1 - backdrop, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    distance = cv2.distanceTransform(1 - subject, cv2.DIST_L2, 3)
    usable = (backdrop[:rows] > 0) & (distance[:rows] >= max(3.0, EDGE_BAND * face_width))
    # candidates by flat index (numpy's boolean indexing of a 3-channel image is ~40× slower)
    flat = usable.reshape(-1)
    idx = np.flatnonzero(flat)
    px = lab.reshape(-1, 3).take(idx, axis=0)
    lightness = px[:, 0]
    if colour is not None:
        above = bgr[:rows] if bgr is not None else None
        clipped = _clipped_colour(above, usable) if above is not None else None
        if above is not None and clipped is not None:
            hue = _scaled_clipped(above.reshape(-1, 3).take(idx, axis=0), clipped)
        else:
            gain = (float(colour[0]) + 16.0) / (lightness + 16.0)
            da = px[:, 1] * gain - float(colour[1])
            db = px[:, 2] * gain - float(colour[2])
            hue = (da * da + db * db) < HUE_TOLERANCE ** 2
        flat[idx[~hue]] = False
        idx, lightness = idx[hue], lightness[hue]
    if idx.size < 500:
        return None
    ys, xs = np.divmod(idx, w)
    step = max(1, idx.size // SAMPLES)
    sx, sy = xs[::step], ys[::step]
    u, v = sx / w - 0.5, sy / h - 0.5
    design = np.empty((u.size, 6))
    for i, column in enumerate((np.ones_like(u), u, v, u * u, u * v, v * v)):
        design[:, i] = column
    values = lightness[::step].astype(np.float64)
    keep = np.ones(values.size, bool)
    coef: np.ndarray = np.zeros(6)
    for _ in range(4):  # the upper envelope: shadows only darken
        chosen = np.flatnonzero(keep)
        a = design.take(chosen, axis=0)
        coef = np.linalg.solve(a.T @ a + np.eye(6) * 1e-6, a.T @ values.take(chosen))  # 6×6 normal equations
        residual = values - design @ coef
        spread = 1.4826 * _median(np.abs(residual.take(chosen))) + 0.3
        again = residual > -2.0 * spread
        if np.array_equal(again, keep):
            break  # a fixed point: every further round would solve the same system again
        keep = again
    gu = (np.arange(w, dtype=np.float32) / w - 0.5)[xs]
    gv = (np.arange(h, dtype=np.float32) / h - 0.5)[ys]
    c = coef.astype(np.float32)
    surface = c[0] + c[1] * gu + c[2] * gv + c[3] * gu * gu + c[4] * gu * gv + c[5] * gv * gv
    drop = np.zeros((rows, w), np.float32)
    drop.reshape(-1)[idx] = np.minimum(surface - lightness, MAX_DROP)
    k = max(5, int(PATCH * face_width) | 1)
    total = cv2.boxFilter(drop, -1, (k, k), normalize=False, borderType=cv2.BORDER_CONSTANT)
    count = cv2.boxFilter(usable.view(np.uint8), cv2.CV_32S, (k, k), normalize=False,
                          borderType=cv2.BORDER_CONSTANT)
    full = count > MIN_PATCH_SHARE * k * k
    if not full.any():
        return None
    return float((total[full] / count[full].astype(np.float32)).max())


def _clipped_colour(bgr: np.ndarray, usable: np.ndarray) -> np.ndarray | None:
    """The backdrop's BGR colour (median of a sample of its usable pixels) when one of its
    channels is clipped; None when none is (or too little backdrop shows)."""
    import numpy as np

    from station.checks.framing import median_colour

    idx = np.flatnonzero(usable.reshape(-1))
    if idx.size < 500:
        return None
    px = bgr.reshape(-1, 3).take(idx[:: max(1, idx.size // SAMPLES)], axis=0)
    colour = median_colour(px.astype(np.float32))
    return colour if bool((colour >= CLIPPED).any()) and bool((colour < CLIPPED).any()) else None


def _scaled_clipped(px: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Which BGR pixels are the clipped backdrop ``colour`` under less light: the unclipped
    channels one factor (at least ``MIN_FACTOR``) times the backdrop's (least squares), the
    clipped ones at least that and at most what ``HIDDEN`` lets clipping hide (a denim jacket
    is bluer still, and darker than any cast shadow). Channel by channel: a live frame's cost."""
    import numpy as np

    channels = [px[:, i].astype(np.float32) for i in range(3)]
    free = [i for i in range(3) if colour[i] < CLIPPED]
    k = sum((channels[i] * float(colour[i]) for i in free), np.zeros(len(px), np.float32))
    k /= float(sum(float(colour[i]) ** 2 for i in free))
    out: np.ndarray = k >= MIN_FACTOR
    for i in range(3):
        scaled = k * float(colour[i])
        if i in free:
            out &= np.abs(channels[i] - scaled) <= CHANNEL_TOLERANCE
        else:  # clipped: at least the scaled value (itself clipped at 255), at most HIDDEN × it
            out &= channels[i] >= np.minimum(scaled, 255.0) - CHANNEL_TOLERANCE
            out &= channels[i] <= scaled * HIDDEN + CHANNEL_TOLERANCE
    return out


def _median(x: np.ndarray) -> float:
    """``np.median`` of a 1-D float array (the same value), without its generic machinery."""
    import numpy as np

    n = x.size
    if n % 2:
        return float(np.partition(x, n // 2)[n // 2])
    part = np.partition(x, (n // 2 - 1, n // 2))
    return float((part[n // 2 - 1] + part[n // 2]) / 2)
