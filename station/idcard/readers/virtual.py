"""The ``virtual`` reader: the real PC/SC stack (pyscard → pcscd → vpcd) with the card emulator
built in, so ``station simulate --reader virtual`` and demos run through everything but hardware.

``present(identity)`` takes the previous card off (waiting until pcscd has noticed, so the next
tap is a new read) and puts the new one on. A private pcscd is started when the machine allows it
(see ``virtual_pcscd``); otherwise the system pcscd with its packaged vpcd reader is used.
Note: libpcsclite binds a process to one pcscd socket on first use, so open this reader before
anything else in the process talks PC/SC, or pass ``port`` and ``reader`` of a running vpcd.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from station.domain.identity import Identity
from station.idcard import virtual_pcscd
from station.idcard.emulator import VirtualCard
from station.idcard.readers.base import CardRead, CardReader
from station.idcard.readers.pcsc import PcscReader, establish_context, scard
from station.idcard.vpcd_card import DEFAULT_PORT, VpcdCard


def wait_for_card_state(reader: str, present: bool, timeout: float) -> bool:
    """Block on PC/SC events (own context) until ``reader`` has / has no card; False on timeout."""
    context = establish_context()
    try:
        states = [(reader, scard.SCARD_STATE_UNAWARE)]
        deadline = time.monotonic() + timeout
        wait_ms = 0
        while True:
            hresult, states = scard.SCardGetStatusChange(context, wait_ms, states)
            if hresult == scard.SCARD_S_SUCCESS:
                event = states[0][1]
                if bool(event & scard.SCARD_STATE_PRESENT) == present:
                    return True
                states = [(reader, event & ~scard.SCARD_STATE_CHANGED)]
            elif hresult != scard.SCARD_E_TIMEOUT:
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait_ms = max(1, int(remaining * 1000))
    finally:
        scard.SCardReleaseContext(context)


class VirtualReader(CardReader):
    """A PcscReader on a vpcd reader plus the emulator that puts cards on it."""

    def __init__(self, port: int | None = None, reader: str | None = None,
                 profile: str | None = None) -> None:
        self._tmp = None
        self._server = None
        if port is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="station-vpcd-")
            self._server = virtual_pcscd.start(Path(self._tmp.name))
            if self._server is not None:
                port, reader = self._server.port, self._server.readers[0]
            else:
                port, reader = DEFAULT_PORT, reader or "Virtual PCD"
        try:
            self._pcsc = PcscReader(reader, profile=profile)
        except Exception:
            self._cleanup()
            raise
        self._card = VpcdCard(port=port, profile=self._pcsc.profile)
        self.name = f"virtual:{self._pcsc.reader_name}"
        self.capabilities = self._pcsc.capabilities

    def present(self, identity: Identity | VirtualCard, *, fault: str | None = None,
                extra_address: str | None = None) -> VirtualCard:
        """Tap a card: the previous one leaves the reader first."""
        card = identity if isinstance(identity, VirtualCard) else VirtualCard(
            identity, fault=fault, extra_address=extra_address)
        if self._card.inserted:
            self.remove()
        self._card.insert(card)
        return card

    def remove(self, timeout: float = 3.0) -> None:
        self._card.remove()
        wait_for_card_state(self._pcsc.reader_name, present=False, timeout=timeout)

    def read(self, timeout: float) -> CardRead:
        return self._pcsc.read(timeout)

    def _cleanup(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def close(self) -> None:
        self._pcsc.close()
        self._card.remove()
        self._cleanup()
