"""How light the skin just below the eyes is against the cheeks: tinted glasses darken it.

The spec allows glasses that are usually worn, but no tinted lenses: the eyes must show. A lens
covers the band of skin between the lower lid and the cheekbone, so with a tint that band turns
as dark as the lens lets light through, while the cheeks below the lens keep the face's light.
The ratio of their median lumas reads 0.70–1.64 on the real-face bench (sources and good composites;
dark circles and low-key light included) and 0.30–0.53 behind lenses passing 8–18 % of the light.
Deep shadow in the eye sockets darkens the same band, and is as much a retake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from station.checks.landmarks import Landmarks

# Face mesh outlines of the eye openings (image-left eye first).
EYE_OUTLINES = ((33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
                (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466))
CHEEK_POINTS = (205, 425, 207, 427)   # mid-cheek at the nose's wings: below any lens
BAND = (0.05, 0.22)                   # × eye distance below the lower lid: under the lens
PATCH = 0.06                          # × eye distance: half side of each cheek patch


def under_eye_ratio(gray: np.ndarray, landmarks: Landmarks) -> float | None:
    """Median luma of the skin band under both eyes over that of the cheeks (None: not
    measurable, e.g. the face cut by the frame's edge)."""
    import numpy as np

    iod = landmarks.iod
    h, w = gray.shape[:2]
    band: list[np.ndarray] = []
    for outline in EYE_OUTLINES:
        eye = landmarks.mesh[list(outline)]
        x0, x1 = float(eye[:, 0].min()), float(eye[:, 0].max())
        inset = 0.15 * (x1 - x0)            # not the eye's corners: the lens's middle
        lid = float(eye[:, 1].max())
        y0, y1 = int(round(lid + BAND[0] * iod)), int(round(lid + BAND[1] * iod))
        c0, c1 = int(round(x0 + inset)), int(round(x1 - inset))
        if y0 < 0 or c0 < 0 or y1 > h or c1 > w or y1 - y0 < 2 or c1 - c0 < 2:
            return None
        band.append(gray[y0:y1, c0:c1].ravel())
    r = max(2, int(round(PATCH * iod)))
    cheeks: list[np.ndarray] = []
    for i in CHEEK_POINTS:
        x, y = (int(round(v)) for v in landmarks.point(i))
        if x - r < 0 or y - r < 0 or x + r >= w or y + r >= h:
            return None
        cheeks.append(gray[y - r:y + r + 1, x - r:x + r + 1].ravel())
    cheek = float(np.median(np.concatenate(cheeks)))
    if cheek < 1.0:
        return None
    return float(np.median(np.concatenate(band))) / cheek
