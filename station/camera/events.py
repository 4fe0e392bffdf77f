"""What the camera service tells the UI: state changes as events, in both languages.

Events go to a bounded queue (``CameraService.events``; the oldest is dropped if nobody reads)
and to listeners called in the owner thread.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from station.camera.base import CameraStatus, Capabilities
from station.i18n import both, t

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraEvent:
    """A state change for the UI: kind is connected, disconnected, reconnecting, failed,
    live_view (``live`` on/off, e.g. stopped when idle), no_preview, warning or stopped."""

    kind: str
    message_zh: str = ""
    message_en: str = ""
    reason: str = ""  # message key of the error behind it
    attempt: int = 0
    delay_s: float = 0.0
    live: bool | None = None
    status: CameraStatus | None = None
    capabilities: Capabilities | None = None
    at: float = field(default_factory=time.time)



class EventBus:
    """A bounded queue of CameraEvents plus listeners."""

    def __init__(self, maxsize: int = 1000) -> None:
        self.queue: queue.Queue[CameraEvent] = queue.Queue(maxsize=maxsize)
        self.listeners: list[Callable[[CameraEvent], Any]] = []

    def emit(self, kind: str, key: str = "", *, reason: str = "", attempt: int = 0,
             delay_s: float = 0.0, live: bool | None = None, status: CameraStatus | None = None,
             capabilities: Capabilities | None = None, why: dict | None = None,
             **params: Any) -> CameraEvent:
        """Queue an event; ``why`` are the parameters of the ``reason`` message, which is
        spliced into the ``key`` message as {why} in the matching language."""
        zh = en = ""
        if key:
            why_zh, why_en = both(reason, **(why or {})) if reason else ("", "")
            params.setdefault("attempt", attempt)
            params.setdefault("delay", round(delay_s, 1))
            zh = t(key, "zh", why=why_zh, **params)
            en = t(key, "en", why=why_en, **params)
        event = CameraEvent(kind, zh, en, reason=reason, attempt=attempt, delay_s=delay_s,
                            live=live, status=status, capabilities=capabilities)
        log.info("camera event %s: %s", kind, en)
        try:
            self.queue.put_nowait(event)
        except queue.Full:  # nobody reads: drop the oldest, keep the news
            with contextlib.suppress(queue.Empty):
                self.queue.get_nowait()
            self.queue.put_nowait(event)
        for callback in list(self.listeners):
            try:
                callback(event)
            except Exception:
                log.exception("camera event listener failed")
        return event
