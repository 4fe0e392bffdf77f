"""Shared steps of the decode tests (bands, split): OpenCV's reduced decode to compare with, and
a stream run to its end on a thread of its own, as the capture runs it."""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np


def opencv_reduced(data: bytes, reduction: int) -> np.ndarray:
    """OpenCV's DCT-scaled decode of ``data`` at 1/``reduction`` (libjpeg-turbo's pixels)."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), getattr(cv2, f"IMREAD_REDUCED_COLOR_{reduction}"))


def run_whole(stream: Any) -> Any:
    """``stream`` (a ``rowstream.Rows``) run on its own thread until all its rows are in."""
    worker = threading.Thread(target=stream.run)
    worker.start()
    try:
        stream.wait(stream.height)
    finally:
        worker.join()
    return stream
