"""Synthetic portraits on a backdrop with known geometry, for tests, the sim camera and the demo.

The face is real: scikit-image's ``astronaut`` (NASA, public domain) is cut out once with GrabCut
and placed with an affine transform, so the true eye positions, head top, cheek width and roll of
every rendered frame are known exactly. Clothes, backdrop, shadow, blur, exposure, a second face
or no face at all are parameters, so each defect the checks look for can be produced on demand.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np

# Eye centres in the astronaut image (x, y), located by hand at 8× zoom.
_EYES = ((202.5, 101.0), (245.5, 103.5))
# Cheek edges (skin against ear / hair) half an eye distance below the eye line, on a line
# parallel to it, located by hand at 7× zoom: the face is 86.5 px wide there, while the cut-out's
# silhouette on the same row (ear and hair included) is 110 px.
_CHEEKS = ((182.0, 121.3), (268.5, 126.4))
_CROP = (0, 230, 120, 340)          # rows y0:y1, cols x0:x1 of the head and neck
_GRABCUT_RECT = (22, 8, 185, 215)   # x, y, w, h inside the crop
CHEEK_ROW_IOD = 0.5                 # as the profile: face width row below the eye line

DEFAULTS: dict[str, Any] = {
    "person": True,               # False: nobody in front of the camera (the empty backdrop)
    "face": True,                 # False: torso only, no head (an empty-looking chair)
    "face_width": None,           # silhouette px at cheek height (ears, hair included; the true
                                  # cheek width is ~0.79 of it); default 0.28 × min(h, w·4/3)
    "centre_x": None,             # x of the eye midpoint; default frame centre
    "eye_y": None,                # y of the eye midpoint; default so the export window is centred
    "roll": 0.0,                  # degrees, positive = the image-right eye lower
    "shirt": (45, 50, 60),        # RGB of the top
    "backdrop": (100, 197, 255),  # RGB of the backdrop (CHSI reference blue)
    "gradient": 0.0,              # backdrop lightness falloff left→right, 0..1
    "shadow": 0.0,                # strength (0..1) of a cast shadow on the backdrop beside the head
    "side_light": 0.0,            # 0..1 darkening of the face's image-left half (阴阳脸)
    "glare": False,               # bright reflections over both eyes (glasses glare)
    "blur": 0.0,                  # Gaussian sigma in px over the whole frame (defocus)
    "exposure": 1.0,              # gain on the whole frame (0.3 dark, 2.0 burnt)
    "second_face": False,         # another person beside the student
    "second_face_at": 1.75,       # ... this many face widths from the student's centre (1.75:
                                  # outside the export photo's window; 1.2: reaching into it)
    "hair": None,                 # "long": long dark hair falling beside the cheeks to the shoulders
    "eyes_closed": False,         # lids closed over both eyes
    "sunglasses": 0.0,            # share of the light dark lenses over the eyes pass (0: no glasses)
    "noise": 1.0,                 # sensor noise sigma in grey levels
    "seed": 0,
}


@cache
def _cutout() -> tuple[np.ndarray, np.ndarray]:
    """Head and neck of the astronaut (BGR float32) and a feathered alpha (float32 0..1)."""
    import cv2
    from skimage import data

    rgb = data.astronaut()
    y0, y1, x0, x1 = _CROP
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1, ::-1])
    mask = np.zeros(crop.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(1)
    cv2.grabCut(crop, mask, _GRABCUT_RECT, bgd, fgd, 5, cv2.GC_INIT_WITH_RECT)
    alpha: np.ndarray = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 1.0,
                                 0.0).astype(np.float32)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((alpha > 0).astype(np.uint8))
    if n > 1:  # keep the head only
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        alpha = (labels == biggest).astype(np.float32)
    outside = np.zeros((alpha.shape[0] + 2, alpha.shape[1] + 2), np.uint8)
    holes = (alpha == 0).astype(np.uint8)
    cv2.floodFill(holes, outside, (0, 0), 2)  # background reachable from the corner becomes 2
    alpha[holes == 1] = 1.0                    # what it cannot reach (eyes, teeth) is face
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.8)
    return crop.astype(np.float32), alpha


def _eyes_in_crop() -> tuple[tuple[float, float], tuple[float, float]]:
    y0, _, x0, _ = _CROP
    return tuple((x - x0, y - y0) for x, y in _EYES)  # type: ignore[return-value]


@cache
def _cutout_cheek_width() -> float:
    """Cheek width of the cut-out in its own (levelled) pixels, at the profile's cheek row."""
    import cv2

    _, alpha = _cutout()
    (lx, ly), (rx, ry) = _eyes_in_crop()
    angle = math.degrees(math.atan2(ry - ly, rx - lx))
    mid = ((lx + rx) / 2, (ly + ry) / 2)
    m = cv2.getRotationMatrix2D(mid, angle, 1.0)
    level = cv2.warpAffine(alpha, m, (alpha.shape[1], alpha.shape[0]))
    iod = math.dist((lx, ly), (rx, ry))
    row = level[int(round(mid[1] + CHEEK_ROW_IOD * iod))] > 0.5
    x = int(mid[0])
    left = np.flatnonzero(~row[:x])
    right = np.flatnonzero(~row[x:])
    return float((x + right[0]) - (left[-1] + 1))


def _head_matrix(scale: float, roll: float, eye_mid: tuple[float, float]) -> np.ndarray:
    """Affine crop → frame: level the cut-out's own tilt, rotate by ``roll``, scale, place."""
    import cv2

    (lx, ly), (rx, ry) = _eyes_in_crop()
    own = math.degrees(math.atan2(ry - ly, rx - lx))
    mid = ((lx + rx) / 2, (ly + ry) / 2)
    m = cv2.getRotationMatrix2D(mid, own - roll, scale)  # positive angle = counter-clockwise
    m[:, 2] += np.array(eye_mid) - np.array(mid)
    return m


def _paste(canvas: np.ndarray, m: np.ndarray, glare: bool = False) -> np.ndarray:
    """Alpha-blend the warped cut-out into ``canvas`` (float32 BGR); return the frame alpha."""
    import cv2

    head, alpha = _cutout()
    h, w = canvas.shape[:2]
    ch, cw = alpha.shape
    corners = np.array([[0, 0, 1], [cw, 0, 1], [0, ch, 1], [cw, ch, 1]], float) @ m.T
    x0, y0 = max(0, int(corners[:, 0].min()) - 2), max(0, int(corners[:, 1].min()) - 2)
    x1, y1 = min(w, int(corners[:, 0].max()) + 3), min(h, int(corners[:, 1].max()) + 3)
    full_alpha = np.zeros((h, w), np.float32)
    if x1 <= x0 or y1 <= y0:
        return full_alpha
    mm = m.copy()
    mm[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    face = cv2.warpAffine(head, mm, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    a = cv2.warpAffine(alpha, mm, size, flags=cv2.INTER_LINEAR)[:, :, None]
    if glare:
        for ex, ey in _eyes_in_crop():
            px, py = mm @ np.array([ex, ey, 1.0])
            r = int(max(2, 0.14 * 43 * math.sqrt(abs(np.linalg.det(mm[:, :2])))))
            cv2.ellipse(face, (int(px), int(py - r * 0.2)), (r, int(r * 0.7)), 0, 0, 360,
                        (250, 252, 252), -1)
    roi = canvas[y0:y1, x0:x1]
    roi[:] = roi * (1.0 - a) + face * a
    full_alpha[y0:y1, x0:x1] = a[:, :, 0]
    return full_alpha


def _torso(canvas: np.ndarray, cx: float, neck_y: float, fw: float, colour) -> None:
    import cv2

    h = canvas.shape[0]
    top = neck_y - 0.05 * fw
    pts = np.array([
        (cx - 0.32 * fw, top), (cx + 0.32 * fw, top),
        (cx + 0.9 * fw, top + 0.25 * fw), (cx + 1.45 * fw, top + 0.55 * fw),
        (cx + 1.65 * fw, h + 10), (cx - 1.65 * fw, h + 10),
        (cx - 1.45 * fw, top + 0.55 * fw), (cx - 0.9 * fw, top + 0.25 * fw),
    ], np.int32)
    cv2.fillPoly(canvas, [pts], tuple(float(c) for c in colour[::-1]), lineType=cv2.LINE_AA)


@cache
def _noise(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((h, w, 3)).astype(np.float32)


def render(width: int = 1024, height: int = 680, **params: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """A BGR uint8 portrait of ``width``×``height`` and the truth about it (frame coordinates)."""
    import cv2

    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown portrait parameters: {', '.join(sorted(unknown))}")
    p = {**DEFAULTS, **params}
    fw = float(p["face_width"] or 0.28 * min(height, width * 4 / 3))
    scale = fw / _cutout_cheek_width()
    cx = float(p["centre_x"] if p["centre_x"] is not None else width / 2)
    eye_y = float(p["eye_y"] if p["eye_y"] is not None else height / 2 - 0.316 * fw)
    roll = float(p["roll"])

    canvas = np.empty((height, width, 3), np.float32)
    canvas[:] = np.array(p["backdrop"][::-1], np.float32)
    if p["gradient"]:
        ramp = np.linspace(1.0, 1.0 - float(p["gradient"]), width, dtype=np.float32)
        canvas *= ramp[None, :, None]
    if p["shadow"]:
        _shadow(canvas, cx + 0.95 * fw, eye_y + 0.25 * fw, fw, float(p["shadow"]))
    iod_crop = math.dist(*_eyes_in_crop())
    neck_y = eye_y + (_CROP[1] - 40 - _eyes_in_crop()[0][1]) * scale
    truth: dict[str, Any] = {"faces": 0, "shirt_rgb": list(p["shirt"]), "backdrop_rgb": list(p["backdrop"])}
    if p["person"]:
        _torso(canvas, cx, neck_y, fw, p["shirt"])
    if p["second_face"]:
        at = float(p["second_face_at"]) * fw
        other = (cx + at if cx < width / 2 else cx - at, eye_y + 0.1 * fw)
        _paste(canvas, _head_matrix(scale * 0.85, 0.0, other))
        truth["faces"] += 1
        truth["second_eye_mid"] = list(other)
    if p["face"] and p["person"]:
        m = _head_matrix(scale, roll, (cx, eye_y))
        alpha = _paste(canvas, m, glare=bool(p["glare"]))
        if p["side_light"]:
            shade = np.ones(width, np.float32)
            shade[: int(cx)] = 1.0 - float(p["side_light"])
            canvas *= (1.0 - alpha[:, :, None] * (1.0 - shade[None, :, None]))
        truth["faces"] += 1
        truth.update(_truth_geometry(m, alpha, scale, iod_crop, roll))
        if p["eyes_closed"]:
            _close_eyes(canvas, truth["eye_left"], truth["eye_right"])
        if p["sunglasses"]:
            sunglasses(canvas, truth["eye_left"], truth["eye_right"], float(p["sunglasses"]))
        truth["eyes_open"] = not p["eyes_closed"]
        if p["hair"] == "long":
            _long_hair(canvas, alpha, truth, int(p["seed"]))
            truth["hair"] = "long"
    if p["exposure"] != 1.0:
        canvas *= float(p["exposure"])
    if p["noise"]:
        canvas += _noise(height, width, int(p["seed"])) * float(p["noise"])
    img: np.ndarray = np.clip(canvas, 0, 255).astype(np.uint8)
    if p["blur"]:
        img = cv2.GaussianBlur(img, (0, 0), float(p["blur"]))
    return img, truth


# Long hair, in face widths from the eye midpoint (x right, y down), image-left lock; the right
# lock is its mirror. The inner edge follows the cheek (±0.5 face width) without covering it, so
# cheek-to-cheek stays the face while the head's silhouette at cheek height gets ~60 % wider.
_HAIR_LOCK = ((-0.40, -0.62), (-0.56, -0.50), (-0.72, -0.10), (-0.80, 0.45), (-0.84, 1.10),
              (-0.62, 1.22), (-0.53, 0.80), (-0.505, 0.40), (-0.50, 0.05), (-0.46, -0.30))


def _long_hair(canvas: np.ndarray, head_alpha: np.ndarray, truth: dict[str, Any], seed: int) -> None:
    """Strands of the head's own hair colour beside both cheeks, down past the shoulders."""
    import cv2

    h, w = canvas.shape[:2]
    fw = float(truth["face_width"])
    cx, cy = truth["eye_mid"]
    a = math.radians(float(truth["roll_deg"]))
    c, s = math.cos(a), math.sin(a)
    mask: np.ndarray = np.zeros((h, w), np.float32)
    for side in (-1.0, 1.0):
        pts = []
        for x, y in _HAIR_LOCK:
            x, y = side * x * fw, y * fw
            pts.append((cx + c * x - s * y, cy + s * x + c * y))
        cv2.fillPoly(mask, [np.array(pts, np.int32)], 1.0, lineType=cv2.LINE_AA)
    # the face stays uncovered: no hair where the head cut-out is inside the cheek line
    face = np.zeros((h, w), np.float32)
    cv2.ellipse(face, (int(cx), int(cy + 0.12 * fw)), (int(0.5 * fw), int(0.78 * fw)), truth["roll_deg"],
                0, 360, 1.0, -1)
    mask *= 1.0 - face * (head_alpha > 0.5)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.6, fw / 260))
    rng = np.random.default_rng(seed + 17)
    strands: np.ndarray = rng.standard_normal((h, w)).astype(np.float32)
    strands = cv2.GaussianBlur(strands, (0, 0), sigmaX=max(0.7, fw / 300), sigmaY=max(4.0, fw / 6))
    shade = np.clip(1.0 + 0.22 * strands / (strands.std() + 1e-6), 0.6, 1.4)[:, :, None]
    top = int(truth["head_top_y"] or cy - 0.6 * fw)
    own = canvas[top + int(0.04 * fw):top + int(0.14 * fw), int(cx - 0.2 * fw):int(cx + 0.2 * fw)]
    colour = np.median(own.reshape(-1, 3), axis=0) * 0.8 if own.size else np.array((30, 40, 60), np.float32)
    hair = colour.astype(np.float32)[None, None, :] * shade   # the head's own hair colour
    canvas[:] = canvas * (1.0 - mask[:, :, None]) + hair * mask[:, :, None]


def _close_eyes(canvas: np.ndarray, left: list[float], right: list[float]) -> None:
    """Lids over both eyes: skin from below the eye, shaded towards the brow, a crease, and the
    lash line low and curved as on a closed eye."""
    import cv2

    iod = math.dist(left, right)
    angle = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
    h, w = canvas.shape[:2]
    for ex, ey in (left, right):
        below = canvas[int(ey + 0.22 * iod):int(ey + 0.3 * iod) + 1,
                       int(ex - 0.08 * iod):int(ex + 0.08 * iod) + 1]
        skin = below.reshape(-1, 3).mean(axis=0) if below.size else np.array((120, 140, 180), np.float32)
        lid: np.ndarray = np.zeros((h, w), np.float32)
        cv2.ellipse(lid, (int(ex), int(ey)), (max(2, int(0.28 * iod)), max(1, int(0.15 * iod))), angle,
                    0, 360, 1.0, -1, lineType=cv2.LINE_AA)
        lid = cv2.GaussianBlur(lid, (0, 0), max(0.8, 0.025 * iod))
        rows = (np.arange(h, dtype=np.float32)[:, None] - ey) / (0.15 * iod)
        tone = np.clip(1.0 - 0.25 * (1.0 - np.clip(rows, -1.0, 1.0)) / 2.0, 0.6, 1.0)
        canvas[:] = canvas * (1.0 - lid[:, :, None]) + skin[None, None, :] * tone[:, :, None] * lid[:, :, None]
        for y, ry, thick, colour in ((ey, 0.04, 0.035, (35.0, 40.0, 55.0)),       # lashes
                                     (ey - 0.14 * iod, 0.06, 0.012, tuple(skin * 0.75))):  # crease
            line: np.ndarray = np.zeros((h, w), np.float32)
            cv2.ellipse(line, (int(ex), int(y)), (max(2, int(0.23 * iod)), max(1, int(ry * iod))), angle,
                        0, 180, 1.0, max(1, int(round(thick * iod))), lineType=cv2.LINE_AA)
            line = cv2.GaussianBlur(line, (0, 0), 0.7)
            canvas[:] = canvas * (1.0 - line[:, :, None]) + np.array(colour, np.float32)[None, None, :] * line[:, :, None]


def sunglasses(canvas: np.ndarray, left, right, passes: float) -> None:
    """Dark lenses (0.8 × 0.54 eye distances) over the eyes at ``left`` and ``right`` passing
    ``passes`` of the light, on a float BGR ``canvas`` in place (also the bench's tinted lenses
    over real faces)."""
    import cv2

    iod = math.dist(left, right)
    drawn = np.zeros(canvas.shape[:2], np.float32)
    for x, y in (left, right):
        cv2.ellipse(drawn, (round(x), round(y + 0.03 * iod)), (round(0.4 * iod), round(0.27 * iod)),
                    0, 0, 360, 1.0, -1)
    lens = cv2.GaussianBlur(drawn, (0, 0), max(1.0, 0.01 * iod))[:, :, None]
    # a filter scales light, not sRGB values: about 2.2 between the two
    canvas *= (1.0 - lens * (1.0 - passes)) ** (1 / 2.2)


def _shadow(canvas: np.ndarray, x: float, y: float, fw: float, strength: float) -> None:
    """A soft dark blob on the backdrop, as a person close to the backdrop casts."""
    import cv2

    h, w = canvas.shape[:2]
    small = np.zeros((max(8, h // 8), max(8, w // 8)), np.float32)
    cv2.ellipse(small, (int(x / 8), int(y / 8)), (max(1, int(0.9 * fw / 8)), max(1, int(1.6 * fw / 8))),
                0, 0, 360, 1.0, -1)
    small = cv2.GaussianBlur(small, (0, 0), max(1.0, 0.25 * fw / 8))
    blob = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    canvas *= (1.0 - strength * blob)[:, :, None]


def _truth_geometry(m: np.ndarray, alpha: np.ndarray, scale: float, iod_crop: float,
                    roll: float) -> dict[str, Any]:
    left, right = ((m @ np.array([x, y, 1.0])).tolist() for x, y in _eyes_in_crop())
    mid = ((left[0] + right[0]) / 2, (left[1] + right[1]) / 2)
    iod = iod_crop * scale
    half = max(2, int(iod * 0.45))
    cols = alpha[:, max(0, int(mid[0]) - half):int(mid[0]) + half]
    rows = np.flatnonzero((cols > 0.5).mean(axis=1) > 0.6)
    head_top = float(rows[0]) if rows.size else None
    cheeks = [(m @ np.array([x - _CROP[2], y - _CROP[0], 1.0])).tolist() for x, y in _CHEEKS]
    return {"eye_left": left, "eye_right": right, "eye_mid": list(mid), "iod": iod,
            "head_top_y": head_top, "face_width": _cutout_cheek_width() * scale, "roll_deg": roll,
            "cheek_width": math.dist(*_CHEEKS) * scale, "cheek_left": cheeks[0],
            "cheek_right": cheeks[1], "face_centre_x": (cheeks[0][0] + cheeks[1][0]) / 2}
