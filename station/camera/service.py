"""One owner thread per camera: live view, captures, settings and reconnects, in that thread only.

libgphoto2 is not safe to call from several threads, and a USB call can block for seconds. So the
UI and the checks never touch the camera: they read the newest frame (``latest_frame`` /
``wait_frame``), ask for a capture (``submit_capture`` → Future, or ``capture`` which waits), and
read state changes from ``events``. The owner thread (its steps are ``station.camera.owner``)
serves captures before preview frames and supervises the connection: after an unplug, power-off
or sleep it closes the session, looks for the camera every ``detect_interval`` seconds and
reconnects with a fresh session, backing off (2 s doubling to 20 s) while a present camera keeps
refusing.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any

from station.camera.base import Camera, CameraStatus, Capabilities, Capture, Frame, Setting
from station.camera.clock import Clock
from station.camera.errors import CameraError
from station.camera.events import CameraEvent
from station.camera.owner import CONNECTED, FAILED, STARTING, CameraOwner, Request
from station.i18n import both

__all__ = ["CameraEvent", "CameraService"]

log = logging.getLogger(__name__)


class CameraService:
    """The owner of one camera. ``start()`` it, ``stop()`` it; everything else is thread-safe.

    Timing arguments (``fps``, ``capture_timeout``, ``reconnect_initial``, …) are those of
    :class:`~station.camera.owner.CameraOwner`; ``clock`` makes its time injectable (tests).
    """

    def __init__(self, camera: Camera, *, clock: Clock | None = None, **timing: Any) -> None:
        self.camera = camera
        self._owner = CameraOwner(camera, clock=clock, **timing)
        self.clock = self._owner.clock
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> CameraService:
        if self._thread is None:
            self._thread = threading.Thread(target=self._owner.run,
                                            name=f"camera-{self.camera.kind}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the owner thread; the camera session is closed by that thread itself."""
        self._owner.request_stop()
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

    # -- the owner's settings, counters and events ----------------------------------------------
    @property
    def capture_timeout(self) -> float:
        return self._owner.capture_timeout

    @property
    def reconnect_initial(self) -> float:
        return self._owner.reconnect_initial

    @reconnect_initial.setter
    def reconnect_initial(self, seconds: float) -> None:
        """Before ``start()``: the first pause between reconnect attempts (a script waits less)."""
        self._owner.reconnect_initial = self._owner._backoff = seconds

    @property
    def preset(self) -> dict[str, str]:
        """Settings re-applied after every (re)connect, by station name."""
        return self._owner.preset

    @property
    def stats(self) -> dict[str, int]:
        return self._owner.stats

    @property
    def events(self) -> queue.Queue[CameraEvent]:
        return self._owner.events

    @property
    def state(self) -> str:
        return self._owner.state

    @property
    def capabilities(self) -> Capabilities | None:
        return self._owner.caps

    def status(self) -> CameraStatus:
        """The camera's status as last read (on connect and every ``status_interval_s``), with the
        service's ``state`` and, when not connected, the reason in both languages. Never blocks."""
        state = self._owner.state
        base = self._owner.last_status or CameraStatus()
        if state == CONNECTED:
            return replace(base, state=state)
        error = self._owner.not_connected() if state != STARTING else None
        key = error.key if error else "camera.state.waiting"
        zh, en = error.messages if error else both(key)
        return replace(base, state=state, reason=key, reason_zh=zh, reason_en=en)

    def last_error(self) -> CameraError | None:
        """Why the camera is not connected (None when it is)."""
        return None if self._owner.state == CONNECTED else self._owner.not_connected()

    def add_listener(self, callback: Callable[[CameraEvent], object]) -> None:
        """``callback(event)`` runs in the owner thread for each event: keep it short."""
        self._owner.bus.listeners.append(callback)

    def wait_connected(self, timeout: float, *, give_up_when_failed: bool = False) -> bool:
        """Block (real time) until the camera is connected; False after ``timeout`` seconds, or
        with ``give_up_when_failed`` as soon as the service reports a fault the operator must fix
        (a script should say so at once instead of waiting for a camera that cannot come)."""
        if not give_up_when_failed:
            return self._owner.connected.wait(timeout)
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if self._owner.connected.wait(max(0.0, min(0.05, left))):
                return True
            if self._owner.state == FAILED or left <= 0:
                return False

    # -- live view ------------------------------------------------------------------------------
    def live_view(self, on: bool) -> None:
        """Turn live view on or off (it also stops by itself after ``live_view_idle_s``)."""
        self._owner.set_live(on)

    @property
    def live(self) -> bool:
        return self._owner.live

    @property
    def idle_stopped(self) -> bool:
        """Live view is wanted but stopped because nobody looked for ``live_view_idle_s``
        (``touch`` brings it back)."""
        return self._owner.idle_stopped

    def touch(self) -> None:
        """Somebody is there (an operator's key press): keeps live view from its idle stop, and
        brings it back after one while it is still wanted."""
        self._owner.touch()

    def latest_frame(self, look: bool = True) -> Frame | None:
        """The newest frame (never an old one queued up), or None before the first.
        ``look=False`` for a reader that runs by itself (it keeps nobody's live view alive)."""
        if look:
            self._owner.touch()
        return self._owner.frames.latest()

    def wait_frame(self, after_seq: int = 0, timeout: float = 1.0, look: bool = True) -> Frame | None:
        """Block until a frame newer than ``after_seq`` exists; None on timeout or stop.
        ``look=False`` as for ``latest_frame``."""
        if look:
            self._owner.touch()
        return self._owner.frames.wait(after_seq, timeout, self._owner.stopping.is_set)

    # -- requests -------------------------------------------------------------------------------
    def submit_capture(self, timeout: float | None = None) -> Future[Capture]:
        """Ask for a capture; the Future resolves to a ``Capture`` or a ``CameraError`` within
        ``timeout`` seconds (default ``capture_timeout``)."""
        return self._capture_request(timeout).future

    def _capture_request(self, timeout: float | None) -> Request:
        timeout = self.capture_timeout if timeout is None else timeout
        request = Request("capture", (timeout,), deadline=self.clock.now() + timeout)
        self._owner.submit(request)
        return request

    def capture(self, timeout: float | None = None) -> Capture:
        timeout = self.capture_timeout if timeout is None else timeout
        request = self._capture_request(timeout)
        try:
            result: Capture = self._wait(request.future, timeout)
        except CameraError as exc:
            # The camera announced the photo (the owner holds its files) but fetching it outlasted
            # the wait: a big file or a slow link, not focus — say so, and what helps.
            if exc.key == "camera.capture_timeout" and request.refs and not request.future.done():
                raise CameraError("camera.download_timeout", transient=True,
                                  seconds=round(timeout, 1)) from None
            raise
        return result

    def settings(self, timeout: float = 5.0) -> dict[str, Setting]:
        result: dict[str, Setting] = self._ask("settings", (), timeout)
        return result

    def set_setting(self, name: str, value: str, remember: bool = True,
                    timeout: float = 5.0) -> Setting:
        """Change a setting now; with ``remember`` it joins the preset re-applied on reconnect."""
        setting: Setting = self._ask("set_setting", (name, value), timeout)
        if remember:
            self.preset[name] = str(value)
        return setting

    def refresh_status(self, timeout: float = 5.0) -> CameraStatus:
        status: CameraStatus = self._ask("status", (), timeout)
        return status

    def _ask(self, kind: str, args: tuple[Any, ...], timeout: float) -> Any:
        request = Request(kind, args, deadline=self.clock.now() + timeout)
        self._owner.submit(request)
        return self._wait(request.future, timeout)

    def _wait(self, future: Future[Any], timeout: float) -> Any:
        try:
            return future.result(timeout + 2.0)
        except FutureTimeout:
            future.cancel()  # works if the owner has not started on it yet
            raise CameraError("camera.capture_timeout", transient=True,
                              seconds=round(timeout, 1)) from None
