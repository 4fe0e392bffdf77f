"""The in-process simulated reader: the demo's "tap" puts a card on it.

Cards travel through a ``VirtualSam`` and the real frame codec and decoder, so the demo exercises
the same code as a real reader, only without the hardware.
"""

from __future__ import annotations

import queue
import time

from station.domain.identity import Identity
from station.idcard.emulator import CardPulled, VirtualCard, VirtualSam
from station.idcard.errors import CardRemovedError, ReaderTimeoutError
from station.idcard.readers.base import Capabilities, CardRead, CardReader, card_read_from_blocks
from station.idcard.samclient import SamClient
from station.idcard.samecard import real_serial_hex

_CLOSED = object()


class SimReader(CardReader):
    """``present(identity)`` queues a tap; ``read(timeout)`` returns it as a real read would."""

    capabilities = Capabilities(card_events=True)

    def __init__(self, name: str = "sim") -> None:
        self.name = name
        self._taps: queue.Queue = queue.Queue()
        self._closed = False

    def present(self, identity: Identity | VirtualCard, *, fault: str | None = None,
                extra_address: str | None = None) -> VirtualCard:
        """Queue one card tap (an Identity, or a VirtualCard for full control); returns the card."""
        card = identity if isinstance(identity, VirtualCard) else VirtualCard(
            identity, fault=fault, extra_address=extra_address)
        self._taps.put(card)
        return card

    @property
    def pending(self) -> int:
        """Taps queued and not yet read."""
        return self._taps.qsize()

    def read(self, timeout: float) -> CardRead:
        started = time.perf_counter()
        try:
            card = self._taps.get(timeout=max(timeout, 0))
        except queue.Empty:
            raise ReaderTimeoutError("idcard.timeout", seconds=round(timeout, 1)) from None
        if card is _CLOSED:
            self._taps.put(_CLOSED)     # wake any other waiting reader thread too
            raise ReaderTimeoutError("idcard.timeout", seconds=round(timeout, 1))
        sam = VirtualSam(card)
        try:
            blocks = SamClient(sam.transceive).read_card()
        except CardPulled:
            raise CardRemovedError("idcard.card_removed") from None
        # Like a SAM reader on serial or USB: no physical card serial, and the select serial is
        # a zero placeholder, so no card_serial.
        result = card_read_from_blocks(blocks.text, blocks.photo,
                                       extra_address=blocks.extra_address,
                                       card_serial=real_serial_hex(blocks.select_serial),
                                       reader=self.name)
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        return result.logged()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._taps.put(_CLOSED)
