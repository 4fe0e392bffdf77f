"""Composite a cut-out person onto the CHSI backdrop with known geometry, and make defects of it.

Everything is a similarity transform of the source photograph (scale, rotation, shift) applied to
the photograph and its matte, so the truth in the frame follows exactly from the hand-annotated
source points: eye centres and cheek edges are mapped by the transform, the cheek width scales
with it, and the head top is read off the placed matte (the cut-out's top at the face's centre).
The backdrop is the reference blue lit like a real one (a radial falloff and a gentle side-to-side
and top-to-bottom gradient, in linear light) with signal-dependent sensor noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from bench.faces.sources import Source

BACKDROP_RGB = (100, 197, 255)
HEAD_TOP_HALF_IOD = 0.3   # head top: highest row where half the columns within ±0.3 IOD are person


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = x / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return 255.0 * np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)


@dataclass
class Person:
    """A source photograph, its matte and annotated points, ready to be placed."""

    source: Source
    bgr: np.ndarray
    alpha: np.ndarray

    @cached_property
    def eye_to_top(self) -> float:
        """Distance from the eye line up to the head top, source px, with the eyes levelled."""
        m = similarity(self.source, 1.0, 0.0, self.source.eye_mid)
        _, top = head_top_of(self.alpha, m, self.source, (self.bgr.shape[1] * 2, self.bgr.shape[0] * 2),
                             offset=(self.bgr.shape[1] // 2, self.bgr.shape[0] // 2))
        return self.source.eye_mid[1] - top if top is not None else float("nan")

    @property
    def touches_top(self) -> bool:
        """The cut-out reaches the photo's top edge above the face: the head top is not in it."""
        s = self.source
        half = int(max(4, 0.5 * s.iod))
        x = int(s.eye_mid[0])
        return bool((self.alpha[0, max(0, x - half):x + half] > 0.5).mean() > 0.2)


def similarity(src: Source, scale: float, roll_deg: float, target: tuple[float, float]) -> np.ndarray:
    """2×3 matrix source → frame: level the source's own eye tilt, then rotate by ``roll_deg``
    (positive: the image-right eye lower), scale, and put the eye midpoint on ``target``."""
    angle = math.radians(roll_deg - src.roll_deg)
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    lin = np.array([[c, -s], [s, c]])
    t = np.array(target) - lin @ np.array(src.eye_mid)
    return np.hstack([lin, t[:, None]])


def apply(m: np.ndarray, p) -> tuple[float, float]:
    return (float(m[0, 0] * p[0] + m[0, 1] * p[1] + m[0, 2]),
            float(m[1, 0] * p[0] + m[1, 1] * p[1] + m[1, 2]))


def warp_person(person: Person, m: np.ndarray, size: tuple[int, int],
                bgr: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The person's pixels (float32 BGR) and matte in a frame of ``size`` (w, h).

    Downscaling goes through an area resize first (no aliasing). Where the frame reaches past the
    photo's bottom or sides, the torso is continued with mirrored copies of the photo's own lower
    edge bands (clothes keep their texture; nothing above the shoulders is ever repeated).
    """
    import cv2

    img = person.bgr if bgr is None else bgr
    alpha = person.alpha
    s = person.source
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    m = m.astype(np.float64).copy()
    f = 1.0
    if scale < 0.8:
        h, w = img.shape[:2]
        nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (nw, nh), interpolation=cv2.INTER_AREA)
        f = nw / w
        m[:, 0] /= nw / w
        m[:, 1] /= nh / h
    chin_y = (s.chin[1] if s.chin else s.eye_mid[1] + 1.35 * s.iod) * f
    shoulders = int(min(img.shape[0] - 2, chin_y + 0.35 * s.iod * f))
    img, alpha, dx = _extend(img, alpha, m, size, shoulders)
    m[0, 2] -= m[0, 0] * dx
    m[1, 2] -= m[1, 0] * dx
    face = cv2.warpAffine(img, m, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT)
    a = cv2.warpAffine(alpha, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return face.astype(np.float32), np.clip(a, 0.0, 1.0)


def _mirror_tile(band: np.ndarray, n: int, axis: int) -> np.ndarray:
    """``n`` rows/columns continuing ``band`` outward: mirrored, then mirrored back, …"""
    parts, total, flip = [], 0, True
    while total < n:
        piece = np.flip(band, axis=axis) if flip else band
        parts.append(piece)
        total += band.shape[axis]
        flip = not flip
    out = np.concatenate(parts, axis=axis)
    return out.take(range(n), axis=axis)


def _extend(img: np.ndarray, alpha: np.ndarray, m: np.ndarray, size: tuple[int, int],
            shoulders: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Pad the photo where the frame needs it: sides below the shoulders, and the bottom."""
    h, w = img.shape[:2]
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    corners = inv @ np.array([[0, 0, 1], [size[0], 0, 1], [0, size[1], 1], [size[0], size[1], 1]], float).T
    cap = 3 * max(h, w)
    left = int(min(cap, max(0.0, -corners[0].min()) + 4))
    right = int(min(cap, max(0.0, corners[0].max() - w) + 4))
    bottom = int(min(cap, max(0.0, corners[1].max() - h) + 4))
    if not (left or right or bottom):
        return img, alpha, 0
    bw = max(4, w // 6)
    rows = slice(shoulders, h)

    def sides(x: np.ndarray) -> np.ndarray:
        out = np.zeros((h, w + left + right) + x.shape[2:], x.dtype)
        out[:, left:left + w] = x
        if left:
            out[rows, :left] = np.flip(_mirror_tile(np.flip(x[rows, :bw], axis=1), left, 1), axis=1)
        if right:
            out[rows, left + w:] = _mirror_tile(x[rows, w - bw:], right, 1)
        return out

    img2, a2 = sides(img), sides(alpha)
    if bottom:
        bh = max(4, min(h - shoulders, h // 5))
        img2 = np.concatenate([img2, _mirror_tile(img2[h - bh:], bottom, 0)], axis=0)
        a2 = np.concatenate([a2, _mirror_tile(a2[h - bh:], bottom, 0)], axis=0)
    return img2, a2, left


def head_top_of(alpha: np.ndarray, m: np.ndarray, src: Source, size: tuple[int, int],
                offset: tuple[int, int] = (0, 0), placed: np.ndarray | None = None
                ) -> tuple[np.ndarray, float | None]:
    """Head top row in the frame: highest row where half the central columns are person."""
    import cv2

    mm = m.copy()
    mm[:, 2] += offset
    a = placed if placed is not None else cv2.warpAffine(alpha, mm, size, flags=cv2.INTER_LINEAR)
    cx = float(np.mean([apply(mm, c)[0] for c in src.cheeks])) if src.cheeks else apply(mm, src.eye_mid)[0]
    iod = src.iod * math.sqrt(abs(np.linalg.det(m[:, :2])))
    half = max(2, int(round(HEAD_TOP_HALF_IOD * iod)))
    cols = a[:, max(0, int(cx) - half):int(cx) + half + 1]
    eye_y = int(apply(mm, src.eye_mid)[1])
    rows = np.flatnonzero((cols[:max(1, eye_y)] >= 0.5).mean(axis=1) >= 0.5)
    top = float(rows[0]) - offset[1] if rows.size else None
    return a, top


def backdrop(size: tuple[int, int], rng: np.random.Generator, rgb=BACKDROP_RGB,
             falloff: float | None = None) -> np.ndarray:
    """Linear-light backdrop (float32 BGR 0..1) with a realistic, gentle light falloff."""
    w, h = size
    v = float(rng.uniform(0.03, 0.09) if falloff is None else falloff)
    gx, gy = float(rng.uniform(-0.04, 0.04)), float(rng.uniform(0.0, 0.05))
    cx, cy = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.3, 0.5)
    ys = ((np.arange(h, dtype=np.float32) - cy) / max(w, h))[:, None]
    xs = ((np.arange(w, dtype=np.float32) - cx) / max(w, h))[None, :]
    light = (1.0 - v * 4 * (xs * xs + ys * ys)) * (1.0 + gx * xs * 2) * (1.0 - gy * (ys + 0.5))
    base = srgb_to_linear(np.array(rgb[::-1], np.float32))
    return light[:, :, None].astype(np.float32) * base[None, None, :].astype(np.float32)


_NOISE_TILE = 509   # a prime-sized tile of noise, wrapped over the frame: 24 MP in a second


def add_noise(img: np.ndarray, rng: np.random.Generator, level: float) -> np.ndarray:
    """Signal-dependent sensor noise (shot + read) on a BGR uint8 frame; ``level`` ≈ σ in grey
    levels at mid-grey. A tile of Gaussian noise (a luminance part shared by the channels and a
    per-channel part) is wrapped over the frame from a random offset; σ per pixel comes from a
    table of its value. All in OpenCV, so a 6000×4000 frame costs well under a second.
    """
    import cv2

    if level <= 0:
        return img
    h, w = img.shape[:2]
    n = _NOISE_TILE
    tile = rng.standard_normal((n, n, 1), dtype=np.float32) * 0.6 + \
        rng.standard_normal((n, n, 3), dtype=np.float32) * 0.8
    tile = np.clip(np.rint(tile * 64.0), -32000, 32000).astype(np.int16)   # fixed point, ×64
    oy, ox = (int(v) for v in rng.integers(0, n, 2))
    tile = np.roll(tile, (oy, ox), axis=(0, 1))
    noise = cv2.copyMakeBorder(tile, 0, max(0, h - n), 0, max(0, w - n), cv2.BORDER_WRAP)[:h, :w]
    table = np.clip(np.rint(level * np.sqrt(0.3 + np.arange(256) / 180.0) * 16), 0, 255).astype(np.uint8)
    sigma = cv2.LUT(img, table).astype(np.int16)                            # σ ×16
    scaled = cv2.multiply(noise, sigma, scale=1.0 / 1024.0, dtype=cv2.CV_16S)  # ×64 ×16 / 1024
    return cv2.add(img.astype(np.int16), scaled, dtype=cv2.CV_8U)


@dataclass
class Placed:
    person: Person
    m: np.ndarray
    recolour: tuple[int, int, int] | None = None   # RGB of a (blue) top replacing the clothes
    only_below_chin: bool = False                  # torso only: the head is left out


@dataclass
class Scene:
    size: tuple[int, int]
    people: list[Placed]                            # back to front; the last is the student
    seed: int = 0
    noise: float = 2.0
    falloff: float | None = None
    blur_sigma: float = 0.0
    exposure_ev: float = 0.0
    shadow: dict[str, Any] | None = None            # {"offset": (dx, dy), "sigma", "strength", "grow"}
    work_scale: float = 1.0                         # compose at 1/work_scale, then enlarge
    backdrop_rgb: tuple[int, int, int] = BACKDROP_RGB
    extras: dict[str, Any] = field(default_factory=dict)


def _clothes_mask(person: Person, bgr: np.ndarray) -> np.ndarray:
    """Clothes in the source: person pixels below the chin unlike the face's own skin (neck and
    hands stay skin; a red coat or a beige top is clothes)."""
    import cv2

    s = person.source
    chin_y = s.chin[1] if s.chin else s.eye_mid[1] + 1.35 * s.iod
    start = int(chin_y + 0.25 * s.iod)
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab).astype(np.float32)
    patches = []
    for ex, ey in s.eyes:   # cheeks just below each eye
        y0, y1 = int(ey + 0.3 * s.iod), int(ey + 0.55 * s.iod)
        x0, x1 = int(ex - 0.12 * s.iod), int(ex + 0.12 * s.iod)
        patches.append(lab[max(0, y0):y1, max(0, x0):x1].reshape(-1, 3))
    skin = np.concatenate(patches) if patches else lab.reshape(-1, 3)[:1]
    mask = np.zeros(bgr.shape[:2], np.float32)
    mask[start:] = 1.0
    floor = np.array([8.0, 4.0, 4.0], np.float32)
    # hair is not excluded: a hair model also swallows dark suits; long hair hanging below the
    # chin is dyed with the clothes (a known artefact of this family)
    for sample in (skin,):
        if len(sample) < 20:
            continue
        mean, std = sample.mean(axis=0), sample.std(axis=0) + floor
        z = np.sqrt((((lab - mean) / std) ** 2).sum(axis=2))
        mask[z < 3.0] = 0.0
    return cv2.GaussianBlur(mask, (0, 0), 1.0) * (person.alpha > 0.5)


def recoloured(person: Person, rgb: tuple[int, int, int]) -> np.ndarray:
    """The source with its clothes dyed ``rgb``, keeping folds and texture (luminance ratio)."""
    import cv2

    bgr = person.bgr
    mask = _clothes_mask(person, bgr)
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    sel = mask > 0.5
    ref = float(np.median(grey[sel])) if sel.any() else 128.0
    shade = np.clip(0.75 + 0.25 * grey / max(ref, 1.0), 0.6, 1.25)[:, :, None]
    dyed = np.array(rgb[::-1], np.float32)[None, None, :] * shade
    out = bgr.astype(np.float32) * (1 - mask[:, :, None]) + dyed * mask[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


_TO_LINEAR = srgb_to_linear(np.arange(256, dtype=np.float64)).astype(np.float32)
_TO_SRGB = linear_to_srgb(np.linspace(0.0, 1.0, 4096)).astype(np.float32)


def _lin(bgr: np.ndarray) -> np.ndarray:
    """sRGB (float 0..255) → linear light through a table (exact for 8-bit values)."""
    return _TO_LINEAR[np.clip(np.rint(bgr), 0, 255).astype(np.uint8)]


def _srgb(lin: np.ndarray) -> np.ndarray:
    return _TO_SRGB[np.clip(np.rint(lin * 4095.0), 0, 4095).astype(np.int32)]


def render(scene: Scene) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The frame (BGR uint8) and, per placed person (back to front), its truth.

    ``scene.work_scale`` > 1 composes at that fraction of the size and enlarges the result before
    the sensor noise (24 MP frames: the checks see them through a reduced decode anyway); the
    truth is always computed at full resolution.
    """
    import cv2

    rng = np.random.default_rng(scene.seed)
    w, h = scene.size
    r = float(scene.work_scale)
    size = (max(8, int(round(w / r))), max(8, int(round(h / r))))
    down = np.diag([size[0] / w, size[1] / h])
    canvas = backdrop(size, rng, scene.backdrop_rgb, scene.falloff)     # linear light
    layers = []
    for placed in scene.people:
        bgr = recoloured(placed.person, placed.recolour) if placed.recolour else None
        m = down @ placed.m
        face, a = warp_person(placed.person, m, size, bgr)
        if placed.only_below_chin:
            s = placed.person.source
            chin = s.chin if s.chin else (s.eye_mid[0], s.eye_mid[1] + 1.35 * s.iod)
            cut = apply(m, chin)[1] + 0.15 * s.iod * math.sqrt(abs(np.linalg.det(m[:, :2])))
            a[: max(0, int(cut))] = 0.0
        layers.append((placed, face, a))
    if scene.shadow:
        spec = dict(scene.shadow)
        spec["offset"] = tuple(v / r for v in spec["offset"])
        spec["sigma"] = spec["sigma"] / r
        if "centre" in spec:
            spec["centre"] = tuple(v / r for v in spec["centre"])
        _cast_shadow(canvas, [a for _, _, a in layers], spec)
    truths = []
    for placed, face, a in layers:
        canvas = canvas * (1 - a[:, :, None]) + _lin(face) * a[:, :, None]
        truths.append(_truth(placed, scene.size))
    if scene.exposure_ev:
        canvas = canvas * (2.0 ** scene.exposure_ev)
    srgb = _srgb(canvas)
    if scene.blur_sigma:
        srgb = cv2.GaussianBlur(srgb, (0, 0), scene.blur_sigma / r)
    img = np.clip(np.rint(srgb), 0, 255).astype(np.uint8)
    if size != (w, h):
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    return add_noise(img, rng, scene.noise), truths


def _cast_shadow(canvas: np.ndarray, alphas: list[np.ndarray], spec: dict[str, Any]) -> None:
    """Darken the backdrop where the people's shifted, grown and blurred silhouette falls."""
    import cv2

    h, w = canvas.shape[:2]
    union = np.maximum.reduce(alphas) if alphas else np.zeros((h, w), np.float32)
    dx, dy = spec["offset"]
    grow = float(spec.get("grow", 1.0))
    cx, cy = spec.get("centre", (w / 2, h / 2))
    m = np.array([[grow, 0, cx - grow * cx + dx], [0, grow, cy - grow * cy + dy]], np.float64)
    shade = cv2.warpAffine(union, m, (w, h), flags=cv2.INTER_LINEAR)
    sigma = float(spec["sigma"])
    if sigma > 0.3:
        k = max(1.0, sigma / 8.0)
        small = cv2.resize(shade, (max(1, int(w / k)), max(1, int(h / k))), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigma / k)
        shade = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    canvas *= (1.0 - float(spec["strength"]) * shade)[:, :, None]


def _truth(placed: Placed, size: tuple[int, int]) -> dict[str, Any]:
    s = placed.person.source
    m = placed.m
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    eyes = [apply(m, e) for e in s.eyes]
    cheeks = [apply(m, c) for c in s.cheeks]
    top = None if placed.only_below_chin else _head_top(placed.person, m)
    (lx, ly), (rx, ry) = eyes
    return {"source": s.name, "eye_left": list(eyes[0]), "eye_right": list(eyes[1]),
            "eye_mid": [(lx + rx) / 2, (ly + ry) / 2], "iod": math.dist(eyes[0], eyes[1]),
            "roll_deg": math.degrees(math.atan2(ry - ly, rx - lx)),
            "face_width": s.cheek_width * scale,
            "face_centre_x": (cheeks[0][0] + cheeks[1][0]) / 2,
            "cheeks": [list(c) for c in cheeks], "head_top_y": top, "scale": scale}


def _head_top(person: Person, m: np.ndarray) -> float | None:
    """Head top in frame rows, from the matte warped at full resolution over the central strip."""
    import cv2

    s = person.source
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    cx = float(np.mean([apply(m, c)[0] for c in s.cheeks]))
    eye_y = apply(m, s.eye_mid)[1]
    half = max(2, int(round(HEAD_TOP_HALF_IOD * s.iod * scale)))
    x0 = int(cx) - half
    y0 = int(eye_y - 4.0 * s.iod * scale)
    shifted = m.astype(np.float64).copy()
    shifted[:, 2] -= (x0, y0)
    strip = cv2.warpAffine(person.alpha, shifted, (2 * half + 1, int(eye_y) - y0), flags=cv2.INTER_LINEAR)
    rows = np.flatnonzero((strip >= 0.5).mean(axis=1) >= 0.5)
    return float(rows[0] + y0) if rows.size else None

