"""Where the simulated camera's pictures come from: a pluggable source of portraits that move.

A source is any callable ``source(width, height, t) -> (bgr, truth)``. The default renders one
portrait with ``station.sim.portrait.render`` (a simple drawn head on the blue backdrop if the
renderer fails at run time) and then moves it a little over time — a slow sway and a small
bob, as a person standing in front of the camera does — by translating the picture, which is
cheap enough for 25 fps. The known geometry in ``truth`` moves with it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

FrameSource = Callable[[int, int, float], tuple[Any, dict]]

BLUE_BGR = (219, 142, 67)  # the CHSI backdrop blue, RGB(67, 142, 219)


def drawn_portrait(width: int, height: int) -> tuple[Any, dict]:
    """A plain head-and-shoulders figure on blue: enough for framing guides and the demo."""
    import cv2
    import numpy as np

    img = np.empty((height, width, 3), np.uint8)
    img[:] = BLUE_BGR
    cx = width // 2
    head_w, head_h = int(width * 0.19), int(height * 0.17)
    cy = int(height * 0.40)
    skin, hair, cloth = (150, 180, 225), (30, 25, 25), (40, 40, 40)
    cv2.ellipse(img, (cx, int(height * 0.98)), (int(width * 0.42), int(height * 0.28)), 0, 180, 360, cloth, -1)
    cv2.rectangle(img, (cx - head_w // 3, cy + head_h - 10), (cx + head_w // 3, int(height * 0.74)), skin, -1)
    cv2.ellipse(img, (cx, cy), (head_w, head_h), 0, 0, 360, skin, -1)
    cv2.ellipse(img, (cx, cy - head_h // 3), (head_w + 4, int(head_h * 0.75)), 0, 180, 360, hair, -1)
    eye_y = cy - head_h // 10
    eye_dx = int(head_w * 0.42)
    for ex in (cx - eye_dx, cx + eye_dx):
        cv2.ellipse(img, (ex, eye_y), (max(2, head_w // 7), max(2, head_h // 14)), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(img, (ex, eye_y), max(1, head_w // 14), (40, 30, 20), -1)
    cv2.ellipse(img, (cx, cy + head_h // 2), (head_w // 3, max(2, head_h // 12)), 0, 0, 180, (90, 90, 170), 2)
    truth = {
        "face_count": 1,
        "eye_left": [cx - eye_dx, eye_y],
        "eye_right": [cx + eye_dx, eye_y],
        "face_box": [cx - head_w, cy - head_h, 2 * head_w, 2 * head_h],
        "head_top_y": cy - head_h - int(head_h * 0.1),
        "source": "drawn",
    }
    return img, truth


def _render_base(width: int, height: int) -> tuple[Any, dict]:
    from station.sim.portrait import render

    try:
        bgr, truth = render(width, height)
    except Exception as exc:  # a broken renderer must not stop the camera: fall back
        log.warning("station.sim.portrait.render failed (%s); using the drawn portrait", exc)
        return drawn_portrait(width, height)
    return bgr, dict(truth, source="station.sim.portrait")


def _shift_truth(truth: dict, dx: float, dy: float) -> dict:
    """Move the known geometry with the picture: points [x, y], boxes [x, y, w, h], *_x / *_y."""
    out: dict = {}
    for key, value in truth.items():
        if isinstance(value, list | tuple) and len(value) in (2, 4) and all(
                isinstance(v, int | float) for v in value):
            moved = [value[0] + dx, value[1] + dy, *value[2:]]
            out[key] = [round(v, 2) for v in moved]
        elif isinstance(value, int | float) and not isinstance(value, bool) and key.endswith("_y"):
            out[key] = round(value + dy, 2)
        elif isinstance(value, int | float) and not isinstance(value, bool) and key.endswith("_x"):
            out[key] = round(value + dx, 2)
        else:
            out[key] = value
    return out


class SwayingPortrait:
    """The default frame source: one rendered portrait per size, swaying a few pixels."""

    def __init__(self, base: Callable[[int, int], tuple[Any, dict]] | None = None,
                 amplitude: float = 0.012, period_s: float = 3.7) -> None:
        self._base = base or _render_base
        self._cache: dict[tuple[int, int], tuple[Any, dict]] = {}
        self.amplitude = amplitude
        self.period_s = period_s

    def offset(self, width: int, t: float) -> tuple[float, float]:
        phase = 2 * math.pi * t / self.period_s
        return (self.amplitude * width * math.sin(phase),
                0.5 * self.amplitude * width * math.sin(2.3 * phase + 0.7))

    def __call__(self, width: int, height: int, t: float) -> tuple[Any, dict]:
        import cv2
        import numpy as np

        key = (width, height)
        if key not in self._cache:
            self._cache[key] = self._base(width, height)
        img, truth = self._cache[key]
        dx, dy = self.offset(width, t)
        matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        moved = cv2.warpAffine(img, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
        return moved, dict(_shift_truth(truth, dx, dy), offset=[round(dx, 2), round(dy, 2)])


def empty_backdrop(width: int, height: int) -> tuple[Any, dict]:
    """Nobody in the chair: the backdrop alone, lit and noisy like the portraits (for calibration)."""
    from station.sim.portrait import render

    return render(width, height, person=False)


def frame_source(scene: str) -> FrameSource:
    """The simulated camera's subject for a ``camera.sim_scene`` setting."""
    if scene == "empty":
        return SwayingPortrait(empty_backdrop, amplitude=0.0)
    return SwayingPortrait()
