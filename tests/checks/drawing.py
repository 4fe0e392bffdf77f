"""Defects drawn onto rendered portraits: hair beside the cheeks, closed eyes, an open mouth.

The renderer places scikit-image's astronaut with a similarity transform and returns where her
eyes land; any other point located by hand in the astronaut image maps the same way. The truth
below was read off the astronaut image at 8–10× zoom (levelled on the eyes for the cheek row).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

ASTRO_EYES = ((202.5, 101.0), (245.5, 103.5))     # as station.sim.portrait
# Cheek edges (skin against ear / hair) on the cheek row, half an eye distance below the eyes.
ASTRO_CHEEKS = ((181.8, 121.4), (268.2, 126.4))
ASTRO_MOUTH = {"centre": (223.0, 146.0), "corners": ((203.0, 140.0), (243.0, 141.0))}


def to_frame(truth: dict, points) -> np.ndarray:
    """Astronaut-image points in a rendered frame, through the eyes' similarity transform."""
    src = np.array(ASTRO_EYES, np.float64)
    dst = np.array([truth["eye_left"], truth["eye_right"]], np.float64)
    a = complex(*(src[1] - src[0]))
    b = complex(*(dst[1] - dst[0]))
    k = b / a  # rotation and scale as one complex factor
    out = []
    for x, y in points:
        z = complex(x - src[0][0], y - src[0][1]) * k
        out.append((dst[0][0] + z.real, dst[0][1] + z.imag))
    return np.array(out)


def true_cheeks(truth: dict) -> np.ndarray:
    return to_frame(truth, ASTRO_CHEEKS)


def true_cheek_width(truth: dict) -> float:
    (ax, ay), (bx, by) = true_cheeks(truth)
    return math.hypot(bx - ax, by - ay)


def add_hair(img: np.ndarray, truth: dict, sides: str = "both", reach: float = 0.55,
             seed: int = 0) -> np.ndarray:
    """Long dark hair falling beside the cheeks, touching them, from the temples to the shoulders.

    ``reach``: how far out the hair spreads, in eye distances; ``sides``: "left", "right" or
    "both" (image sides). Strands are drawn as many thin curves so it looks like hair, not a slab.
    """
    out = img.copy()
    rng = np.random.default_rng(seed)
    iod = truth["iod"]
    cheeks = true_cheeks(truth)
    eye_y = truth["eye_mid"][1]
    for side, (cx, _) in zip(("left", "right"), cheeks, strict=True):
        if sides not in (side, "both"):
            continue
        sign = -1 if side == "left" else 1
        inner = cx + sign * 0.02 * iod         # the hair touches the cheek
        outer = cx + sign * reach * iod
        top, bottom = eye_y - 1.1 * iod, eye_y + 2.6 * iod
        poly = np.array([(inner + sign * 0.25 * iod, top), (outer, top + 0.3 * iod),
                         (outer + sign * 0.1 * iod, bottom), (inner, bottom),
                         (inner, eye_y + 0.2 * iod)], np.int32)
        cv2.fillPoly(out, [poly], (22, 28, 38), lineType=cv2.LINE_AA)
        for _ in range(60):  # lighter strands over the dark mass
            x = rng.uniform(min(inner, outer), max(inner, outer))
            pts = np.array([(x + rng.normal(0, 2), y) for y in np.linspace(top + 0.3 * iod, bottom, 12)],
                           np.int32)
            shade = int(rng.integers(35, 70))
            cv2.polylines(out, [pts], False, (shade - 10, shade, shade + 12), 1, cv2.LINE_AA)
    return out


def hair_colour(img: np.ndarray, truth: dict) -> tuple[float, float, float]:
    """The head's own hair colour: the median of a patch just below the head top, over the eyes."""
    iod = truth["iod"]
    cx = truth["eye_mid"][0]
    top = int(truth["head_top_y"])
    patch = img[top + int(0.1 * iod):top + int(0.3 * iod), int(cx - 0.4 * iod):int(cx + 0.4 * iod)]
    return tuple(float(c) for c in np.median(patch.reshape(-1, 3), axis=0))  # type: ignore[return-value]


def add_hair_over_cheek(img: np.ndarray, truth: dict, side: str, cover: float,
                        colour: tuple[float, float, float] | None = None, seed: int = 0) -> np.ndarray:
    """A side-swept lock from the crown over one cheek to the shoulder (a fringe or bob as East
    Asian graduates often wear it): it hides the outer ``cover`` eye distances of that cheek at
    the cheek row, and the cheek's edge with it. ``colour`` (BGR): the head's own hair's if None."""
    out = img.copy()
    rng = np.random.default_rng(seed)
    iod = truth["iod"]
    (lx, _), (rx, _) = true_cheeks(truth)
    ex, eye_y = truth["eye_mid"]
    sign = -1 if side == "left" else 1
    edge = lx if side == "left" else rx
    inner = edge - sign * cover * iod          # the lock's inner edge, inside the face
    outer = edge + sign * 0.5 * iod
    top, bottom = truth["head_top_y"] + 0.15 * iod, eye_y + 2.6 * iod
    poly = np.array([(ex + sign * 0.15 * iod, top), (outer, top + 0.4 * iod),
                     (outer + sign * 0.1 * iod, bottom), (inner, bottom),
                     (inner, eye_y + 0.1 * iod), (inner + sign * 0.1 * iod, eye_y - 0.35 * iod)],
                    np.int32)
    base = np.array(colour if colour is not None else hair_colour(img, truth))
    cv2.fillPoly(out, [poly], tuple(float(c) for c in base * 0.9), lineType=cv2.LINE_AA)
    for _ in range(80):  # strands, darker and lighter than the mass, following the sweep
        x = rng.uniform(min(inner, outer), max(inner, outer))
        ys = np.linspace(top + 0.3 * iod, bottom, 14)
        pts = np.array([(x + sign * 0.25 * iod * max(0.0, 1 - (y - top) / (1.2 * iod)) + rng.normal(0, 1.5), y)
                        for y in ys], np.int32)
        shade = tuple(float(c) for c in np.clip(base * rng.uniform(0.6, 1.25) + 4, 0, 255))
        cv2.polylines(out, [pts], False, shade, 1, cv2.LINE_AA)
    return out


def close_eyes(img: np.ndarray, truth: dict) -> np.ndarray:
    """Both eyes shut: each eye painted over with the skin just below it, and a lash line."""
    out = img.copy()
    iod = truth["iod"]
    for ex, ey in (truth["eye_left"], truth["eye_right"]):
        skin = img[int(ey + 0.32 * iod):int(ey + 0.42 * iod), int(ex - 0.1 * iod):int(ex + 0.1 * iod)]
        colour = tuple(float(c) for c in np.median(skin.reshape(-1, 3), axis=0))
        axes = (int(0.3 * iod), int(0.16 * iod))
        cv2.ellipse(out, (int(ex), int(ey)), axes, 0, 0, 360, colour, -1, cv2.LINE_AA)
        cv2.ellipse(out, (int(ex), int(ey - 0.02 * iod)), (int(0.26 * iod), int(0.06 * iod)), 0, 20, 160,
                    (40, 40, 50), max(1, int(0.03 * iod)), cv2.LINE_AA)
    return cv2.GaussianBlur(out, (3, 3), 0)


def open_mouth(img: np.ndarray, truth: dict) -> np.ndarray:
    """The mouth wide open: a dark oral cavity between the lips, as tall as 0.45 mouth widths."""
    out = img.copy()
    (cx, cy), = to_frame(truth, [ASTRO_MOUTH["centre"]])
    a, b = to_frame(truth, ASTRO_MOUTH["corners"])
    width = math.dist(a, b)
    cv2.ellipse(out, (int(cx), int(cy + 0.12 * width)), (int(0.42 * width), int(0.26 * width)), 0, 0, 360,
                (40, 30, 90), -1, cv2.LINE_AA)
    cv2.ellipse(out, (int(cx), int(cy + 0.14 * width)), (int(0.36 * width), int(0.2 * width)), 0, 0, 360,
                (25, 15, 45), -1, cv2.LINE_AA)
    return cv2.GaussianBlur(out, (3, 3), 0)



def drop_shoulder(img: np.ndarray, truth: dict, empty: np.ndarray, side: str,
                  narrow: float = 0.6) -> np.ndarray:
    """An asymmetric pose: the ``side`` shoulder falls steeply from the neck out of the frame and
    the other is narrow (the student turned and leaning), so the shoulder band's zone on the
    dropped side is empty backdrop and part of the other zone too: most of the band is backdrop.
    ``empty``: the same render without a person (the backdrop with the same light and noise),
    which shows where the new outline leaves the torso; the outline is soft, like a real edge.
    """
    cx, ey = truth["eye_mid"]
    fw = truth["face_width"]
    shirt = np.array(truth["shirt_rgb"][::-1], np.float32)
    torso = np.abs(img.astype(np.float32) - shirt).max(axis=2) < 20
    torso[: int(ey + 0.5 * fw)] = False  # below the chin only: dark hair is not the shirt
    rows = np.flatnonzero(torso.any(axis=1))
    if rows.size == 0:
        raise ValueError("no torso of the shirt's colour in this render")
    top, h = float(rows[0]), img.shape[0]
    s = -1.0 if side == "left" else 1.0
    pts = np.array([(cx + s * 0.3 * fw, top), (cx + s * 0.6 * fw, h + 10),             # dropped
                    (cx - s * narrow * fw, h + 10), (cx - s * narrow * fw, top + 0.35 * fw),
                    (cx - s * 0.45 * fw, top + 0.1 * fw), (cx - s * 0.3 * fw, top)], np.int32)
    keep = np.zeros(torso.shape, np.uint8)
    cv2.fillPoly(keep, [pts], 255, lineType=cv2.LINE_AA)
    k = cv2.GaussianBlur(keep.astype(np.float32) / 255, (0, 0), 1.5)[:, :, None]
    t = torso[:, :, None].astype(np.float32)
    out = img.astype(np.float32) * (1 - t * (1 - k)) + empty.astype(np.float32) * t * (1 - k)
    return np.clip(out, 0, 255).astype(np.uint8)



def vignette(img: np.ndarray, corner_ev: float) -> np.ndarray:
    """``img`` lit less toward its corners, to ``corner_ev`` there (1 / (1 + k r²) in linear
    light, as a lens at a wide aperture or one background light aimed at the centre gives)."""
    h, w = img.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((x - (w - 1) / 2) ** 2 + (y - (h - 1) / 2) ** 2) / (((w - 1) / 2) ** 2 + ((h - 1) / 2) ** 2)
    gain = 1.0 / (1.0 + (2.0 ** corner_ev - 1.0) * r2)
    srgb = img.astype(np.float32) / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4) * gain[:, :, None]
    back = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)
    out: np.ndarray = np.clip(back * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def exposed(img: np.ndarray, ev: float) -> np.ndarray:
    """``img`` with the whole scene ``ev`` brighter (negative: darker), in linear light and
    clipped as a sensor clips: a camera metering the same scene differently."""
    srgb = img.astype(np.float32) / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4) * 2.0 ** ev
    linear = np.clip(linear, 0.0, 1.0)
    back = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)
    out: np.ndarray = np.clip(back * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out
