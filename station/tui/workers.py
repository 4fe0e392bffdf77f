"""Thread workers of the desk: the card reader loop and the live-view loop.

They run in Textual thread workers (``run_worker(thread=True)``), touch only the devices and post
messages; cancelling the worker ends the loop within one poll. A device that fails is reported
once, retried with backoff, and reported back when it works again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from textual.worker import get_current_worker

from station.errors import DeviceError, StationError
from station.i18n import both
from station.idcard.errors import CardProblem
from station.tui.messages import CardTapped, DeviceBack, DeviceProblem, LiveFrame, SessionRefused

log = logging.getLogger(__name__)

LIVE_FPS = 12            # terminal redraws per second at most
STATUS_EVERY = 0.5       # seconds between camera status polls


def _cancelled() -> bool:
    return get_current_worker().is_cancelled


def reader_loop(app: Any) -> None:
    """Wait for cards forever; each read becomes a CardTapped message."""
    devices, failing, backoff = app.devices, False, 0.5
    poll = app.settings.session.card_poll_seconds
    while not _cancelled():
        try:
            card = devices.read_card(poll)
        except StationError as exc:
            if isinstance(exc, CardProblem):    # about this card: say so, the reader is fine
                app.post_message(SessionRefused(exc.message, exc.key))
                continue
            if not failing:
                zh, en = exc.messages
                app.post_message(DeviceProblem("reader", zh, en))
                app.runner.step(lambda s, key=exc.key: s.device_error("reader", key))
                failing = True
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        if failing:
            failing, backoff = False, 0.5
            app.post_message(DeviceBack("reader"))
            app.runner.step(lambda s: s.device_ok("reader"))
        if card is not None:
            app.post_message(CardTapped(card))
        elif devices.reader is None:
            time.sleep(poll)


def live_loop(app: Any, desk: Any) -> None:
    """While the desk is framing: newest frame → live checks → cells or a PIL image (graphics
    mode) → LiveFrame (replaceable)."""
    from station.tui.picture_mode import cell_pixels
    from station.tui.widgets.picture import picture_image, picture_lines

    devices = app.devices
    graphics = getattr(app, "picture_mode", "halfblock") == "graphics"
    cell_px = cell_pixels() if graphics else (1, 2)
    last_seq, last_status, down = -1, 0.0, False
    period = 1.0 / LIVE_FPS
    while not _cancelled():
        started = time.monotonic()
        if started - last_status >= STATUS_EVERY:
            last_status = started
            down = _camera_watch(app, down)
        devices.live_view(bool(app.live_wanted) and not down)
        if not app.live_wanted or down:
            time.sleep(period)
            continue
        try:
            frame = devices.latest_frame()
            if frame is not None and frame.seq != last_seq:
                last_seq = frame.seq
                report = devices.analyse(frame)
                live = desk.query_one("#live")
                cols, rows = max(live.size.width, 8), max(live.size.height, 4)
                live_guides = getattr(report, "guides", None)
                if graphics:
                    picture = picture_image(frame.image(), cols, rows, cell_px, app.guides,
                                            live_guides)
                else:
                    picture = picture_lines(frame.image(), cols, rows, app.guides, live_guides)
                desk.post_message(LiveFrame(picture, report, frame.seq))
        except DeviceError as exc:
            log.warning("live view: %s", exc.key)
        except Exception:
            log.exception("live view frame failed")
        time.sleep(max(0.0, period - (time.monotonic() - started)))


def _camera_watch(app: Any, down: bool) -> bool:
    """Report the camera going away or coming back; returns whether it is down now."""
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
