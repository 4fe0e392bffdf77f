"""The live-view frame slot: newest frame wins, consumers wait for a newer one.

There is no queue, so a slow consumer never builds up a backlog of stale frames; each frame gets
a sequence number that grows over the whole life of the service (also across reconnects).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from station.camera.base import Frame


class FrameSlot:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._seq = 0
        self.published = 0

    def publish(self, frame: Frame) -> None:
        with self._cond:
            self._seq += 1
            frame.seq = self._seq
            frame.delivered_at = time.monotonic()
            self._frame = frame
            self.published += 1
            self._cond.notify_all()

    def latest(self) -> Frame | None:
        return self._frame

    def wait(self, after_seq: int, timeout: float, stopping: Callable[[], bool]) -> Frame | None:
        with self._cond:
            self._cond.wait_for(
                lambda: (self._frame is not None and self._frame.seq > after_seq) or stopping(),
                timeout)
            frame = self._frame
        return frame if frame is not None and frame.seq > after_seq else None

    def wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()
