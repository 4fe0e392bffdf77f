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

import contextlib
import logging
import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from station.camera.base import Camera, CameraStatus, Capabilities, Capture, FileRef, Frame, Setting
from station.camera.errors import BUSY, CameraDisconnected, CameraError
from station.i18n import both, t

log = logging.getLogger(__name__)

CONNECTED, RECONNECTING, FAILED, STARTING, STOPPED = (
    "connected", "reconnecting", "failed", "starting", "stopped")


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


@dataclass
class _Request:
    kind: str
    args: tuple = ()
    future: Future = field(default_factory=Future)
    deadline: float = 0.0
    refs: list[FileRef] | None = None
    started: bool = False
    busy_tries: int = 0
    triggered_at: float = 0.0


class CameraService:
    """The owner of one camera. ``start()`` it, ``stop()`` it; everything else is thread-safe."""

    def __init__(self, camera: Camera, *, fps: float = 25.0, capture_timeout: float = 8.0,
                 reconnect_initial: float = 2.0, reconnect_max: float = 20.0,
                 detect_interval: float = 0.5, preview_failure_limit: int = 10,
                 live_view_idle_s: float = 120.0, busy_retries: int = 5,
                 busy_retry_delay_s: float = 0.3, status_interval_s: float = 30.0,
                 preset: dict[str, str] | None = None) -> None:
        self.camera = camera
        self.fps = fps
        self.capture_timeout = capture_timeout
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.detect_interval = detect_interval
        self.preview_failure_limit = preview_failure_limit
        self.live_view_idle_s = live_view_idle_s
        self.busy_retries = busy_retries
        self.busy_retry_delay_s = busy_retry_delay_s
        self.status_interval_s = status_interval_s
        self.preset: dict[str, str] = dict(preset or {})
        self.events: queue.Queue[CameraEvent] = queue.Queue(maxsize=1000)
        self.stats = {"frames": 0, "preview_failures": 0, "reconnects": 0, "captures": 0,
                      "capture_failures": 0}
        self._listeners: list[Any] = []
        self._commands: queue.Queue[_Request | None] = queue.Queue()
        self._pending: list[_Request] = []
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._state = STARTING
        self._reason = ""
        self._reason_params: dict = {}
        self._caps: Capabilities | None = None
        self._status: CameraStatus | None = None
        self._status_at = 0.0
        self._frame_cond = threading.Condition()
        self._frame: Frame | None = None
        self._seq = 0
        self._live = False
        self._live_active = False
        self._last_read = 0.0
        self._next_frame_at = 0.0
        self._preview_failures = 0
        self._attempt = 0
        self._backoff = reconnect_initial
        self._next_attempt_at = 0.0
        self._announced = ""

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

    def status(self) -> CameraStatus | None:
        """The camera's status as last read (on connect and every ``status_interval_s``)."""
        return self._status

    def last_error(self) -> CameraError | None:
        """Why the camera is not connected (None when it is)."""
        return None if self._state == CONNECTED else self._not_connected()

    def add_listener(self, callback: Any) -> None:
        """``callback(event)`` runs in the owner thread for each event: keep it short."""
        self._listeners.append(callback)

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
        self._commands.put(_Request("wake"))

    @property
    def live(self) -> bool:
        return self._live

    def latest_frame(self) -> Frame | None:
        """The newest frame (never an old one queued up), or None before the first."""
        self._last_read = time.monotonic()
        return self._frame

    def wait_frame(self, after_seq: int = 0, timeout: float = 1.0) -> Frame | None:
        """Block until a frame newer than ``after_seq`` exists; None on timeout or stop."""
        self._last_read = time.monotonic()
        with self._frame_cond:
            self._frame_cond.wait_for(
                lambda: (self._frame is not None and self._frame.seq > after_seq)
                or self._stopping.is_set(), timeout)
            frame = self._frame
        return frame if frame is not None and frame.seq > after_seq else None

    # -- requests -------------------------------------------------------------------------------
    def submit_capture(self, timeout: float | None = None) -> Future:
        """Ask for a capture; the Future resolves to a ``Capture`` or a ``CameraError`` within
        ``timeout`` seconds (default ``capture_timeout``)."""
        timeout = self.capture_timeout if timeout is None else timeout
        request = _Request("capture", (timeout,), deadline=time.monotonic() + timeout)
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
        request = _Request(kind, args, deadline=time.monotonic() + timeout)
        self._commands.put(request)
        return self._wait(request.future, timeout)

    def _wait(self, future: Future, timeout: float) -> Any:
        try:
            return future.result(timeout + 2.0)
        except FutureTimeout:
            future.cancel()  # works if the owner has not started on it yet
            raise CameraError("camera.capture_timeout", transient=True, seconds=round(timeout, 1)) from None

    # -- owner thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                if self.camera.connected:
                    self._serve()
                    continue
                if self._state == CONNECTED:  # gone without an error (the driver noticed)
                    self._lost(CameraDisconnected())
                self._supervise()
        except Exception:  # a bug must not leave callers waiting forever
            log.exception("camera owner thread crashed")
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._live_active:
            self._safe(self.camera.stop_preview)
        self._safe(self.camera.close)
        stopped = CameraError("camera.stopped", transient=False)
        for request in self._pending:
            self._fail(request, stopped)
        self._pending.clear()
        while True:
            try:
                request = self._commands.get_nowait()
            except queue.Empty:
                break
            if request is not None and request.kind != "wake":
                self._fail(request, stopped)
        self._state = STOPPED
        self._emit("stopped", "camera.stopped")
        with self._frame_cond:
            self._frame_cond.notify_all()

    @staticmethod
    def _safe(fn: Any) -> None:
        try:
            fn()
        except Exception as exc:
            log.debug("ignored while stopping: %s", exc)

    def _emit(self, kind: str, key: str = "", *, reason: str = "", attempt: int = 0,
              delay_s: float = 0.0, live: bool | None = None, status: CameraStatus | None = None,
              capabilities: Capabilities | None = None, why: dict | None = None,
              **params: Any) -> None:
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
            self.events.put_nowait(event)
        except queue.Full:  # nobody reads: drop the oldest, keep the news
            with contextlib.suppress(queue.Empty):
                self.events.get_nowait()
            self.events.put_nowait(event)
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                log.exception("camera event listener failed")

    def _fail(self, request: _Request, error: BaseException) -> None:
        if request.kind == "capture":
            self.stats["capture_failures"] += 1
        if not request.future.done():
            request.future.set_exception(error)

    def _handle(self, request: _Request | None) -> None:
        """A command arrived: captures wait their turn in ``_pending``, the rest run now."""
        if request is None or request.kind == "wake":
            return
        if request.kind == "capture":
            self._pending.append(request)
            return
        if not self.camera.connected:
            self._fail(request, self._not_connected())
            return
        try:
            if request.kind == "settings":
                result: Any = self.camera.settings()
            elif request.kind == "set_setting":
                result = self.camera.set_setting(*request.args)
            elif request.kind == "status":
                result = self._status = self.camera.status()
                self._status_at = time.monotonic()
            else:
                raise ValueError(f"unknown camera request {request.kind}")
        except CameraError as exc:
            self._fail(request, exc)
            if isinstance(exc, CameraDisconnected) or not self.camera.connected:
                self._lost(exc)
            return
        except Exception as exc:
            self._fail(request, exc)
            return
        request.future.set_result(result)

    def _not_connected(self) -> CameraError:
        """Why the camera is not there, in the words of the fault that took it away."""
        params = {k: v for k, v in self._reason_params.items() if k != "code"}
        return CameraError(self._reason or "camera.not_found", transient=True,
                           code=self._reason_params.get("code") or None, **params)

    def _wait_commands(self, timeout: float) -> None:
        """Sleep until a command arrives or ``timeout`` passes; then take every waiting command."""
        try:
            self._handle(self._commands.get(timeout=max(0.0, timeout)))
        except queue.Empty:
            return
        while True:
            try:
                self._handle(self._commands.get_nowait())
            except queue.Empty:
                return

    def _expire(self) -> None:
        now = time.monotonic()
        for request in [r for r in self._pending if r.deadline <= now]:
            self._pending.remove(request)
            if self.camera.connected:
                error = CameraError("camera.capture_timeout", transient=True, seconds=request.args[0])
            else:
                error = self._not_connected()
            self._fail(request, error)

    # -- supervisor -----------------------------------------------------------------------------
    def _supervise(self) -> None:
        self._expire()
        now = time.monotonic()
        if now < self._next_attempt_at:
            self._wait_commands(min(self._next_attempt_at - now, self._next_deadline(now)))
            return
        try:
            present = self.camera.detect()
        except Exception as exc:
            log.debug("camera detect failed: %s", exc)
            present = False
        if not present:
            self._set_down(RECONNECTING, "camera.not_found", delay=self.detect_interval, quiet=True)
            self._next_attempt_at = time.monotonic() + self.detect_interval
            return
        try:
            try:
                self.camera.connect()
                self._caps = self.camera.capabilities()
                self._apply_preset()
                self._status = self.camera.status()
                self._status_at = time.monotonic()
            except CameraError:
                raise
            except Exception as exc:  # an unexpected driver failure is reported, then retried
                log.exception("camera connect failed")
                raise CameraError("camera.generic", error=str(exc), action="connect") from exc
        except CameraError as exc:
            self._safe(self.camera.close)
            self._attempt += 1
            delay, self._backoff = self._backoff, min(self._backoff * 2, self.reconnect_max)
            self._set_down(RECONNECTING if exc.transient else FAILED, exc.key, delay=delay,
                           params=exc.params)
            self._next_attempt_at = time.monotonic() + delay
            return
        if self._attempt or self._state != STARTING:
            self.stats["reconnects"] += 1
        self._attempt = 0
        self._backoff = self.reconnect_initial
        self._preview_failures = 0
        self._live_active = False
        self._state = CONNECTED
        self._reason, self._reason_params = "", {}
        self._announced = ""
        model = self._status.model if self._status else ""
        self._emit("connected", "camera.state.connected", model=model, status=self._status,
                   capabilities=self._caps)

    def _next_deadline(self, now: float) -> float:
        return min([r.deadline - now for r in self._pending], default=1.0)

    def _set_down(self, state: str, reason: str, delay: float, quiet: bool = False,
                  params: dict | None = None) -> None:
        """Record why the camera is not there; tell the UI when that changes (not every poll)."""
        self._state, self._reason, self._reason_params = state, reason, dict(params or {})
        if quiet and self._announced == f"{state}:{reason}":
            return
        self._announced = f"{state}:{reason}"
        if state == FAILED:
            self._emit("failed", "camera.state.failed", reason=reason, why=params)
        else:
            self._emit("reconnecting", "camera.state.reconnecting", reason=reason, why=params,
                       attempt=self._attempt, delay_s=round(delay, 2))

    def _lost(self, error: CameraError) -> None:
        """The session died: close it and let the supervisor bring it back right away."""
        self._safe(self.camera.close)
        self._live_active = False
        self._state, self._reason, self._reason_params = RECONNECTING, error.key, dict(error.params)
        self._announced = ""
        self._backoff = self.reconnect_initial
        self._next_attempt_at = time.monotonic()
        self._emit("disconnected", error.key, reason=error.key, **error.params)

    def _apply_preset(self) -> None:
        for name, value in self.preset.items():
            try:
                self.camera.set_setting(name, value)
            except CameraDisconnected:
                raise
            except CameraError as exc:
                self._emit("warning", exc.key, reason=exc.key, **exc.params)

    # -- serving --------------------------------------------------------------------------------
    def _serve(self) -> None:
        self._expire()
        if self._pending:
            self._capture(self._pending.pop(0))
            return
        now = time.monotonic()
        live = self._live and self._live_view_allowed(now)
        if not live and self._live_active:
            self._live_active = False
            self._safe(self.camera.stop_preview)
        if live:
            if now >= self._next_frame_at:
                self._wait_commands(0)  # a capture that just arrived goes first
                if not self._pending:
                    self._grab_frame(now)
                return
            self._wait_commands(self._next_frame_at - now)
            return
        if now - self._status_at > self.status_interval_s:
            self._handle(_Request("status"))
        self._wait_commands(min(0.25, self._next_deadline(now)))

    def _live_view_allowed(self, now: float) -> bool:
        if self._caps is None or not self._caps.preview:
            if self._live and self._announced != "no_preview":
                self._announced = "no_preview"
                self._emit("no_preview", "camera.no_preview", reason="camera.no_preview")
            return False
        if self.live_view_idle_s and now - self._last_read > self.live_view_idle_s:
            self._live = False
            self._emit("live_view", "", live=False, reason="idle")
            return False
        return True

    def _grab_frame(self, started: float) -> None:
        interval = 1.0 / self.fps
        # keep the cadence while on time; after a pause or a slow frame, start from now
        base = self._next_frame_at if started - self._next_frame_at < interval else started
        self._next_frame_at = base + interval
        try:
            frame = self.camera.preview_frame()
        except CameraError as exc:
            self.stats["preview_failures"] += 1
            if isinstance(exc, CameraDisconnected) or not self.camera.connected:
                self._lost(exc)
            elif exc.key == "camera.no_preview":
                self._caps = self.camera.capabilities()
            else:
                self._preview_failures += 1
                if self._preview_failures >= self.preview_failure_limit:
                    self._lost(exc)
            return
        self._live_active = True
        self._preview_failures = 0
        with self._frame_cond:
            self._seq += 1
            frame.seq = self._seq
            frame.delivered_at = time.monotonic()
            self._frame = frame
            self.stats["frames"] += 1
            self._frame_cond.notify_all()

    def _capture(self, request: _Request) -> None:
        """Trigger, download, hand over, clean up. A fault between the steps keeps the request
        (and the files the camera announced) for after the reconnect, until its deadline."""
        if not request.started:
            if not request.future.set_running_or_notify_cancel():
                return  # the caller cancelled before the shutter fired
            request.started = True
        camera = self.camera
        try:
            if request.refs is None:
                request.triggered_at = time.monotonic()
                remaining = max(0.1, request.deadline - time.monotonic())
                request.refs = camera.trigger(remaining)
            result = camera.download(request.refs)
        except CameraError as exc:
            if isinstance(exc, CameraDisconnected) or not camera.connected:
                self._pending.insert(0, request)  # resumes after the reconnect, same stage
                self._lost(exc)
                return
            if exc.code == BUSY and request.busy_tries < self.busy_retries:
                request.busy_tries += 1
                delay = min(self.busy_retry_delay_s, max(0.0, request.deadline - time.monotonic()))
                time.sleep(delay)
                self._pending.insert(0, request)
                return
            self._fail(request, exc)
            return
        result.triggered_at = request.triggered_at
        self.stats["captures"] += 1
        request.future.set_result(result)
        try:
            camera.cleanup(request.refs)
        except CameraError as exc:
            log.warning("cleanup after capture: %s", exc)
            if isinstance(exc, CameraDisconnected) or not camera.connected:
                self._lost(exc)
