"""The live view's thread workers: pictures at the camera's pace, checks at their own.

Both loops take the camera's newest frame. The picture loop draws one (with the guides of the
latest analysis) each time the UI has taken the previous picture, and posts it as a replaceable
message; the checks loop analyses the newest frame when it is free (at most CHECKS_FPS a second)
and posts its report. A slow analysis never slows the picture down, and no picture is drawn that
the screen will not show. Neither loop touches a widget: the size to draw at comes from a
:class:`LiveTarget` the desk updates on the UI thread.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from rich.style import Style
from textual.worker import get_current_worker

from station.errors import DeviceError
from station.i18n import both
from station.tui.live_checks import LiveChecksGone, LiveChecksProcess
from station.tui.messages import DeviceBack, DeviceProblem, LiveChecked, LiveFrame
from station.tui.widgets.picture_view import HALF_BLOCK_CELL, Refit, fit_box, fitted_strips

log = logging.getLogger(__name__)

MAX_FPS = 30.0           # terminal redraws per second at most
CHECKS_FPS = 12.0        # live check reports per second at most: the picture comes first
CHECKS_BUSY = 0.6        # share of the time the checks may be analysing; on a busy machine an
                         # analysis takes longer, so they pause longer and leave the picture a core
TAKEN_WAIT = 0.2         # seconds to wait for the UI to take a picture (hidden desk: slower)
STATUS_EVERY = 0.5       # seconds between camera status polls
IDLE_WAIT = 0.05         # seconds between looks while live view is off
# Seconds without a new frame after which the desk says the picture is not live any more. A
# working camera sends one at least every 0.1 s (bodies deliver 10-60 a second), the picture
# loop passes one on within ~0.5 s even on a hidden desk or a loaded machine (TAKEN_WAIT plus
# one wait_frame), and a body starting live view shows its first frame in 1-2 s (mirror up,
# sensor on). 3 s is clear of all of these, so the notice never flickers on a working camera,
# and short enough that it is up before a photographer could frame and shoot a frozen pose.
STALE_AFTER = 3.0


@dataclass
class LiveTarget:
    """Where the picture goes, as the UI thread last saw it (plain values, no widgets), and
    whether it has taken the last picture (the next one is drawn only then: no wasted work)."""

    cols: int = 40
    rows: int = 20
    graphics: bool = False
    cell_px: tuple[int, int] = (1, 2)
    pad_style: Style | None = None      # the pane's own background around the picture
    taken: threading.Event = field(default_factory=threading.Event)


@dataclass
class LiveShared:
    """What the live loops tell each other and the desk: the latest guides, whether the camera
    is down, whether live view was stopped by its idle timer (nobody at the desk)."""

    guides: dict | None = None
    camera_down: bool = False
    idle: bool = False


@dataclass
class Freshness:
    """How old the live picture is: seconds since the newest frame arrived from the camera (or
    since live view was wanted, before the first one). Plain arithmetic on monotonic times, for
    the UI thread's timer; the frames' arrival times come with the LiveFrame messages."""

    since: float | None = None     # live view wanted since; None while it is not
    last: float = 0.0              # the newest frame's arrival (FrameSlot's delivered_at)

    def start(self, now: float) -> None:
        self.since = now

    def stop(self) -> None:
        self.since = None

    def frame(self, arrived: float) -> None:
        self.last = max(self.last, arrived)

    def age(self, now: float) -> float | None:
        """Seconds the picture has not changed; None while live view is not wanted."""
        if self.since is None:
            return None
        return max(0.0, now - max(self.since, self.last))

    def stale(self, now: float) -> bool:
        age = self.age(now)
        return age is not None and age > STALE_AFTER


def _cancelled() -> bool:
    return get_current_worker().is_cancelled


def picture_loop(app: Any, sink: Any, target: LiveTarget, shared: LiveShared) -> None:
    """Newest frame → picture (half-block cells, or a PIL image in graphics mode) → LiveFrame,
    posted to ``sink`` (the desk)."""
    devices = app.devices
    last_seq = -1
    period = 1.0 / MAX_FPS
    while not _cancelled():
        wanted = bool(app.live_wanted) and not shared.camera_down
        devices.live_view(wanted)
        if not wanted:
            time.sleep(IDLE_WAIT)
            continue
        started = time.monotonic()
        target.taken.wait(TAKEN_WAIT)            # the UI has taken the last picture
        target.taken.clear()
        try:
            frame = devices.wait_frame(last_seq, 0.25)
            if frame is None:
                target.taken.set()
                shared.idle = devices.live_idle()
                continue
            shared.idle = False
            last_seq = frame.seq
            draw = _drawing(app, target, frame.image(), shared.guides)
            box = fit_box(target.cols, target.rows,
                          target.cell_px if target.graphics else HALF_BLOCK_CELL)
            sink.post_message(LiveFrame(draw(*box), frame.seq, box, draw,
                                        frame.delivered_at or time.monotonic()))
        except DeviceError as exc:
            target.taken.set()
            log.warning("live view: %s", exc.key)
        except Exception:
            target.taken.set()
            log.exception("live view frame failed")
        time.sleep(max(0.0, period - (time.monotonic() - started)))


def _drawing(app: Any, target: LiveTarget, img: Any, live_guides: dict | None) -> Refit:
    """Draws ``img`` with its guides for a box: the worker for the pane's size as it saw it, the
    desk again if the pane has changed size since (see PictureView)."""
    from station.tui.widgets.picture import picture_image, picture_lines

    graphics, guides, pad_style, console = target.graphics, app.guides, target.pad_style, app.console

    def draw(cols: int, rows: int, cell_px: tuple[int, int]) -> Any:
        if graphics:
            return picture_image(img, cols, rows, cell_px, guides, live_guides)
        return fitted_strips(picture_lines(img, cols, rows, guides, live_guides), cols, rows,
                             pad_style, console)

    return draw


def checks_loop(app: Any, sink: Any, shared: LiveShared) -> None:
    """The newest frame → live checks → LiveChecked (at most CHECKS_FPS a second); the guides go
    to the picture loop. The checks run in their own process (station.tui.live_checks), started
    when live view is first wanted; in this thread only if that process cannot run."""
    devices = app.devices
    last_seq = -1
    period = 1.0 / CHECKS_FPS
    checks: LiveChecksProcess | None = None
    in_process = True
    try:
        while not _cancelled():
            started = time.monotonic()
            if not app.live_wanted or shared.camera_down or devices.live is None:
                shared.guides = None
                time.sleep(IDLE_WAIT)
                continue
            try:
                frame = devices.wait_frame(last_seq, 0.25)
                if frame is None:
                    continue
                last_seq = frame.seq
                if in_process and checks is None:
                    checks = LiveChecksProcess(devices.profile_name, devices.calibration)
                report = (checks.analyse(frame) if checks is not None
                          else devices.analyse_image(frame.image()))
            except DeviceError as exc:
                log.warning("live checks: %s", exc.key)
                continue
            except (LiveChecksGone, OSError) as exc:
                log.warning("live checks process: %s; the checks go on in this thread", exc)
                if checks is not None:
                    checks.close()
                checks, in_process = None, False
                continue
            except Exception:
                log.exception("live checks failed")
                continue
            if report is None:
                continue
            shared.guides = report.guides or None
            sink.post_message(LiveChecked(report, last_seq))
            took = time.monotonic() - started
            time.sleep(max(period - took, took * (1.0 / CHECKS_BUSY - 1.0)))
    finally:
        if checks is not None:
            checks.close()


def camera_watch_loop(app: Any, shared: LiveShared) -> None:
    """Report the camera going away or coming back (and put the session in failsafe)."""
    while not _cancelled():
        shared.camera_down = _camera_watch(app, shared.camera_down)
        time.sleep(STATUS_EVERY)


def _camera_watch(app: Any, down: bool) -> bool:
    """One status poll; returns whether the camera is down now."""
    try:
        state = app.devices.camera_state()
    except Exception:
        log.exception("camera status failed")
        return down
    if app.devices.camera is None:
        return False
    if not state.ok and not down:
        zh, en = state.problem or both("tui.device.camera_down")
        app.post_message(DeviceProblem("camera", zh, en))
        app.runner.step(lambda s: s.device_error("camera", "camera.down"))
        return True
    if state.ok and down:
        app.post_message(DeviceBack("camera"))
        app.runner.step(lambda s: s.device_ok("camera"))
        return False
    return down
