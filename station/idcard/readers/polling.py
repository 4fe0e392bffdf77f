"""SAM_V readers without insertion events (serial, raw USB): poll "find card", read, debounce.

The reader asks "find card" every ``poll_interval`` (vendor guidance: no more often than every
300 ms) until a card answers, selects and reads it, and decides on the text block's hash whether
it is a new tap (``samecard``): a card left on the reader is read once, however long it lies
there; another person's card is read even though both select serials are zeros. A read that
fails is reported once and then retried quietly while the card stays, so one bad tap does not
flood the operator with the same message every poll.
"""

from __future__ import annotations

import math
import time

from station.idcard import samv
from station.idcard.errors import (
    CardProblem,
    CardRemovedError,
    NoCardError,
    ReaderClosedError,
    ReaderTimeoutError,
)
from station.idcard.profiles import Timing
from station.idcard.readers.base import Capabilities, CardRead, CardReader, card_read_from_blocks
from station.idcard.samclient import SamClient, Transceive
from station.idcard.samecard import SYSTEM_CLOCK, Clock, SameCardGate, card_key, real_serial_hex


class PollingSamReader(CardReader):
    """The SAM_V conversation and the same-card rule over a transport's ``transceive``."""

    capabilities = Capabilities(reads_serial=False)   # the select serial is a zero placeholder

    def __init__(self, name: str, transceive: Transceive, timing: Timing,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.name = name
        self.timing = timing
        self.clock = clock
        self._client = SamClient(transceive, timing)
        self._gate = SameCardGate(timing.retap_gap, clock)
        self._closed = False
        self._last_poll = -math.inf

    def read(self, timeout: float) -> CardRead:
        deadline = self.clock.monotonic() + timeout
        while True:
            if self._closed:
                raise ReaderClosedError("idcard.reader_closed")
            # Polls keep their distance across calls too: a caller that reads again right after
            # a timeout must not make the reader poll faster than the profile allows.
            next_poll = self._last_poll + self.timing.poll_interval
            if next_poll > deadline:
                self.clock.sleep(max(0.0, deadline - self.clock.monotonic()))
                raise ReaderTimeoutError("idcard.timeout", seconds=round(timeout, 1))
            self.clock.sleep(max(0.0, next_poll - self.clock.monotonic()))
            self._last_poll = self.clock.monotonic()
            result = self._poll()
            if result is not None:
                return result.logged()

    def _poll(self) -> CardRead | None:
        """One look at the reader: a new card's read, or None (no card, same card, quiet retry)."""
        try:
            self._client.find_card()
        except NoCardError:
            self._gate.absent()
            return None
        self._gate.present()
        started = time.perf_counter()
        try:
            serial = self._client.select_card()
            blocks = self._client.read_selected(serial)
        except NoCardError:
            if self._gate.report_failure():     # the card left between find and read
                raise CardRemovedError("idcard.card_removed") from None
            return None
        except CardProblem:
            if self._gate.report_failure():
                raise
            return None
        if not self._gate.is_new(card_key(blocks.text)):
            return None
        result = card_read_from_blocks(blocks.text, blocks.photo,
                                       extra_address=blocks.extra_address,
                                       card_serial=real_serial_hex(serial), reader=self.name)
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        return result

    def sam_status(self) -> samv.Response:
        """Ask the reader's SAM for its status (read-only, no card needed): is it there?"""
        return self._client.command(samv.SAM_STATUS)

    def close(self) -> None:
        self._closed = True
