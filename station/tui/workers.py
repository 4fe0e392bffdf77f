"""The desk's card reader loop (the live view's loops are in station.tui.live).

They run in Textual thread workers (``run_worker(thread=True)``), touch only the devices and post
messages; cancelling the worker ends the loop within one poll. A device that fails is reported
once, retried with backoff, and reported back when it works again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from textual.worker import get_current_worker

from station.errors import StationError
from station.i18n import both
from station.idcard.errors import CardProblem
from station.tui.messages import CardTapped, DeviceBack, DeviceProblem, SessionRefused

log = logging.getLogger(__name__)


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
                app.post_message(SessionRefused(exc.messages, exc.key))
                continue
            if not failing:
                zh, en = exc.messages
                app.post_message(DeviceProblem("reader", zh, en))
                app.runner.step(lambda s, key=exc.key: s.device_error("reader", key))
                failing = True
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        except Exception:  # a defect in reading one card must not end the desk's card reading
            log.exception("card read failed unexpectedly")
            app.post_message(SessionRefused(both("idcard.read_defect"), "idcard.read_defect"))
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
