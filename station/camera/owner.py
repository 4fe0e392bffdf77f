"""The engine of ``CameraService``: what its one owner thread does, step by step.

The thread loops: while the camera is connected it *serves* (clean-up of the last capture, then
captures, then the next live-view frame at the capped rate, then commands); otherwise it
*supervises* (look for the camera, connect with a fresh session, back off while it refuses).
Faults in the middle of a capture keep the request — and the files the camera announced — so the
capture resumes at the same step after the reconnect, until its deadline.

All timing goes through an injectable :class:`~station.camera.clock.Clock`; the thread sleeps on
an Event that a new command (or ``stop``) sets, never by polling. ``CameraService`` is the
thread-safe face of this engine; only ``run`` (in the owner thread) calls the camera.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from station.camera.base import Camera, CameraStatus, Capabilities, FileRef
from station.camera.clock import SLACK_S, Clock, MonotonicClock
from station.camera.errors import BUSY, CameraDisconnected, CameraError
from station.camera.events import CameraEvent, EventBus
from station.camera.liveview import FrameSlot

log = logging.getLogger(__name__)

CONNECTED, RECONNECTING, FAILED, STARTING, STOPPED = (
    "connected", "reconnecting", "failed", "starting", "stopped")


@dataclass
class Request:
    """A command for the owner thread; the caller waits on ``future``."""

    kind: str
    args: tuple = ()
    future: Future = field(default_factory=Future)
    deadline: float = 0.0
    refs: list[FileRef] | None = None
    started: bool = False
    busy_tries: int = 0
    triggered_at: float = 0.0


class CameraOwner:
    """State and steps of the owner thread. Only ``run`` (in that thread) calls the camera."""

    def __init__(self, camera: Camera, *, clock: Clock | None = None, fps: float = 25.0,
                 capture_timeout: float = 8.0,
                 reconnect_initial: float = 2.0, reconnect_max: float = 20.0,
                 detect_interval: float = 0.5, preview_failure_limit: int = 10,
                 live_view_idle_s: float = 120.0, busy_retries: int = 5,
                 busy_retry_delay_s: float = 0.3, status_interval_s: float = 30.0,
                 capture_failure_limit: int = 3,
                 preset: dict[str, str] | None = None) -> None:
        self.camera = camera
        self.clock: Clock = clock or MonotonicClock()
        self.fps = fps
        self.capture_timeout = capture_timeout
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.detect_interval = detect_interval
        self.preview_failure_limit = preview_failure_limit
        # consecutive failed captures after which the session is reopened (as for live view)
        self.capture_failure_limit = capture_failure_limit
        self.live_view_idle_s = live_view_idle_s
        self.busy_retries = busy_retries
        self.busy_retry_delay_s = busy_retry_delay_s
        self.status_interval_s = status_interval_s
        self.preset: dict[str, str] = dict(preset or {})
        self.bus = EventBus()
        self.events: queue.Queue[CameraEvent] = self.bus.queue
        self.stats = {"frames": 0, "preview_failures": 0, "reconnects": 0, "captures": 0,
                      "capture_failures": 0, "busy_retries": 0}
        self._commands: queue.Queue[Request] = queue.Queue()
        self._wake = threading.Event()           # a command arrived, or stop was asked
        self._pending: list[Request] = []
        self.stopping = threading.Event()
        self.connected = threading.Event()       # set while the state is CONNECTED
        self._state = STARTING
        self._reason = ""
        self._reason_params: dict[str, Any] = {}
        self.caps: Capabilities | None = None
        self.last_status: CameraStatus | None = None
        self._status_at = 0.0
        self.frames = FrameSlot()
        self._live = False
        self._idle_stopped = False  # live view wanted, but stopped because nobody looked
        self._live_active = False
        self._last_read = 0.0
        self._next_frame_at = 0.0
        self._preview_failures = 0
        self._capture_failures = 0
        self._attempt = 0
        self._backoff = reconnect_initial
        # set when the owner itself closed a session that kept failing (preview or capture): the
        # next sessions must first prove themselves (a frame, a capture) before the back-off resets
        self._proving = False
        self._next_attempt_at = 0.0
        self._announced = ""
        self._cleanup_due: tuple[list[FileRef], float] | None = None
        self.cleanup_delay_s = 0.25

    # -- what the service (other threads) may call ----------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def live(self) -> bool:
        return self._live

    @property
    def idle_stopped(self) -> bool:
        return self._idle_stopped

    def submit(self, request: Request) -> None:
        self._commands.put(request)
        self._wake.set()

    def set_live(self, on: bool) -> None:
        """Turn live view on or off. Only turning it *on* counts as somebody looking: a loop that
        re-asserts "on" every pass (the desk's picture loop) is no operator, so it neither resets
        the idle timer nor restarts a live view the idle timer stopped — a look (``touch``) or an
        off/on does."""
        if not on:
            self._live = self._idle_stopped = False
        elif not self._live and not self._idle_stopped:
            self._live = True
            self.touch()
        self._wake.set()

    def touch(self) -> None:
        """Somebody looked at the live view (it stops by itself when nobody does, and comes back
        at the next look while it is still wanted)."""
        self._last_read = self.clock.now()
        if self._idle_stopped:
            self._idle_stopped = False
            self._live = True
            self._wake.set()

    def request_stop(self) -> None:
        self.stopping.set()
        self._wake.set()

    def not_connected(self) -> CameraError:
        """Why the camera is not there, in the words of the fault that took it away."""
        params = {k: v for k, v in self._reason_params.items() if k != "code"}
        return CameraError(self._reason or "camera.not_found", transient=self._state != FAILED,
                           code=self._reason_params.get("code") or None, **params)

    # -- the owner thread ----------------------------------------------------------------------
    def _now(self) -> float:
        return self.clock.now() + SLACK_S

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
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
        self._cleanup()  # never leave a downloaded shot clogging the camera
        if self._live_active:
            self._safe(self.camera.stop_preview)
        self._safe(self.camera.close)
        stopped = CameraError("camera.stopped", transient=False)
        for request in self._pending:
            self._fail(request, stopped)
        self._pending.clear()
        while True:
            try:
                queued = self._commands.get_nowait()
            except queue.Empty:
                break
            if queued is not None and queued.kind != "wake":
                self._fail(queued, stopped)
        self._state = STOPPED
        self.connected.clear()
        self._emit("stopped", "camera.stopped")
        self.frames.wake_all()

    @staticmethod
    def _safe(fn: Any) -> None:
        try:
            fn()
        except Exception as exc:
            log.debug("ignored while stopping: %s", exc)

    def _emit(self, kind: str, key: str = "", **fields: Any) -> None:
        self.bus.emit(kind, key, **fields)

    def _fail(self, request: Request, error: BaseException) -> None:
        if request.kind == "capture":
            self.stats["capture_failures"] += 1
        if not request.future.done():
            request.future.set_exception(error)

    def _handle(self, request: Request) -> None:
        """A command arrived: captures wait their turn in ``_pending``, the rest run now."""
        if request.kind == "wake":
            return
        if request.kind == "capture":
            if self._state == FAILED:  # the operator must fix something first: say it now
                self._fail(request, self.not_connected())
                return
            self._pending.append(request)
            return
        if not self.camera.connected:
            self._fail(request, self.not_connected())
            return
        try:
            if request.kind == "settings":
                result: Any = self.camera.settings()
            elif request.kind == "set_setting":
                result = self.camera.set_setting(*request.args)
            elif request.kind == "status":
                result = self.last_status = self.camera.status()
                self._status_at = self.clock.now()
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

    def _wait_commands(self, timeout: float) -> None:
        """Sleep until a command arrives (or stop) or ``timeout`` passes; take every command."""
        if self._commands.empty() and not self.stopping.is_set():
            self.clock.wait(self._wake, timeout)
        self._wake.clear()          # before draining: a command put after this wakes us again
        while True:
            try:
                self._handle(self._commands.get_nowait())
            except queue.Empty:
                return

    def _expire(self) -> None:
        now = self._now()
        for request in [r for r in self._pending if r.deadline <= now]:
            self._pending.remove(request)
            if self.camera.connected:
                error = CameraError("camera.capture_timeout", transient=True, seconds=request.args[0])
            else:
                error = self.not_connected()
            self._fail(request, error)

    # -- supervisor -----------------------------------------------------------------------------
    def _supervise(self) -> None:
        self._expire()
        now = self._now()
        if now < self._next_attempt_at:
            self._wait_commands(min(self._next_attempt_at - now, self._next_deadline(now)))
            return
        try:
            present = self.camera.detect()
        except CameraError as exc:
            if exc.transient:
                log.debug("camera detect failed: %s", exc)
                present = False
            else:  # said once; looked at again only now and then (the operator must act)
                self._set_down(FAILED, exc.key, delay=self.reconnect_max, params=exc.params)
                self._next_attempt_at = self.clock.now() + self.reconnect_max
                return
        except Exception as exc:
            log.debug("camera detect failed: %s", exc)
            present = False
        if not present:
            self._set_down(RECONNECTING, "camera.not_found", delay=self.detect_interval, quiet=True)
            self._next_attempt_at = self.clock.now() + self.detect_interval
            return
        try:
            try:
                self.camera.connect()
                self.caps = self.camera.capabilities()
                self._apply_preset()
                self.last_status = self.camera.status()
                self._status_at = self.clock.now()
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
            self._next_attempt_at = self.clock.now() + delay
            return
        if self._attempt or self._state != STARTING:
            self.stats["reconnects"] += 1
        if not self._proving:  # a session still on probation keeps counting its attempts
            self._attempt = 0
            self._backoff = self.reconnect_initial
        self._preview_failures = 0
        self._capture_failures = 0
        self._live_active = False
        self._state = CONNECTED
        self.connected.set()
        self._reason, self._reason_params = "", {}
        self._announced = ""
        model = self.last_status.model if self.last_status else ""
        self._emit("connected", "camera.state.connected", model=model, status=self.last_status,
                   capabilities=self.caps)

    def _next_deadline(self, now: float) -> float:
        return min([r.deadline - now for r in self._pending], default=1.0)

    def _set_down(self, state: str, reason: str, delay: float, quiet: bool = False,
                  params: dict | None = None) -> None:
        """Record why the camera is not there; tell the UI when that changes (not every poll)."""
        self.connected.clear()
        self._state, self._reason, self._reason_params = state, reason, dict(params or {})
        if state == FAILED:  # waiting cannot help a capture: the operator has to act first
            for request in [r for r in self._pending if r.kind == "capture"]:
                self._pending.remove(request)
                self._fail(request, self.not_connected())
        if (quiet or state == FAILED) and self._announced == f"{state}:{reason}":
            return
        self._announced = f"{state}:{reason}"
        if state == FAILED:
            self._emit("failed", "camera.state.failed", reason=reason, why=params)
        else:
            self._emit("reconnecting", "camera.state.reconnecting", reason=reason, why=params,
                       attempt=self._attempt, delay_s=round(delay, 2))

    def _lost(self, error: CameraError, backoff: bool = False) -> None:
        """The session died: close it and let the supervisor bring it back — right away after an
        unplug; with ``backoff`` (the owner gave up on a session that kept failing) only after the
        back-off, which keeps doubling until a frame or a capture succeeds again."""
        self._safe(self.camera.close)
        self._live_active = False
        self._cleanup_due = None  # a new session starts with a clean event queue
        self.connected.clear()
        self._state, self._reason, self._reason_params = RECONNECTING, error.key, dict(error.params)
        self._announced = ""
        self._emit("disconnected", error.key, reason=error.key, **error.params)
        if not backoff:
            self._proving = False
            self._backoff = self.reconnect_initial
            self._next_attempt_at = self.clock.now()
            return
        self._proving = True
        self._attempt += 1
        delay, self._backoff = self._backoff, min(self._backoff * 2, self.reconnect_max)
        self._next_attempt_at = self.clock.now() + delay
        self._set_down(RECONNECTING, error.key, delay=delay, params=error.params)

    def _proven(self) -> None:
        """A frame or a capture worked: the session is healthy, the back-off starts over."""
        if self._proving:
            self._proving = False
            self._attempt = 0
            self._backoff = self.reconnect_initial

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
        now = self._now()
        if self._cleanup_due and (self._pending or now >= self._cleanup_due[1]):
            self._cleanup()
            return
        if self._pending:
            self._capture(self._pending.pop(0))
            return
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
            self._wait_commands(min(self._next_frame_at - now, self._until_cleanup(now)))
            return
        if now - self._status_at > self.status_interval_s:
            self._handle(Request("status"))
        self._wait_commands(min(0.25, self._next_deadline(now), self._until_cleanup(now)))

    def _until_cleanup(self, now: float) -> float:
        return max(0.0, self._cleanup_due[1] - now) if self._cleanup_due else 1.0

    def _live_view_allowed(self, now: float) -> bool:
        if self.caps is None or not self.caps.preview:
            if self._live and self._announced != "no_preview":
                self._announced = "no_preview"
                self._emit("no_preview", "camera.no_preview", reason="camera.no_preview")
            return False
        if self.live_view_idle_s and now - self._last_read > self.live_view_idle_s:
            self._live = False
            self._idle_stopped = True
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
                self.caps = self.camera.capabilities()
            else:
                self._preview_failures += 1
                if self._preview_failures >= self.preview_failure_limit:
                    self._lost(exc, backoff=True)
            return
        self._live_active = True
        self._preview_failures = 0
        self._proven()
        self.frames.publish(frame)
        self.stats["frames"] += 1

    def _capture(self, request: Request) -> None:
        """Trigger, download, hand over, clean up. A fault between the steps keeps the request
        (and the files the camera announced) for after the reconnect, until its deadline."""
        if not request.started:
            if not request.future.set_running_or_notify_cancel():
                return  # the caller cancelled before the shutter fired
            request.started = True
        camera = self.camera
        try:
            if request.refs is None:
                request.triggered_at = self.clock.now()
                remaining = max(0.1, request.deadline - self.clock.now())
                request.refs = camera.trigger(remaining)
            result = camera.download(request.refs)
        except CameraError as exc:
            if isinstance(exc, CameraDisconnected) or not camera.connected:
                self._pending.insert(0, request)  # resumes after the reconnect, same stage
                self._lost(exc)
                return
            if exc.code == BUSY and request.busy_tries < self.busy_retries:
                request.busy_tries += 1
                self.stats["busy_retries"] += 1
                delay = min(self.busy_retry_delay_s, max(0.0, request.deadline - self.clock.now()))
                self.clock.wait(self.stopping, delay)
                self._pending.insert(0, request)
                return
            self._fail(request, exc)
            self._abandon(request)
            self._count_capture_failure(exc)
            return
        result.triggered_at = request.triggered_at
        self._capture_failures = 0
        self._proven()
        self.stats["captures"] += 1
        request.future.set_result(result)
        # Clean up a moment later, so the caller can save the photo first: some libgphoto2 calls
        # (file delete) hold Python's GIL. Always done before the next capture.
        self._cleanup_due = (request.refs, self.clock.now() + self.cleanup_delay_s)

    def _count_capture_failure(self, error: CameraError) -> None:
        """A session whose captures keep failing is reopened, as one whose live view does: only
        faults a new session may cure count (not a full card or a JPEG-less quality setting)."""
        if not (error.transient or error.key == "camera.capture_timeout"):
            return
        self._capture_failures += 1
        if self._capture_failures >= self.capture_failure_limit and self.camera.connected:
            self._capture_failures = 0
            self._lost(error, backoff=True)

    def _abandon(self, request: Request) -> None:
        """After a failed capture, nothing of that shot may stay behind for the next one: the
        camera discards its files and drains its events (a late file is thrown away, not kept)."""
        if not request.started or not self.camera.connected:
            return
        try:
            self.camera.abandon(request.refs)
        except CameraError as exc:
            log.warning("discarding a failed capture's files: %s", exc)
            if isinstance(exc, CameraDisconnected) or not self.camera.connected:
                self._lost(exc)

    def _cleanup(self) -> None:
        if self._cleanup_due is None:
            return
        refs, self._cleanup_due = self._cleanup_due[0], None
        if not self.camera.connected:
            return
        try:
            self.camera.cleanup(refs)
        except CameraError as exc:
            log.warning("cleanup after capture: %s", exc)
            if isinstance(exc, CameraDisconnected) or not self.camera.connected:
                self._lost(exc)
