"""Other ways of making the same cases: the evaluation again under a tester's choices, not ours.

The bench composites people with its own soft matte, its own sensor noise and JPEG quality, on
a perfectly white-balanced backdrop. A checker can come to depend on those choices without
anyone noticing (the first checker was tuned on its own rendered face). ``--conditions NAME``
builds every case again with one of them changed, so the figures can be compared with the
default run's:

- ``hard-matte``: the cut-out's edge binary (a plain mask, as a quick compositor makes it);
- ``jpeg75``: captures and exports saved at quality 75 instead of 90–92;
- ``noisy``: sensor noise of at least 6 grey levels (a high ISO in a dim hall);
- ``warm`` / ``cool``: the whole frame's white balance off by 8 % (red up and blue down, or the
  reverse), as an uncalibrated camera gives it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Conditions:
    name: str = "default"
    hard_matte: bool = False
    jpeg_quality: int | None = None            # None: each case's own
    noise_floor: float = 0.0                   # grey levels of sensor noise at least
    gains: tuple[float, float, float] | None = None  # B, G, R multipliers on the finished frame

    def matte(self, alpha: np.ndarray) -> np.ndarray:
        """The cut-out's alpha as these conditions make it."""
        if not self.hard_matte:
            return alpha
        return (alpha >= 0.5).astype(alpha.dtype)

    def noise(self, level: float) -> float:
        return max(level, self.noise_floor)

    def quality(self, quality: int) -> int:
        return quality if self.jpeg_quality is None else self.jpeg_quality

    def finish(self, bgr: np.ndarray) -> np.ndarray:
        """The rendered frame as the camera would hand it over (its white balance)."""
        if self.gains is None:
            return bgr
        gains = np.array(self.gains, np.float32)
        out: np.ndarray = np.clip(bgr.astype(np.float32) * gains, 0, 255).round().astype(np.uint8)
        return out


CONDITIONS: dict[str, Conditions] = {c.name: c for c in (
    Conditions(),
    Conditions("hard-matte", hard_matte=True),
    Conditions("jpeg75", jpeg_quality=75),
    Conditions("noisy", noise_floor=6.0),
    Conditions("warm", gains=(0.92, 1.0, 1.08)),
    Conditions("cool", gains=(1.08, 1.0, 0.92)),
)}
DEFAULT = CONDITIONS["default"]
