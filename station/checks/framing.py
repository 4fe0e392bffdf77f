"""Where the export frame sits in a capture, and head top / face width from the backdrop mask.

The export frame is a similarity transform of the capture (scale, a small levelling rotation,
shift). It is found in two steps: a preliminary frame from the eyes alone, in which head top and
cheek-to-cheek width are measured on the backdrop mask; then the zoom and shift that put the head
where the profile's placement wants it, kept inside the capture (never padded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from station.checks.detect import Face

if TYPE_CHECKING:
    import numpy as np

    from station.checks.profile import Profile

IOD_PER_FACE_WIDTH = 0.42  # typical eye distance / cheek width, only for the preliminary frame


def to_lab(bgr: np.ndarray) -> np.ndarray:
    """CIE Lab with L in 0..100 and a, b signed (float32), so distances are ΔE76."""
    import cv2
    import numpy as np

    return cv2.cvtColor(bgr.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_BGR2Lab)


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


def backdrop_colour(lab: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.median(backdrop_sample(lab), axis=0)


def backdrop_mask(lab: np.ndarray, colour: np.ndarray, profile: Profile) -> np.ndarray:
    """True where a pixel is backdrop: Lab distance with lightness weighed less (shadows stay blue).

    a and b are scaled by (L0 + 16) / (L + 16), which undoes a change of exposure (Lab components
    all follow the cube root of the light), so a darker or lighter patch of the same blue still
    counts as backdrop, and a dark shirt in a dark frame does not.
    """
    import numpy as np

    wl = float(profile.backdrop.mask_l_weight)
    colour = colour.astype(np.float32)
    gain = (colour[0] + 16.0) / (lab[:, :, 0] + 16.0)
    da = lab[:, :, 1] * gain - colour[1]
    db = lab[:, :, 2] * gain - colour[2]
    dist2 = (wl * (lab[:, :, 0] - colour[0])) ** 2 + da * da + db * db
    # a greyer (darker, paler) backdrop leaves less room between it and neutral clothes
    chroma = float(np.hypot(colour[1], colour[2]))
    limit = float(profile.backdrop.mask_distance) * min(1.0, max(0.4, chroma / 40.0))
    return dist2 <= limit * limit


def head_top(mask: np.ndarray, face: Face) -> float | None:
    """First row from the top where the central columns stop being backdrop."""
    import numpy as np

    cx, ey = face.eye_mid
    half = max(2, int(face.iod * 0.45))
    x0, x1 = max(0, int(cx) - half), min(mask.shape[1], int(cx) + half)
    rows = int(min(ey, mask.shape[0]))
    if x1 - x0 < 3 or rows < 3:
        return None
    subject = (~mask[:rows, x0:x1]).mean(axis=1) > 0.6
    hit = np.flatnonzero(subject[:-1] & subject[1:])
    if hit.size == 0:
        return None
    top = int(hit[0])
    return None if top == 0 else float(top)  # touching the edge: not measurable


def face_span(mask: np.ndarray, face: Face, cheek_row_iod: float) -> tuple[float, float] | None:
    """Cheek-to-cheek extent (x0, x1) of the subject run through the face at cheek height."""
    import numpy as np

    cx, ey = face.eye_mid
    y = int(round(ey + cheek_row_iod * face.iod))
    if not 0 <= y < mask.shape[0]:
        return None
    band = mask[max(0, y - 1):y + 2].mean(axis=0) < 0.5  # subject across three rows
    x = int(round(cx))
    if not 0 <= x < band.size or not band[x]:
        return None
    left = np.flatnonzero(~band[:x])
    right = np.flatnonzero(~band[x:])
    x0 = float(left[-1] + 1) if left.size else None
    x1 = float(x + right[0]) if right.size else None
    if x0 is None or x1 is None:
        return None
    return x0, x1


@dataclass
class Framing:
    """Affine map capture (full resolution) → export frame, and what it implies."""

    matrix: list[list[float]]      # 2×3, full-resolution capture → export pixels
    scale: float                   # capture pixels per export pixel
    level_deg: float               # rotation applied to level the eyes
    clamped: bool                  # the ideal placement had to move to stay inside the capture

    def for_reduction(self, reduction: float):
        """The matrix for a capture decoded at 1/``reduction`` of full size."""
        import numpy as np

        m = np.array(self.matrix, dtype=np.float64)
        m[:, :2] *= reduction
        return m

    def point(self, p) -> tuple[float, float]:
        m = self.matrix
        return (m[0][0] * p[0] + m[0][1] * p[1] + m[0][2], m[1][0] * p[0] + m[1][1] * p[1] + m[1][2])


def _similarity(k: float, angle_deg: float, anchor, target):
    """Matrix mapping ``anchor`` to ``target``, rotating by -angle and scaling by ``k``."""
    import numpy as np

    a = math.radians(angle_deg)
    c, s = math.cos(a) * k, math.sin(a) * k
    lin = np.array([[c, s], [-s, c]])
    t = np.array(target) - lin @ np.array(anchor)
    return np.hstack([lin, t[:, None]])


def _fit_inside(m, size: tuple[int, int], out: tuple[int, int]):
    """Shift (and if needed zoom) so the export window lies inside the capture; returns (m, clamped)."""
    import numpy as np

    w_out, h_out = out
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    corners = np.array([[0, 0, 1], [w_out, 0, 1], [0, h_out, 1], [w_out, h_out, 1]], float).T
    src = inv @ corners
    bw = src[0].max() - src[0].min()
    bh = src[1].max() - src[1].min()
    grow = max(bw / size[0], bh / size[1])
    clamped = False
    if grow > 1.0:  # window larger than the capture: zoom in about the frame centre
        centre = np.array([w_out / 2, h_out / 2])
        m = m.copy()
        m[:, :2] *= grow * 1.0005
        m[:, 2] = centre + (m[:, 2] - centre) * grow * 1.0005
        inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
        src = inv @ corners
        clamped = True
    dx = max(0.0, -src[0].min()) - max(0.0, src[0].max() - size[0])
    dy = max(0.0, -src[1].min()) - max(0.0, src[1].max() - size[1])
    if dx or dy:
        m = m.copy()
        m[:, 2] -= m[:, :2] @ np.array([dx, dy])
        clamped = True
    return m, clamped


def warp(img: np.ndarray, m, out: tuple[int, int], fast: bool = False) -> np.ndarray:
    """Resample once into the export frame; a Gaussian pre-filter stands in for area averaging.

    ``fast`` (bilinear) is for analysis-only frames; the export photo uses bicubic.
    """
    import cv2
    import numpy as np

    shrink = 1.0 / math.sqrt(abs(np.linalg.det(np.asarray(m)[:, :2])))
    if shrink > 1.15:
        sigma = 0.5 * math.sqrt(shrink * shrink - 1.0)
        x, y, w, h = _source_roi(m, out, img.shape)
        roi = cv2.GaussianBlur(img[y:y + h, x:x + w], (0, 0), sigma)
        m = np.asarray(m, np.float64).copy()
        m[:, 2] += m[:, :2] @ np.array([x, y], np.float64)
        img = roi
    flags = cv2.INTER_LINEAR if fast else cv2.INTER_CUBIC
    return cv2.warpAffine(img, np.asarray(m, np.float64), out, flags=flags,
                          borderMode=cv2.BORDER_REPLICATE)


def _source_roi(m, out, shape) -> tuple[int, int, int, int]:
    import numpy as np

    inv = np.linalg.inv(np.vstack([np.asarray(m, np.float64), [0, 0, 1]]))[:2]
    pts = inv @ np.array([[0, 0, 1], [out[0], 0, 1], [0, out[1], 1], [out[0], out[1], 1]], float).T
    x0 = int(max(0, math.floor(pts[0].min()) - 8))
    y0 = int(max(0, math.floor(pts[1].min()) - 8))
    x1 = int(min(shape[1], math.ceil(pts[0].max()) + 8))
    y1 = int(min(shape[0], math.ceil(pts[1].max()) + 8))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def frame_capture(img: np.ndarray, face: Face, profile: Profile, reduction: float = 1.0) -> Framing:
    """The export framing of a capture whose decode ``img`` is 1/``reduction`` of full size.

    ``face`` is in ``img`` coordinates. Returns the framing in full-resolution coordinates.
    """
    import numpy as np

    out = profile.size
    place = profile.placement
    angle = max(-place.max_level_rotation_deg, min(place.max_level_rotation_deg, face.roll_deg))
    k0 = place.face_width * IOD_PER_FACE_WIDTH / max(face.iod, 1e-3)
    target_eye = (out[0] / 2, float(place.eye_line))
    m0 = _similarity(k0, angle, face.eye_mid, target_eye)
    prelim = warp(img, m0, out, fast=True)
    lab = to_lab(prelim)
    mask = backdrop_mask(lab, backdrop_colour(lab), profile)
    pface = face.mapped(lambda p: _apply(m0, p))
    top = head_top(mask, pface)
    span = face_span(mask, pface, profile.geometry.cheek_row_iod)
    fw = span[1] - span[0] if span else None
    if fw is not None and not 0.6 < fw / place.face_width < 1.6:
        fw = None  # the run leaked into hair or clothes: trust the eyes instead

    zoom = 1.0
    if top is not None and target_eye[1] - top > 10:
        zoom = (place.eye_line - place.head_top) / (target_eye[1] - top)
    elif fw:
        zoom = place.face_width / fw
    if fw:
        lo, hi = profile.safe_range("face_width")
        slack = place.face_width_slack
        zoom = min(max(zoom, (lo + slack) / fw), (hi - slack) / fw)
    cx = (span[0] + span[1]) / 2 if span else target_eye[0]
    eye_x = out[0] / 2 - (cx - out[0] / 2) * zoom
    eye_y = float(place.eye_line)
    if top is not None:  # keep head top and eye line both inside their safe ranges if possible
        d = (target_eye[1] - top) * zoom
        t_lo, t_hi = profile.safe_range("head_top")
        e_lo, e_hi = profile.safe_range("eye_line")
        lo, hi = max(e_lo, t_lo + d), min(e_hi, t_hi + d)
        if lo <= hi:
            eye_y = min(max(eye_y, lo), hi)
    m = _similarity(k0 * zoom, angle, face.eye_mid, (eye_x, eye_y))
    m[:, :2] /= reduction  # full-resolution coordinates
    full_size = (int(round(img.shape[1] * reduction)), int(round(img.shape[0] * reduction)))
    m, clamped = _fit_inside(m, full_size, out)
    scale = 1.0 / math.sqrt(abs(np.linalg.det(m[:, :2])))
    return Framing(m.tolist(), scale, angle, clamped)


def identity_framing(size: tuple[int, int]) -> Framing:
    return Framing([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 1.0, 0.0, False)


def _apply(m, p) -> tuple[float, float]:
    return (float(m[0][0] * p[0] + m[0][1] * p[1] + m[0][2]),
            float(m[1][0] * p[0] + m[1][1] * p[1] + m[1][2]))
