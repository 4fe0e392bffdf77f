"""Measurements on the export frame: every number a check compares with the profile.

All coordinates are export-frame pixels. The export frame is never rotated, so a tilted head
stays tilted here and the roll check sees it. Each function is cheap (a few ms at 480×640)
because it runs on every live-view frame too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from station.checks.detect import Face
from station.checks.framing import backdrop_colour, backdrop_mask, head_top, to_lab
from station.checks.shadow import backdrop_shadow

if TYPE_CHECKING:
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
    zone_mask = mask[y0:y1, x0:x1].reshape(-1)
    px = zone_lab[zone_mask]
    if px.shape[0] < 30:
        return None, 0
    return np.median(px, axis=0), int(px.shape[0])


def backdrop_zones(lab, mask, face: Face, span) -> dict[str, Any]:
    """Median Lab of the backdrop above the head and beside the face/neck, left and right."""
    h, w = lab.shape[:2]
    cx, ey = face.eye_mid
    half = (span[1][0] - span[0][0]) / 2 if span else face.iod * 1.2
    zones = {
        "top_left": _clip_box(4, 4, cx - half * 0.3, 40, lab.shape),
        "top_right": _clip_box(cx + half * 0.3, 4, w - 4, 40, lab.shape),
        "side_left": _clip_box(4, ey, cx - half - 8, ey + 1.6 * face.iod, lab.shape),
        "side_right": _clip_box(cx + half + 8, ey, w - 4, ey + 1.6 * face.iod, lab.shape),
    }
    return {name: _zone_stats(lab, mask, box)[0] for name, box in zones.items()}


def sharpness(gray, face: Face, iod_px: float) -> float:
    """Variance of the Laplacian over the eyes-to-mouth area, resampled to a fixed eye distance."""
    import cv2

    cx, ey = face.eye_mid
    iod = max(face.iod, 1.0)
    x0, y0, x1, y1 = _clip_box(cx - 0.9 * iod, ey - 0.4 * iod, cx + 0.9 * iod, ey + 1.2 * iod, gray.shape)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0.0
    f = iod_px / iod
    patch = cv2.resize(gray[y0:y1, x0:x1], (max(8, int((x1 - x0) * f)), max(8, int((y1 - y0) * f))),
                       interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    # normalised to a mid-grey face: a darker exposure alone must not read as blur
    mean = max(float(patch.mean()), 10.0)
    return float(cv2.Laplacian(patch, cv2.CV_32F).var()) * (150.0 / mean) ** 2


def face_pixels(gray, face: Face):
    """Luma of the face oval (forehead to chin, cheek to cheek)."""
    import cv2
    import numpy as np

    cx, ey = face.eye_mid
    iod = face.iod
    mask = np.zeros(gray.shape, np.uint8)
    cv2.ellipse(mask, (int(cx), int(ey + 0.45 * iod)), (int(0.85 * iod), int(1.15 * iod)), 0, 0, 360, 255, -1)
    return gray[mask > 0]


def cheek_balance(gray, face: Face, landmarks: Landmarks | None = None) -> tuple[float, float]:
    """Left/right cheek light: (relative difference of the medians, histogram intersection).

    With landmarks the zones are the cheeks themselves (mesh polygons under the eyes, beside the
    nose): long hair or a turned head cannot slip into them. The difference drives the check
    (阴阳脸 → large); the intersection (1 = identical histograms) is kept for the record.
    """
    import numpy as np

    zones = _cheek_zones_mesh(gray, landmarks) if landmarks is not None else _cheek_zones_box(gray, face)
    if zones is None:
        return 0.0, 1.0
    hists, medians = [], []
    for zone in zones:
        hist = np.bincount((zone // 32).astype(np.int64), minlength=8).astype(np.float64)
        hists.append(hist / hist.sum())
        medians.append(float(np.median(zone)))
    diff = abs(medians[0] - medians[1]) / max(max(medians), 1.0)
    return diff, float(np.minimum(hists[0], hists[1]).sum())


def _cheek_zones_mesh(gray, landmarks: Landmarks):
    import cv2
    import numpy as np

    from station.checks.landmarks import CHEEKS

    zones = []
    for side in ("left", "right"):
        poly = landmarks.mesh[list(CHEEKS[side])].astype(np.float32)
        x0, y0 = np.floor(poly.min(axis=0)).astype(int)
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = _clip_box(x0, y0, x1, y1, gray.shape)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return None
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round(poly - [x0, y0]).astype(np.int32)], 255)
        zone = gray[y0:y1, x0:x1][mask > 0]
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


def glare_share(bgr, face: Face, v_level: int, s_level: int) -> float:
    """Largest bright, colourless blob in either eye box, as a share of the box (catchlights are tiny)."""
    import cv2
    import numpy as np

    r = 0.38 * face.iod
    worst = 0.0
    for ex, ey in (face.eye_left, face.eye_right):
        x0, y0, x1, y1 = _clip_box(ex - r, ey - r * 0.8, ex + r, ey + r * 0.8, bgr.shape)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        hsv = cv2.cvtColor(bgr[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
        spots = ((hsv[:, :, 2] >= v_level) & (hsv[:, :, 1] <= s_level)).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(spots, connectivity=8)
        if n > 1:
            worst = max(worst, float(stats[1:, cv2.CC_STAT_AREA].max()) / spots.size)
    return worst


def measure(frame, faces: list[Face], landmarks: Landmarks | None, profile: Profile,
            expected_lab) -> Measurements:
    """Every measurement on an export frame whose main face is ``faces[0]`` (export coordinates)."""
    import cv2
    import numpy as np

    from station.checks.landmarks import precise_face

    result = Measurements(face_count=len(faces))
    if not faces:
        return result
    face = faces[0] if landmarks is None else precise_face(faces[0], landmarks)
    result.face, result.landmarks = face, landmarks
    lab = to_lab(frame)
    colour = backdrop_colour(lab)
    mask = backdrop_mask(lab, colour, profile)
    v = result.values
    if landmarks is not None:
        result.face_span = landmarks.cheek_span(profile.geometry.cheek_row_iod)
        centre = (result.face_centre_x or face.eye_mid[0], face.eye_mid[1])
        result.head_top = head_top(mask, centre, face.iod)
        if result.head_top == 0.0:
            result.head_top = None  # cut by the frame's top edge: not measurable
        v["eye_openness"] = min(landmarks.eye_openness("left"), landmarks.eye_openness("right"))
        v["mouth_openness"] = landmarks.mouth_openness()
    v["backdrop_lab"] = [round(float(c), 1) for c in colour]
    v["backdrop_delta_e"] = float(np.linalg.norm(colour - expected_lab))
    zones = {k: z for k, z in backdrop_zones(lab, mask, face, result.face_span).items() if z is not None}
    if len(zones) >= 2:
        meds = list(zones.values())
        v["backdrop_uniformity"] = max(float(np.linalg.norm(a - b)) for a in meds for b in meds)
    shadow = backdrop_shadow(lab, mask, result.face_width or face.iod / 0.42)
    if shadow is not None:
        v["backdrop_shadow"] = max(0.0, shadow)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    v["sharpness"] = sharpness(gray, face, profile.sharpness.iod_px)
    px = face_pixels(gray, face)
    if px.size:
        ex = profile.exposure
        v["over_share"] = float((px >= ex.over_level).mean())
        v["under_share"] = float((px <= ex.under_level).mean())
        v["face_mean"] = float(px.mean())
    v["lighting"], v["lighting_intersection"] = cheek_balance(gray, face, landmarks)
    v["glare"] = glare_share(frame, face, profile.glare.v_level, profile.glare.s_level)
    v.update(clothing(lab, colour, mask, face, result.face_span, profile))
    return result


def clothing(lab, colour, mask, face: Face, span, profile: Profile) -> dict[str, float]:
    """ΔE between the shoulders (bottom band, off-centre) and the backdrop; share that looks blue."""
    import numpy as np

    h, w = lab.shape[:2]
    fw = (span[1][0] - span[0][0]) if span else face.iod / 0.42
    cx = face.eye_mid[0]
    y0, y1 = int(h * 0.89), h - 6
    boxes = [_clip_box(cx - 1.05 * fw, y0, cx - 0.45 * fw, y1, lab.shape),
             _clip_box(cx + 0.45 * fw, y0, cx + 1.05 * fw, y1, lab.shape)]
    px = [lab[b[1]:b[3], b[0]:b[2]].reshape(-1, 3) for b in boxes if b[2] > b[0] and b[3] > b[1]]
    mk = [mask[b[1]:b[3], b[0]:b[2]].reshape(-1) for b in boxes if b[2] > b[0] and b[3] > b[1]]
    if not px:
        return {}
    allpx, allmask = np.concatenate(px), np.concatenate(mk)
    if allpx.shape[0] == 0:
        return {}
    return {"clothing_delta_e": float(np.linalg.norm(np.median(allpx, axis=0) - colour)),
            "clothing_blue_share": float(allmask.mean())}
