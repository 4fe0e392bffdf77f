"""One owner thread per camera: live view, captures, settings and reconnects, in that thread only.

libgphoto2 is not safe to call from several threads, and a USB call can block for seconds. So the
UI and the checks never touch the camera: they read the newest frame (``latest_frame`` /
``wait_frame``), ask for a capture (``submit_capture`` → Future, or ``capture`` which waits), and
read state changes from ``events``. The owner thread serves captures before preview frames and
supervises the connection: after an unplug, power-off or sleep it closes the session, looks for
the camera every ``detect_interval`` seconds and reconnects with a fresh session, backing off
(2 s doubling to 20 s) while a present camera keeps refusing.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any

from station.camera.base import CameraStatus, Capabilities, Capture, Frame, Setting
from station.camera.errors import CameraError
from station.camera.events import CameraEvent
from station.camera.owner import CONNECTED, STARTING, CameraOwner, Request
from station.i18n import both

__all__ = ["CameraEvent", "CameraService"]

log = logging.getLogger(__name__)


class CameraService(CameraOwner):
    """The owner of one camera. ``start()`` it, ``stop()`` it; everything else is thread-safe."""

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> CameraService:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"camera-{self.camera.kind}",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the owner thread; the camera session is closed by that thread itself."""
        self._stopping.set()
        self._commands.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("camera thread still busy in a device call after %.0f s", timeout)
            else:
                self._thread = None

    def __enter__(self) -> CameraService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def state(self) -> str:
        return self._state

    @property
    def capabilities(self) -> Capabilities | None:
        return self._caps

    def status(self) -> CameraStatus:
        """The camera's status as last read (on connect and every ``status_interval_s``), with the
        service's ``state`` and, when not connected, the reason in both languages. Never blocks."""
        state = self._state
        base = self._status or CameraStatus()
        if state == CONNECTED:
            return replace(base, state=state)
        error = self._not_connected() if state != STARTING else None
        key = error.key if error else "camera.state.waiting"
        zh, en = error.messages if error else both(key)
        return replace(base, state=state, reason=key, reason_zh=zh, reason_en=en)

    def last_error(self) -> CameraError | None:
        """Why the camera is not connected (None when it is)."""
        return None if self._state == CONNECTED else self._not_connected()

    def add_listener(self, callback: Any) -> None:
        """``callback(event)`` runs in the owner thread for each event: keep it short."""
        self._bus.listeners.append(callback)

    def wait_connected(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._state == CONNECTED:
                return True
            time.sleep(0.01)
        return self._state == CONNECTED

    # -- live view ------------------------------------------------------------------------------
    def live_view(self, on: bool) -> None:
        """Turn live view on or off (it also stops by itself after ``live_view_idle_s``)."""
        self._live = bool(on)
        self._last_read = time.monotonic()
        self._commands.put(Request("wake"))

    @property
    def live(self) -> bool:
        return self._live

    def latest_frame(self) -> Frame | None:
        """The newest frame (never an old one queued up), or None before the first."""
        self._last_read = time.monotonic()
        return self._frames.latest()

    def wait_frame(self, after_seq: int = 0, timeout: float = 1.0) -> Frame | None:
        """Block until a frame newer than ``after_seq`` exists; None on timeout or stop."""
        self._last_read = time.monotonic()
        return self._frames.wait(after_seq, timeout, self._stopping.is_set)

    # -- requests -------------------------------------------------------------------------------
    def submit_capture(self, timeout: float | None = None) -> Future:
        """Ask for a capture; the Future resolves to a ``Capture`` or a ``CameraError`` within
        ``timeout`` seconds (default ``capture_timeout``)."""
        timeout = self.capture_timeout if timeout is None else timeout
        request = Request("capture", (timeout,), deadline=time.monotonic() + timeout)
        self._commands.put(request)
        return request.future

    def capture(self, timeout: float | None = None) -> Capture:
        timeout = self.capture_timeout if timeout is None else timeout
        return self._wait(self.submit_capture(timeout), timeout)

    def settings(self, timeout: float = 5.0) -> dict[str, Setting]:
        return self._ask("settings", (), timeout)

    def set_setting(self, name: str, value: str, remember: bool = True, timeout: float = 5.0) -> Setting:
        """Change a setting now; with ``remember`` it joins the preset re-applied on reconnect."""
        setting = self._ask("set_setting", (name, value), timeout)
        if remember:
            self.preset[name] = str(value)
        return setting

    def refresh_status(self, timeout: float = 5.0) -> CameraStatus:
        return self._ask("status", (), timeout)

    def _ask(self, kind: str, args: tuple, timeout: float) -> Any:
        request = Request(kind, args, deadline=time.monotonic() + timeout)
        self._commands.put(request)
        return self._wait(request.future, timeout)

    def _wait(self, future: Future, timeout: float) -> Any:
        try:
            return future.result(timeout + 2.0)
        except FutureTimeout:
            future.cancel()  # works if the owner has not started on it yet
            raise CameraError("camera.capture_timeout", transient=True, seconds=round(timeout, 1)) from None

