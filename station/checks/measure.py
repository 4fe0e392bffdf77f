"""Measurements on the export frame: every number a check compares with the profile.

All coordinates are export-frame pixels. The export frame is never rotated, so a tilted head
stays tilted here and the roll check sees it. Each function is cheap (a few ms at 480×640)
because it runs on every live-view frame too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from station.checks.balance import CLIPPED, backdrop_gains
from station.checks.bystander import hair_model, measure_bystander
from station.checks.detect import Face
from station.checks.eyearea import under_eye_ratio
from station.checks.framing import (
    backdrop_colour,
    backdrop_mask,
    head_top_of,
    median_colour,
    rgb_to_lab,
    to_lab,
)
from station.checks.person import PERSON_LEVEL, person_probability
from station.checks.shadow import backdrop_shadow

if TYPE_CHECKING:
    import numpy as np

    from station.checks.landmarks import Landmarks
    from station.checks.profile import Profile

Point = tuple[float, float]


@dataclass
class Measurements:
    face_count: int
    face: Face | None = None            # main face; eyes from the iris model when landmarks ran
    landmarks: Landmarks | None = None
    head_top: float | None = None
    face_span: tuple[Point, Point] | None = None  # cheek edges at the cheek row (face oval)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def face_width(self) -> float | None:
        if self.face_span is None:
            return None
        (ax, ay), (bx, by) = self.face_span
        return math.hypot(bx - ax, by - ay)

    @property
    def face_centre_x(self) -> float | None:
        """The face's centre line: midway between the cheek edges (the eyes' midpoint moves
        towards the turn when the head is not quite frontal), else the eyes' midpoint."""
        if self.face_span is not None:
            return (self.face_span[0][0] + self.face_span[1][0]) / 2
        return self.face.eye_mid[0] if self.face is not None else None

    @property
    def roll_deg(self) -> float | None:
        if self.landmarks is not None:
            return self.landmarks.roll_deg
        return self.face.roll_deg if self.face is not None else None


def _clip_box(x0: float, y0: float, x1: float, y1: float, shape) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    return (int(max(0, min(w, x0))), int(max(0, min(h, y0))), int(max(0, min(w, x1))),
            int(max(0, min(h, y1))))


def _zone_stats(lab, mask, box) -> tuple[Any, int]:
    import numpy as np

    x0, y0, x1, y1 = box
    zone_lab = lab[y0:y1, x0:x1].reshape(-1, 3)
    px = zone_lab.take(np.flatnonzero(mask[y0:y1, x0:x1]), axis=0)  # = zone_lab[mask], faster
    if px.shape[0] < 30:
        return None, 0
    return median_colour(px), int(px.shape[0])


def backdrop_zones(lab, mask, face: Face, span) -> dict[str, Any]:
    """Median Lab of the backdrop above the head and beside the face/neck, left and right.

    Works at any resolution of the export frame (``face`` and ``span`` in its coordinates).
    """
    h, w = lab.shape[:2]
    e = max(2, h // 160)  # edge margin: 4 px of a 640 px frame
    cx, ey = face.eye_mid
    half = (span[1][0] - span[0][0]) / 2 if span else face.iod * 1.2
    zones = {
        "top_left": _clip_box(e, e, cx - half * 0.3, h / 16, lab.shape),
        "top_right": _clip_box(cx + half * 0.3, e, w - e, h / 16, lab.shape),
        "side_left": _clip_box(e, ey, cx - half - 2 * e, ey + 1.6 * face.iod, lab.shape),
        "side_right": _clip_box(cx + half + 2 * e, ey, w - e, ey + 1.6 * face.iod, lab.shape),
    }
    return {name: _zone_stats(lab, mask, box)[0] for name, box in zones.items()}


# the directional reading is put on the scale of the former whole-band ratio (median ratio of the
# two on the bench's good photos 0.69, on their Gaussian blurs 0.71), so min_focus and a stored
# calibration baseline keep their meaning
DIRECTIONAL_SCALE = 0.69
_ANGLES = tuple(math.radians(a) for a in range(0, 180, 5))


def _bands(gray, iod_px: float, iod: float) -> tuple[Any, Any, float, float]:
    """Detail bands of ``gray`` resampled so the eyes are ``iod_px`` apart: finest (image − σ1
    blur), middle (σ1 − σ2), coarse (σ2 − σ4).

    Returns the finest and middle bands' gradient tensors (mean gx², gx·gy, gy²: their energy
    along any direction) and the middle and coarse bands' energies.
    """
    import cv2

    fine, middle, patch, b2, mid = _band_tensors(gray, iod_px, iod)
    b4 = cv2.GaussianBlur(patch, (0, 0), 4.0)
    return fine, middle, float((mid ** 2).mean()), float(((b2 - b4) ** 2).mean())


def _band_tensors(gray, iod_px: float, iod: float) -> tuple[Any, Any, Any, Any, Any]:
    """``_bands``' two gradient tensors (all a flat corner's noise estimate needs), with the
    resampled patch, its σ2 blur and its middle band for the energies."""
    import cv2
    import numpy as np

    f = iod_px / max(iod, 1.0)
    patch = cv2.resize(gray, (max(8, int(gray.shape[1] * f)), max(8, int(gray.shape[0] * f))),
                       interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR).astype(np.float32)
    b1 = cv2.GaussianBlur(patch, (0, 0), 1.0)
    b2 = cv2.GaussianBlur(patch, (0, 0), 2.0)
    mid = b1 - b2
    tensors = []
    for band in (patch - b1, mid):
        gx = cv2.Sobel(band, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(band, cv2.CV_32F, 0, 1, ksize=3)
        tensors.append(np.array([(gx * gx).mean(), (gx * gy).mean(), (gy * gy).mean()], np.float64) / 64)
    return tensors[0], tensors[1], patch, b2, mid


def _along(t, angles):
    """Energy of a gradient tensor along each of ``angles``."""
    import numpy as np

    c, s = np.cos(angles), np.sin(angles)
    return c * c * t[0] + 2 * s * c * t[1] + s * s * t[2]


def sharpness(gray, face: Face, iod_px: float) -> tuple[float, float]:
    """(focus, structure) of the eyes-to-mouth area at a fixed eye distance.

    focus: the finest detail band over the next band, each less what the flat backdrop shows in
    that band (sensor and JPEG noise), read along every direction; the least sharp direction
    counts. Defocus removes the finest band first whatever the amount of texture a face has (the
    variance of the Laplacian alone cannot tell a smooth face in focus from a textured one out of
    focus), and motion blur removes it along the motion only: a ratio of whole-band energies
    keeps the detail across the motion and passed 8 px of motion blur on most faces. On the
    scale of ``DIRECTIONAL_SCALE``: about 0.45–1.3 in focus, under 0.37 with a Gaussian blur of
    two export pixels. structure: the middle band over the coarse band, which noise barely
    touches: it stays low (< 0.2) when a strong blur leaves only noise in the fine band.
    """
    import numpy as np

    cx, ey = face.eye_mid
    iod = max(face.iod, 1.0)
    x0, y0, x1, y1 = _clip_box(cx - 0.9 * iod, ey - 0.4 * iod, cx + 0.9 * iod, ey + 1.2 * iod, gray.shape)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0.0, 0.0
    fine, middle, middle_energy, coarse = _bands(gray[y0:y1, x0:x1], iod_px, iod)
    h, w = gray.shape
    corners = [gray[4:min(h, 64), 4:min(w, 84)], gray[4:min(h, 64), max(0, w - 84):w - 4]]
    flat = [_band_tensors(c, iod_px, iod)[:2] for c in corners if c.size >= 400]
    zero = np.zeros(3)
    noise = min(flat, key=lambda b: float(b[0][0] + b[0][2]), default=(zero, zero))
    angles = np.array(_ANGLES)
    ratio = (np.maximum(_along(fine - noise[0], angles), 0.0)
             / np.maximum(_along(middle - noise[1], angles), 1e-4))
    return DIRECTIONAL_SCALE * float(ratio.min()), middle_energy / max(coarse, 1e-3)


def face_pixels(gray, face: Face):
    """Luma of the face oval (forehead to chin, cheek to cheek)."""
    import cv2
    import numpy as np

    cx, ey = face.eye_mid
    iod = face.iod
    mask = np.zeros(gray.shape, np.uint8)
    cv2.ellipse(mask, (int(cx), int(ey + 0.45 * iod)), (int(0.85 * iod), int(1.15 * iod)), 0, 0, 360, 255, -1)
    return gray[mask > 0]


def cheek_balance(frame, gray, face: Face, landmarks: Landmarks | None = None,
                  hair: Callable[[], tuple[Any, Any] | None] | None = None,
                  gains: np.ndarray | None = None) -> tuple[float, float]:
    """Left/right cheek light: (relative difference of the cheeks' light, histogram intersection).

    With landmarks the zones are the cheeks themselves (mesh polygons under the eyes, beside the
    nose), keeping only skin-coloured pixels (hair falling over a cheek is not a shadow on it;
    ``hair``: gives the student's hair colour model, whose pixels never count as a cheek's; asked
    only when a cheek is mostly not skin-coloured). ``gains``: the camera's white balance read
    off the backdrop (``balance.backdrop_gains``), undone for the skin test only.
    The difference drives the check (阴阳脸 → large); the intersection (1 = identical
    histograms) is kept for the record.
    """
    import numpy as np

    zones = None
    if landmarks is not None:
        zones = _cheek_zones_mesh(frame, gray, landmarks, hair, gains)
    if zones is None:
        zones = _cheek_zones_box(gray, face)
    if not zones:
        return 0.0, 1.0
    hists, levels = [], []
    for zone in zones:
        counts = np.bincount(zone.reshape(-1), minlength=256)  # a uint8 zone: its 256 levels
        hist = counts.reshape(8, 32).sum(axis=1).astype(np.float64)  # = bincount of zone // 32
        hists.append(hist / hist.sum())
        # the brighter part of the cheek: a strand of hair across it darkens a part, a shadow all
        levels.append(percentile_u8(counts, 80))
    diff = abs(levels[0] - levels[1]) / max(max(levels), 1.0)
    return diff, float(np.minimum(hists[0], hists[1]).sum())


def percentile_u8(counts, q: int) -> float:
    """``float(np.percentile(zone, q))`` (linear method) of a uint8 ``zone`` from its 256-level
    counts: the same value (numpy's own index, weight and interpolation formula on the same two
    order statistics), without sorting a copy of the zone (a tenth of the time)."""
    import numpy as np

    n = int(counts.sum())
    cumulative = np.cumsum(counts)
    virtual = (n - 1) * (q / 100)  # numpy: (n - 1) * true_divide(q, 100), in float64
    below = math.floor(virtual)
    if virtual >= n - 1:  # numpy takes the last value then
        below = above = n - 1
        t = virtual - (n - 1)
    else:
        above = below + 1
        t = virtual - below
    a, b = (int(np.searchsorted(cumulative, k, side="right")) for k in (below, above))
    d = float(b - a)  # b >= a: the order statistics
    return float(a) + d * t if t < 0.5 else float(b) - d * (1 - t)


SKIN_REFERENCE = (6, 197, 195, 5)  # nose bridge to tip: skin on every face, under any fringe


def _cheek_zones_mesh(frame, gray, landmarks: Landmarks,
                      hair: Callable[[], tuple[Any, Any] | None] | None = None,
                      gains: np.ndarray | None = None):
    """Luma of each cheek's skin: the mesh polygon, less pixels whose chroma is not the face's.

    A cheek in deep shadow loses its chroma too, so a cheek mostly not skin-coloured is taken
    whole, less the pixels of the student's hair colour: a lock of dark hair over most of one
    cheek (a side-swept fringe, a bob) read as that cheek in shadow (0.71 on a rendered portrait
    whose lock hides 30 % of one half of the face: a false 阴阳脸). A cheek all hair is not judged.
    """
    import cv2
    import numpy as np

    from station.checks.balance import rebalanced
    from station.checks.bystander import in_hair_colour
    from station.checks.framing import to_lab
    from station.checks.landmarks import CHEEKS

    def chroma_of(x0: int, y0: int, x1: int, y1: int):  # Cr, Cb of a box (per pixel: only the boxes)
        if x1 <= x0 or y1 <= y0:  # a point outside the frame: no pixels
            return np.zeros((max(0, y1 - y0), max(0, x1 - x0), 2), np.uint8)
        box = frame[y0:y1, x0:x1]
        if gains is not None:  # as under a neutral white balance
            box = rebalanced(box, gains)
        return cv2.cvtColor(box, cv2.COLOR_BGR2YCrCb)[:, :, 1:]

    r = max(2, int(0.06 * landmarks.iod))
    ref = []
    for i in SKIN_REFERENCE:
        x, y = (int(round(v)) for v in landmarks.point(i))
        x0, y0, x1, y1 = _clip_box(x - r, y - r, x + r + 1, y + r + 1, gray.shape)
        ref.append(chroma_of(x0, y0, x1, y1).reshape(-1, 2))
    chroma = np.concatenate(ref).astype(np.float64)
    if chroma.shape[0] < 10:
        return None
    mean = chroma.mean(axis=0)
    cov = np.cov(chroma.T) + np.eye(2) * 4.0  # a few levels of slack: JPEG chroma is coarse
    inv = np.linalg.inv(cov)
    zones = []
    for side in ("left", "right"):
        poly = landmarks.mesh[list(CHEEKS[side])].astype(np.float32)
        x0, y0 = np.floor(poly.min(axis=0)).astype(int)
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = _clip_box(x0, y0, x1, y1, gray.shape)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return None
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(inside, [np.round(poly - [x0, y0]).astype(np.int32)], 255)
        d = chroma_of(x0, y0, x1, y1).astype(np.float64) - mean
        skin = np.einsum("...i,ij,...j->...", d, inv, d) < 9.0  # within 3 sigma
        # a pixel with a channel clipped has lost its chroma, not its skin: the lit cheek's
        # brightest skin (hair and shadow are never that bright)
        skin |= frame[y0:y1, x0:x1].max(axis=2) >= CLIPPED
        zone = gray[y0:y1, x0:x1][(inside > 0) & skin]
        if zone.size < max(20, 0.3 * int((inside > 0).sum())):
            keep = inside > 0   # mostly not skin-coloured: take it all, less the hair
            model = hair() if hair is not None else None
            if model is not None:
                keep &= ~in_hair_colour(to_lab(frame[y0:y1, x0:x1]), model)
            zone = gray[y0:y1, x0:x1][keep]
            if zone.size < 20 and model is not None:
                return []  # a cheek hidden by hair: its light cannot be judged
        if zone.size < 20:
            return None
        zones.append(zone)
    return zones


def _cheek_zones_box(gray, face: Face):
    iod = face.iod
    ey = face.eye_mid[1]
    zones = []
    for eye, sign in ((face.eye_left, -1), (face.eye_right, 1)):
        xa, xb = eye[0] + sign * 0.45 * iod, eye[0] - sign * 0.1 * iod
        x0, y0, x1, y1 = _clip_box(min(xa, xb), ey + 0.35 * iod, max(xa, xb), ey + 0.85 * iod, gray.shape)
        zone = gray[y0:y1, x0:x1]
        if zone.size < 20:
            return None
        zones.append(zone.reshape(-1))
    return zones


# how far around the eye box a bright blob is followed: past any lens rim (a lens spans about
# 0.3 eye distances below and above the eye, the box 0.3), not past the cheek or the brow
GLARE_REACH = 0.35


def glare_share(bgr, face: Face, v_level: int, s_level: int) -> float:
    """Largest bright, colourless blob in either eye box, as a share of the box (catchlights are tiny).

    A reflection on a lens ends at the lens; a blob that runs on ``GLARE_REACH`` eye distances
    beyond the eye box is the face's own skin burnt out (a bright exposure: the cheek below the
    eye, the brow bone above it), the exposure check's business, not glasses glare: a face
    without glasses 0.5 EV brighter read 0.099 from its cheek and failed as glare."""
    import cv2
    import numpy as np

    r = 0.38 * face.iod
    reach = GLARE_REACH * face.iod
    worst = 0.0
    for ex, ey in (face.eye_left, face.eye_right):
        x0, y0, x1, y1 = _clip_box(ex - r, ey - r * 0.8, ex + r, ey + r * 0.8, bgr.shape)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        # the eye box and its surround; the surround's own edge (or the frame's) is "beyond"
        ox0, oy0, ox1, oy1 = _clip_box(x0 - reach, y0 - reach, x1 + reach, y1 + reach, bgr.shape)
        hsv = cv2.cvtColor(bgr[oy0:oy1, ox0:ox1], cv2.COLOR_BGR2HSV)
        spots = ((hsv[:, :, 2] >= v_level) & (hsv[:, :, 1] <= s_level)).astype(np.uint8)
        bx0, by0, bx1, by1 = x0 - ox0, y0 - oy0, x1 - ox0, y1 - oy0
        if not spots[by0:by1, bx0:bx1].any():
            continue
        # blobs as the eye box holds them; those joined (through the surround) to its edge are
        # skin, not a reflection
        _, around = cv2.connectedComponents(spots, connectivity=8)
        rim = np.unique(np.concatenate([around[0], around[-1], around[:, 0], around[:, -1]]))
        box = spots[by0:by1, bx0:bx1]
        box[np.isin(around[by0:by1, bx0:bx1], rim[rim > 0])] = 0
        n, _, stats, _ = cv2.connectedComponentsWithStats(box, connectivity=8)
        if n > 1:
            worst = max(worst, float(stats[1:, cv2.CC_STAT_AREA].max()) / box.size)
    return worst


def measure(frame, faces: list[Face], landmarks: Landmarks | None, profile: Profile,
            expected_lab) -> Measurements:
    """Every measurement on an export frame whose main face is ``faces[0]`` (export coordinates)."""
    import cv2
    import numpy as np

    from station.checks.landmarks import CHIN, precise_face

    result = Measurements(face_count=len(faces))
    if not faces:
        return result
    face = faces[0] if landmarks is None else precise_face(faces[0], landmarks)
    result.face, result.landmarks = face, landmarks
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    # the backdrop's colour, evenness, shadows and the clothes are judged at half resolution
    # (they are smooth; a quarter of the pixels); the head top at full resolution
    h, w = frame.shape[:2]
    half = cv2.resize(frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    lab = to_lab(half)
    colour = backdrop_colour(lab)
    mask = backdrop_mask(lab, colour, profile)
    if landmarks is not None:
        result.face_span = landmarks.cheek_span(profile.geometry.cheek_row_iod)
    k = half.shape[1] / w
    fw = result.face_width or face.iod / 0.42
    chin = landmarks.point(CHIN)[1] if landmarks is not None else face.eye_mid[1] + 1.4 * face.iod
    v = result.values
    if landmarks is not None:
        centre = (result.face_centre_x or face.eye_mid[0], face.eye_mid[1])
        result.head_top = _head_top(frame, colour, centre, face.iod, profile)
        v["eye_openness"] = min(landmarks.eye_openness("left"), landmarks.eye_openness("right"))
        v["mouth_openness"] = landmarks.mouth_openness()
        v["head_turn"] = landmarks.turn_deg
        under_eye = under_eye_ratio(gray, landmarks)
        if under_eye is not None:
            v["under_eye"] = under_eye
    v["backdrop_lab"] = [round(float(c), 1) for c in colour]
    v["backdrop_delta_e"] = float(np.linalg.norm(colour - expected_lab))
    v["backdrop_delta_l"] = float(colour[0] - expected_lab[0])
    small_face = face.mapped(lambda p: (p[0] * k, p[1] * k))
    span = result.face_span
    small_span = ((span[0][0] * k, span[0][1] * k), (span[1][0] * k, span[1][1] * k)) if span else None
    zones = {n: z for n, z in backdrop_zones(lab, mask, small_face, small_span).items() if z is not None}
    if len(zones) >= 2:
        meds = list(zones.values())
        v["backdrop_uniformity"] = max(float(np.linalg.norm(a - b)) for a in meds for b in meds)
    light = light_scale(colour, expected_lab)
    drop = backdrop_shadow(lab, mask, fw * k, bottom=(chin + 0.25 * fw) * k, colour=colour, bgr=half)
    if drop is not None:
        v["backdrop_shadow"] = max(0.0, drop * light)
    v["sharpness"], v["sharpness_structure"] = sharpness(gray, face, profile.sharpness.iod_px)
    px = face_pixels(gray, face)
    if px.size:
        ex = profile.exposure
        v["over_share"] = float((px >= ex.over_level).mean())
        v["under_share"] = float((px <= ex.under_level).mean())
        v["face_mean"] = float(px.mean())
    gains = backdrop_gains(colour, rgb_to_lab(profile.backdrop.reference_rgb))
    v["lighting"], v["lighting_intersection"] = cheek_balance(
        frame, gray, face, landmarks, lambda: hair_model(lab, mask, small_face, small_span), gains)
    v["glare"] = glare_share(frame, face, profile.glare.v_level, profile.glare.s_level)
    clothes_lab, clothes_colour = (lab, colour) if gains is None else neutral_band(half, lab, colour, gains)
    pale = paleness_scale(clothes_colour, rgb_to_lab(profile.backdrop.reference_rgb))
    v.update(clothing(clothes_lab, clothes_colour, mask, small_face, small_span, profile,
                      lambda: person_probability(frame), light * pale))
    v.update(measure_bystander(lab, mask, small_face, small_span, chin * k,
                               profile.second_person.edge_above))
    return result


# A frame exposed darker than expected is put back on the expected scale by at most this factor
# of (L + 16): half an EV (2^(0.5/3)). A backdrop darker than the expected one may also be another
# cloth (an uncalibrated station): the factor then overstates the clothes' contrast, so it stays
# small (blue clothes of the bench's blue_clothing family read ΔE ≤ 24.7; × 1.12 still < 28).
LIGHT_SCALE_MAX = 2.0 ** (0.5 / 3)


def light_scale(colour, expected_lab) -> float:
    """The factor that puts Lab distances measured on a darker frame than expected on the scale
    of one exposed as expected: the expected backdrop's L + 16 over the measured backdrop's
    (at least 1).

    Lab's L + 16, a and b all follow the cube root of the light, so a frame 0.5 EV darker has
    every colour difference and every lightness drop 11 % smaller: on the real-face bench a
    denim shirt then read ΔE 28.0 from the backdrop and failed as blue clothes, and a soft
    shadow read 5.6 L and passed. Multiplied by this factor the clothes' contrast and a
    shadow's depth are the scene's, not the exposure's. A brighter frame is left as it is: the
    reference blue's B is already 255, so more light clips it and distances to the backdrop no
    longer grow with the light (they shrink)."""
    ratio = (float(expected_lab[0]) + 16.0) / (float(colour[0]) + 16.0)
    return min(LIGHT_SCALE_MAX, max(1.0, ratio))


# A backdrop paler than the reference blue is judged on the reference's scale by at most this
# factor (the real-face bench: 1.37 on its paler blue, 1.28 on the published blue 0.5 EV over,
# its B clipped). A frame's balance can make a backdrop paler too, and that part of its paleness
# is no cloth's: the paler blue under a warm balance (red up, blue down 8 %) measures 2.0, and a
# pale blue shirt on it read ΔE 30.8 at that factor (passing), 25.0 at this one (failing); a grey
# top at the backdrop's lightness still reads 1.5 × the backdrop's chroma, past the fail limit
# down to a chroma of 19 (the reference's: 39).
PALENESS_SCALE_MAX = 1.5


def saturation(lab) -> float:
    """Chroma over L + 16: a colour's saturation, the same at any exposure (Lab's L + 16, a and
    b all follow the cube root of the light)."""
    return float(math.hypot(float(lab[1]), float(lab[2]))) / max(1.0, float(lab[0]) + 16.0)


def paleness_scale(colour, reference_lab) -> float:
    """The factor that puts the clothes' ΔE from a backdrop paler than the profile's reference
    blue on the reference's scale: the reference's saturation over the backdrop's (at least 1,
    at most ``PALENESS_SCALE_MAX``).

    The clothing limits were set on the saturated reference blue, where a grey or white top
    reads ΔE ≥ 31.5 and clothes dyed its blue ≤ 24.7. Against a paler blue every colour near
    neutral is closer (a grey top at the backdrop's lightness is exactly the backdrop's chroma
    away), and clothes dyed that blue are too: on the real-face bench's paler backdrop
    (RGB 130, 200, 240: saturation 0.31 for the reference's 0.42) a grey T-shirt and a white
    blouse read ΔE 22–26 and failed as blue clothes, while blue clothes read at most 17.2 —
    both about 0.7 of their figures on the reference blue, the ratio of the saturations.
    Saturation, not chroma, so a frame exposed darker (``light_scale``) is not counted twice;
    a more saturated backdrop than the reference is left as it is."""
    seen = saturation(colour)
    want = saturation(reference_lab)
    if seen <= 0.0:
        return PALENESS_SCALE_MAX
    return min(PALENESS_SCALE_MAX, max(1.0, want / seen))


def _head_top(frame, colour, centre: Point, iod: float, profile: Profile) -> float | None:
    """Head top at full resolution, from the backdrop mask of the columns above the face only."""
    from station.checks.framing import HEAD_TOP_HALF_IOD

    band = int(iod * HEAD_TOP_HALF_IOD) + 2
    x0, _, x1, y1 = _clip_box(centre[0] - band, 0, centre[0] + band + 1, centre[1], frame.shape)
    if x1 - x0 < 3 or y1 < 3:
        return None
    region = frame[:y1, x0:x1]
    top = head_top_of(region, colour, (centre[0] - x0, centre[1]), iod, profile)
    return None if top == 0.0 else top  # 0: cut by the frame's top edge, not measurable


def neutral_band(half, lab, colour, gains) -> tuple[Any, Any]:
    """``lab`` with its shoulder band (``CLOTHES_TOP`` down) as a neutral white balance gives it
    (``gains`` read off the backdrop, ``balance.backdrop_gains``), and the backdrop's colour so
    too: the clothes' contrast is the scene's, not the camera's balance.

    A white balance moves the backdrop and the clothes apart or together: the reference blue's B
    is already 255, so a cool balance (blue up, red down) leaves the backdrop almost as it was
    and turns a grey shirt bluish (ΔE 32.7 → 26.6 on the real-face bench: a false "blue
    clothes"); a warm one does the reverse and lets clothes of the backdrop's blue through. A
    channel the backdrop cannot tell (clipped) keeps its gain of 1, so what is undone is only
    ever part of the cast."""
    import cv2
    import numpy as np

    from station.checks.balance import rebalanced

    y0 = int(lab.shape[0] * CLOTHES_TOP)
    out = lab.copy()
    out[y0:] = to_lab(rebalanced(half[y0:], gains))
    bgr = cv2.cvtColor(np.array([[colour]], np.float32), cv2.COLOR_Lab2BGR) * np.float32(255.0)
    return out, to_lab(np.clip(bgr * gains.astype(np.float32), 0, 255))[0, 0]


# A side of the shoulder band is judged on its own only when the student fills most of it: the
# person mask's soft edge holds a strip of backdrop along a shoulder that falls away (16 % of
# the side on a rendered asymmetric pose), which alone would read as blue clothes.
SIDE_PERSON_SHARE = 0.5
CLOTHES_TOP = 0.89   # × frame height: the shoulder band's top row


def clothing(lab, colour, mask, face: Face, span, profile: Profile,
             person: Callable[[], Any] | None = None, light: float = 1.0) -> dict[str, float]:
    """ΔE between the clothes on the shoulders (bottom band, off-centre) and the backdrop; the
    share of them that looks like backdrop.

    The whole band is judged first. Only when that would not pass (or one side alone would
    fail) is ``person`` asked (the frame's person probability, any size: stretched to
    ``lab``'s), so the usual frame never pays for it. The band is then judged again on its
    clothes: the pixels that are the person's or visibly not backdrop. A pixel that is neither
    is backdrop the student does not reach (one shoulder below the band in an asymmetric pose)
    and is left out, so it no longer reads as blue clothes; clothes of the backdrop's own blue
    stay in, being the person's. When the band holds almost no clothes by that measure (the
    mask missed them all) the whole band's figures stand.

    Each side the student fills (``SIDE_PERSON_SHARE``) is judged on its clothes too, and
    decides when they are unmistakably the backdrop's blue (they would fail on their own and
    are mostly backdrop-coloured): a top of the backdrop's blue over one shoulder only passed
    when the band's median fell on the other side's colour. A side that is merely pale blue (a
    light shirt beside a dark jacket) leaves the band's figures alone: judged alone, such sides
    warned on 11 good photos of the real-face bench.

    ``light`` (``light_scale`` × ``paleness_scale``) puts every ΔE on the scale of a frame
    exposed as expected, on a backdrop as saturated as the profile's reference blue.
    """
    import cv2
    import numpy as np

    h, w = lab.shape[:2]
    fw = (span[1][0] - span[0][0]) if span else face.iod / 0.42
    cx = face.eye_mid[0]
    y0, y1 = int(h * CLOTHES_TOP), h - max(2, h // 100)
    boxes = [b for b in (_clip_box(cx - 1.05 * fw, y0, cx - 0.45 * fw, y1, lab.shape),
                         _clip_box(cx + 0.45 * fw, y0, cx + 1.05 * fw, y1, lab.shape))
             if b[2] > b[0] and b[3] > b[1]]
    if not boxes:
        return {}
    sides = [(lab[b[1]:b[3], b[0]:b[2]].reshape(-1, 3), mask[b[1]:b[3], b[0]:b[2]].reshape(-1))
             for b in boxes]
    allpx = np.concatenate([px for px, _ in sides])
    allmask = np.concatenate([m for _, m in sides])
    if allpx.shape[0] == 0:
        return {}
    c = profile.clothing
    out = {"clothing_delta_e": light * float(np.linalg.norm(median_colour(allpx) - colour)),
           "clothing_blue_share": float(allmask.mean())}
    # one side alone can be the backdrop's blue (a one-shoulder dress) while the band's median,
    # the other side's, is not: a side that would fail alone is looked at too (a pale one, which
    # can never decide, does not cost the mask: live-view frames of a student in a light shirt)
    plain = [light * float(np.linalg.norm(median_colour(px) - colour)) for px, _ in sides if len(px) >= 30]
    if person is None or (out["clothing_delta_e"] >= c.min_delta_e_warn
                          and min(plain, default=math.inf) >= c.min_delta_e_fail):
        return out
    prob_map = person()
    if prob_map.shape[:2] != (h, w):
        prob_map = cv2.resize(prob_map, (w, h), interpolation=cv2.INTER_LINEAR)
    probs = [prob_map[b[1]:b[3], b[0]:b[2]].reshape(-1) for b in boxes]
    prob = np.concatenate(probs)
    out["clothing_person_share"] = float((prob >= PERSON_LEVEL).mean())
    if out["clothing_delta_e"] < c.min_delta_e_warn:  # the band itself, on its clothes
        out.update(_clothes_figures(allpx, allmask, prob, colour, profile, light) or {})
    for (px, side_mask), side_prob in zip(sides, probs, strict=True):
        if (side_prob >= PERSON_LEVEL).mean() < SIDE_PERSON_SHARE:
            continue  # mostly not the student: the band's figures judge it
        side = _clothes_figures(px, side_mask, side_prob, colour, profile, light)
        if (side is not None and side["clothing_delta_e"] < min(c.min_delta_e_fail, out["clothing_delta_e"])
                and side["clothing_blue_share"] > c.blue_share_fail):
            out.update(side)  # unmistakably the backdrop's blue on that side: it decides
    return out


def _clothes_figures(px: np.ndarray, backdrop_like: np.ndarray, prob: np.ndarray,
                     colour: np.ndarray, profile: Profile, light: float = 1.0) -> dict[str, float] | None:
    """ΔE and backdrop share of the clothes among ``px``: the person's pixels or those visibly not
    backdrop (None when too few: the zone is backdrop the student does not reach).

    "Visibly not backdrop" is neither near the backdrop's colour nor near it but for a change of
    light (``shade_distance2``): a backdrop lit less toward the frame's lower corners (one
    background light, lens vignetting) is still backdrop, not blue clothes (by plain ΔE alone,
    0.5 EV of vignetting failed two good photos of the real-face bench whose shoulders barely
    reach the band); the light-forgiving distance alone, which rescales a and b with L, read a
    backdrop of uneven lightness but even hue as clothes under a cool white balance."""
    import numpy as np

    c = profile.clothing
    from station.checks.framing import shade_distance2

    near = c.empty_delta_e ** 2
    backdrop = ((np.square(px - colour).sum(axis=1) < near)  # the backdrop's colour, plainly
                | (shade_distance2(px, colour, profile.backdrop.mask_l_weight) < near))
    clothes = (prob >= PERSON_LEVEL) | ~backdrop
    if clothes.sum() < max(30, c.min_clothes_share * clothes.size):
        return None
    return {"clothing_delta_e": light * float(np.linalg.norm(median_colour(px[clothes]) - colour)),
            "clothing_blue_share": float(backdrop_like[clothes].mean())}

