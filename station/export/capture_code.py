"""Reading a student's 图像采集码 from a camera frame: the QR code 学信网 shows on their phone.

The desk's keyboard-wedge scanner is the usual way in; this is the other one (issue 12.5): a key
press decodes the frame the camera sees. OpenCV's QR decoder runs on a reduced copy first (the
code fills much of a frame held up to the lens, and a 24 MP frame takes seconds at full size),
then at full size. Only the texts are returned: whether one is a code is the batch profile's
business (``BatchProfile.check_capture_code``).
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import numpy.typing as npt

WORK_LONG_SIDE = 1600   # pixels of the reduced copy's long side; a phone's QR code stays readable


def read_qr_codes(frame: npt.NDArray[np.uint8]) -> list[str]:
    """The distinct texts of the QR codes in a BGR or grey frame, in the decoder's order; []."""
    gray = frame if frame.ndim == 2 else np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), np.uint8)
    for image in _sizes(gray):
        texts = _decode(image)
        if texts:
            return texts
    return []


def _sizes(gray: npt.NDArray[np.uint8]) -> Iterator[npt.NDArray[np.uint8]]:
    long_side = max(gray.shape[:2])
    if long_side > WORK_LONG_SIDE:
        factor = WORK_LONG_SIDE / long_side
        yield np.asarray(cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA))
    yield gray


def _decode(gray: npt.NDArray[np.uint8]) -> list[str]:
    detector = cv2.QRCodeDetector()
    ok, texts, _points, _straight = detector.detectAndDecodeMulti(gray)
    found = [str(t) for t in texts if t] if ok else []
    if not found:
        text, _points1, _straight1 = detector.detectAndDecode(gray)
        found = [str(text)] if text else []
    return list(dict.fromkeys(found))
