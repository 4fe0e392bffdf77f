"""Where the student is: a person-probability mask of the export frame (MediaPipe selfie
segmentation, shipped in ``models/``).

Colour alone cannot tell a shoulder zone the student does not reach (an asymmetric pose, one
shoulder below the frame's bottom band: flat backdrop) from clothes of the backdrop's own blue;
the person mask can. The model sees 256×256 whatever the input (~8 ms); ``measure.clothing``
asks for it only when the shoulder band would fail on colour alone, so a good capture never
pays for it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.checks.landmarks import _Model

SEGMENTATION_MODEL = "selfie_segmentation.tflite"
PERSON_LEVEL = 0.5  # a pixel is the person's at or above this probability


@cache
def _segmentation_model() -> _Model:
    from station.checks.landmarks import _Model

    return _Model(SEGMENTATION_MODEL)


def person_probability(bgr) -> Any:
    """The probability (float32, 256×256: the whole of ``bgr`` stretched to a square) that a
    pixel is the person's; a caller stretches it back to the size it works at.

    As MediaPipe's own graph feeds the model: the whole image stretched to its square input,
    RGB in [0, 1].
    """
    import cv2
    import numpy as np

    model = _segmentation_model()
    side = 256
    rgb = cv2.cvtColor(cv2.resize(bgr, (side, side), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    out = model((rgb.astype(np.float32) * (1.0 / 255.0))[None])
    return next(iter(out.values()))[0, :, :, 0].astype(np.float32)
