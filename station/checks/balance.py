"""The camera's white balance, read off the backdrop, for the colour tests that must not follow it.

The backdrop's colour is known (the profile's reference blue; not the station's calibration,
which is the blue this camera sees, its balance included), so the frame's per-channel gains can
be read off it. A skin test in YCrCb does follow them: a warm
balance (red up 8 %) moves the chroma of the bright nose bridge, the test's reference, further
than that of a shadowed cheek (chroma offsets grow with the light), so the dark half of a side-lit
face stopped counting as skin and the 阴阳脸 it shows read as lighter (0.45 → 0.38 on the one real
studio-lit source: a warning, not a retake). With the gains undone first, the same test sees the
pixels a neutral balance would have given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DEAD_ZONE = 0.03       # gains this close to 1: the balance is right, the pixels are left as they are
LIMITS = (0.8, 1.25)   # a larger correction is another backdrop, not the camera's balance
CLIPPED = 250          # 8-bit: a channel this bright (the CHSI blue's B is 255) tells no gain
DARK = 20              # nor does one this dark (its quantisation alone is 5 %)


def backdrop_gains(seen_lab: np.ndarray, expected_lab: np.ndarray) -> np.ndarray | None:
    """B, G, R gains bringing the backdrop's ``seen_lab`` colour to ``expected_lab``, relative to
    green (the exposure is left alone); a channel clipped or too dark keeps green's. None when the
    balance is right (``DEAD_ZONE``), when green tells nothing, or when the gains are beyond
    ``LIMITS``."""
    import cv2
    import numpy as np

    both = np.array([[seen_lab, expected_lab]], np.float32)
    seen, want = cv2.cvtColor(both, cv2.COLOR_Lab2BGR)[0].astype(np.float64) * 255.0
    if not DARK <= seen[1] < CLIPPED or want[1] < DARK:
        return None
    gains = np.ones(3)
    read = [DARK <= seen[c] < CLIPPED and want[c] >= DARK for c in range(3)]
    for c in range(3):
        if read[c]:
            gains[c] = want[c] / seen[c]
    gains /= gains[1]
    # a channel that tells nothing goes as green does: a brighter frame clips the blue's B, and
    # a gain of 1 before the division took it for a cast (0.5 EV over: B × 1.15)
    gains[[c for c in range(3) if not read[c]]] = 1.0
    if bool(np.all(np.abs(gains - 1.0) < DEAD_ZONE)):
        return None
    if bool(np.any(gains < LIMITS[0]) or np.any(gains > LIMITS[1])):
        return None
    return gains


def rebalanced(bgr: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """``bgr`` with ``gains`` applied (8-bit, rounded and clipped)."""
    import numpy as np

    out: np.ndarray = np.clip(np.rint(bgr * gains.astype(np.float32)), 0, 255).astype(np.uint8)
    return out
