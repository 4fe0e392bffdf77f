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
  reverse), as an uncalibrated camera gives it;
- ``vignette``: the light falling off toward the frame's corners by 0.5 EV (a wide aperture, or
  a backdrop lit by one light aimed at its centre);
- ``falloff``: the light falling off toward the frame's top by 0.4 EV (lights set low, aimed at
  the student: the backdrop darker above the head than beside the shoulders);
- ``under`` / ``over``: the whole scene 0.5 EV darker or brighter (an exposure a tester's camera
  meters differently: the face still well exposed, the backdrop's blue lighter or darker by
  about 10 L, which the spec's "light blue" allows); the ``dark`` and ``over_exposed`` families
  keep their own exposure (theirs is the photo's final one);
- ``pale-blue``: another light blue backdrop, RGB (130, 200, 240): less saturated than the
  published (100, 197, 255), ΔE 11 from it, inside what the station passes uncalibrated (a
  school's own cloth; blue clothes in its ``blue_clothing`` cases are dyed this blue);
- ``soft``: a soft lens, a Gaussian blur of 0.8 export pixels over the whole frame (the
  ``blurred`` family's defocus is 1.6–3 px; an export photo this soft still looks sharp);
- ``restart``: every JPEG saved with a restart marker each MCU row (a DRI segment, as some
  cameras and editors write them): the same pixels, laid out so the decode can be banded
  (``station.checks.bands``); the verdicts must not change, the speed may.
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
    vignette_ev: float = 0.0                   # light lost at the frame's corners
    falloff_ev: float = 0.0                    # light lost at the frame's top row
    ev: float = 0.0                            # the whole frame's exposure off by this
    backdrop_rgb: tuple[int, int, int] | None = None  # None: the published blue (compose.BACKDROP_RGB)
    soft_px: float = 0.0                       # lens softness, Gaussian σ in export pixels
    restart_rows: int = 0                      # MCU rows between restart markers (0: none)

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
        """The rendered frame as the camera would hand it over (its white balance, its light)."""
        out = bgr
        if self.gains is not None:
            gains = np.array(self.gains, np.float32)
            out = np.clip(out.astype(np.float32) * gains, 0, 255).round().astype(np.uint8)
        if self.vignette_ev or self.falloff_ev:
            out = _lit(out, self.vignette_ev, self.falloff_ev)
        return out

    def exposure(self, ev: float) -> float:
        """The frame's exposure: a case's own (the ``dark`` and ``over_exposed`` families: the
        defect is the photo's final exposure), else these conditions'. Applied to the scene's
        linear light before it is clipped and the sensor noise added."""
        return ev or self.ev

    def blur(self, blur_px: float) -> float:
        """A defocus of ``blur_px`` export pixels with the lens's own softness added."""
        return float(np.hypot(blur_px, self.soft_px))


def _lit(bgr: np.ndarray, vignette_ev: float, falloff_ev: float) -> np.ndarray:
    """``bgr`` with its light falling off (in linear light): radially to ``vignette_ev`` at the
    corners (1 / (1 + k r²), as a lens does) and linearly to ``falloff_ev`` at the top row.
    Strip by strip, through tables: a 24 MP frame stays within a few hundred MB."""
    h, w = bgr.shape[:2]
    levels = np.arange(256, dtype=np.float64) / 255.0
    to_linear = np.where(levels <= 0.04045, levels / 12.92, ((levels + 0.055) / 1.055) ** 2.4)
    steps = np.linspace(0.0, 1.0, 4096)
    to_srgb = np.where(steps <= 0.0031308, steps * 12.92, 1.055 * steps ** (1 / 2.4) - 0.055)
    to_srgb8 = np.clip(to_srgb * 255.0, 0, 255).round().astype(np.uint8)
    x = (np.arange(w, dtype=np.float32) - (w - 1) / 2) ** 2
    corner = ((w - 1) / 2) ** 2 + ((h - 1) / 2) ** 2
    k = 2.0 ** vignette_ev - 1.0
    out = np.empty_like(bgr)
    for top in range(0, h, 256):
        y = np.arange(top, min(h, top + 256), dtype=np.float32)
        r2 = (x[None, :] + ((y[:, None] - (h - 1) / 2) ** 2)) / corner
        gain = (1.0 / (1.0 + k * r2)) * (2.0 ** (-falloff_ev * (1.0 - y / max(1, h - 1))))[:, None]
        linear = to_linear.astype(np.float32)[bgr[top:top + 256]] * gain[:, :, None]
        out[top:top + 256] = to_srgb8[np.clip(linear * 4095.0 + 0.5, 0, 4095).astype(np.int32)]
    return out


CONDITIONS: dict[str, Conditions] = {c.name: c for c in (
    Conditions(),
    Conditions("hard-matte", hard_matte=True),
    Conditions("jpeg75", jpeg_quality=75),
    Conditions("noisy", noise_floor=6.0),
    Conditions("warm", gains=(0.92, 1.0, 1.08)),
    Conditions("cool", gains=(1.08, 1.0, 0.92)),
    Conditions("vignette", vignette_ev=0.5),
    Conditions("falloff", falloff_ev=0.4),
    Conditions("under", ev=-0.5),
    Conditions("over", ev=0.5),
    Conditions("pale-blue", backdrop_rgb=(130, 200, 240)),
    Conditions("soft", soft_px=0.8),
    Conditions("restart", restart_rows=1),
)}
DEFAULT = CONDITIONS["default"]
