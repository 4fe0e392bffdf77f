"""PC/SC readers through pcscd and pyscard.

Waiting uses ``SCardGetStatusChange`` (PC/SC events, no busy polling). pcsc-lite keeps a card
event counter in the upper 16 bits of the reader state; the counter of the last successful read
tells "the same card is still lying there" (debounced) from "a card was tapped again" (new read).

A read runs in its own short-lived thread with its own PC/SC context and a deadline: if a
reader or card stops answering, ``read`` reports it instead of hanging, and the stuck thread
cannot block the next wait on the main context.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from station.errors import DeviceError
from station.idcard.errors import (
    CardDataError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    NotASamReaderError,
    ReaderClosedError,
    ReaderGoneError,
    ReaderNotAnsweringError,
    ReaderServiceError,
    ReaderTimeoutError,
)
from station.idcard.profiles import choose_profile
from station.idcard.readers.base import Capabilities, CardRead, CardReader, card_read_from_blocks
from station.idcard.samclient import SamClient

try:
    from smartcard import scard
except ImportError:  # pragma: no cover - pyscard is a declared dependency
    scard = None

NO_CARD_GRACE = 0.5   # seconds to retry "find card" when PC/SC reports a card but the SAM does not


def _codes(*names: str) -> frozenset[int]:
    return frozenset(getattr(scard, n) for n in names if scard is not None and hasattr(scard, n))


_REMOVED = _codes("SCARD_W_REMOVED_CARD", "SCARD_E_NO_SMARTCARD", "SCARD_E_NOT_TRANSACTED",
                  "SCARD_F_COMM_ERROR", "SCARD_W_UNRESPONSIVE_CARD", "SCARD_W_UNPOWERED_CARD",
                  "SCARD_W_RESET_CARD")
_GONE = _codes("SCARD_E_UNKNOWN_READER", "SCARD_E_READER_UNAVAILABLE",
               "SCARD_E_NO_READERS_AVAILABLE")
_NO_SERVICE = _codes("SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED")
# Outside a transaction a broken connection to pcscd means the service went away.
_SERVICE_LOST = _NO_SERVICE | _codes("SCARD_F_COMM_ERROR")


def establish_context() -> int:
    if scard is None:
        raise NoReaderError("idcard.pcsc_missing")
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise NoReaderError("idcard.no_pcscd")
    return context


def list_readers(context: int | None = None) -> list[str]:
    """Names of the PC/SC readers pcscd knows now (raises NoReaderError if pcscd is down)."""
    own = context is None
    context = establish_context() if own else context
    try:
        hresult, readers = scard.SCardListReaders(context, [])
        if hresult in _NO_SERVICE:
            raise NoReaderError("idcard.no_pcscd")
        return list(readers) if hresult == scard.SCARD_S_SUCCESS else []
    finally:
        if own:
            scard.SCardReleaseContext(context)


class PcscReader(CardReader):
    """A PC/SC reader; SAM_V frames go through the envelope of its profile (drivers/readers)."""

    def __init__(self, name: str | None = None, profile: str | None = None,
                 command_timeout: float = 3.0, profiles_dir: Path | None = None) -> None:
        self._context = establish_context()
        self._closed = False
        try:
            self.reader_name = self._find_reader(name)
        except DeviceError:
            scard.SCardReleaseContext(self._context)
            raise
        self.name = f"pcsc:{self.reader_name}"
        self.profile = choose_profile(self.reader_name, profile, profiles_dir)
        self.command_timeout = command_timeout
        if self.profile.tunnel is None:
            self.capabilities = Capabilities(reads_identity=False, reads_photo=False)
        else:
            self.capabilities = Capabilities()
        self._last_counter: int | None = None
        self._last_serial: str | None = None

    def _find_reader(self, wanted: str | None) -> str:
        readers = list_readers(self._context)
        if wanted:
            for reader in readers:
                if wanted.lower() in reader.lower():
                    return reader
        elif readers:
            return readers[0]
        raise NoReaderError("idcard.no_reader", name=f" “{wanted}”" if wanted else "",
                            available=", ".join(readers) or "-")

    # -- waiting -------------------------------------------------------------------------------
    def _check(self, hresult: int) -> None:
        if hresult == scard.SCARD_S_SUCCESS:
            return
        if hresult == scard.SCARD_E_CANCELLED or self._closed:
            raise ReaderClosedError("idcard.reader_closed")
        if hresult in _SERVICE_LOST:
            raise NoReaderError("idcard.no_pcscd")
        if hresult in _GONE:
            raise ReaderGoneError("idcard.reader_gone", reader=self.reader_name)
        raise ReaderServiceError("idcard.pcsc_error", error=scard.SCardGetErrorMessage(hresult),
                          reader=self.reader_name)

    def _wait_for_new_card(self, timeout: float) -> int:
        """Block until a card is on the reader that was not read yet; returns its event counter."""
        deadline = time.monotonic() + timeout
        states = [(self.reader_name, scard.SCARD_STATE_UNAWARE)]
        wait_ms = 0
        while True:
            hresult, states = scard.SCardGetStatusChange(self._context, wait_ms, states)
            if hresult == scard.SCARD_E_TIMEOUT:
                raise ReaderTimeoutError("idcard.timeout", seconds=round(timeout, 1))
            self._check(hresult)
            _, event, _ = states[0]
            if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                raise ReaderGoneError("idcard.reader_gone", reader=self.reader_name)
            counter = event >> 16
            present = event & scard.SCARD_STATE_PRESENT and not event & scard.SCARD_STATE_MUTE
            if present and counter != self._last_counter:
                return counter
            if event & scard.SCARD_STATE_EMPTY:
                self._last_counter = self._last_serial = None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReaderTimeoutError("idcard.timeout", seconds=round(timeout, 1))
            wait_ms = max(1, int(remaining * 1000))
            states = [(self.reader_name, event & ~scard.SCARD_STATE_CHANGED)]

    # -- one transaction -----------------------------------------------------------------------
    def _transmit(self, card: int, protocol: int, apdu: bytes) -> tuple[bytes, int, int]:
        hresult, response = scard.SCardTransmit(card, protocol, list(apdu))
        if hresult in _REMOVED:
            raise CardRemovedError("idcard.card_removed")
        self._check(hresult)
        if not response:    # vpcd and some readers answer nothing at all when the card left
            raise CardRemovedError("idcard.card_removed")
        if len(response) < 2:
            raise CardDataError("idcard.frame.bad_payload", detail="answer without status word")
        return bytes(response[:-2]), response[-2], response[-1]

    def _tunnel(self, card: int, protocol: int, frame: bytes) -> bytes:
        tunnel = self.profile.tunnel
        if tunnel is None:
            raise CardDataError("idcard.frame.bad_payload", detail="profile without a tunnel")
        if len(frame) > 255:
            raise CardDataError("idcard.frame.data_too_long", length=len(frame))
        data, sw1, sw2 = self._transmit(card, protocol, tunnel.header + bytes([len(frame)]) + frame)
        parts = [data]
        for _ in range(64):     # 1295 bytes need 6 parts; 64 bounds a misbehaving reader
            if (sw1, sw2) == (0x90, 0x00):
                return b"".join(parts)
            if sw1 != tunnel.more_data_sw1:
                raise CardDataError("idcard.frame.bad_payload",
                                    detail=f"reader status {sw1:02X} {sw2:02X}")
            data, sw1, sw2 = self._transmit(card, protocol, tunnel.get_response + bytes([sw2]))
            parts.append(data)
        raise CardDataError("idcard.frame.bad_payload", detail="answer never ends")

    def _transaction(self) -> CardRead:
        context = establish_context()
        try:
            hresult, card, protocol = scard.SCardConnect(
                context, self.reader_name, scard.SCARD_SHARE_SHARED,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
            if hresult in _REMOVED:
                raise CardRemovedError("idcard.card_removed")
            self._check(hresult)
            try:
                return self._read_connected(card, protocol)
            finally:
                scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        finally:
            scard.SCardReleaseContext(context)

    def _read_connected(self, card: int, protocol: int) -> CardRead:
        serial = None
        if self.profile.card_serial_apdu:
            data, sw1, sw2 = self._transmit(card, protocol, self.profile.card_serial_apdu)
            if (sw1, sw2) == (0x90, 0x00) and len(data) == 8:
                serial = data.hex()
        if self.profile.tunnel is None:
            raise NotASamReaderError("idcard.not_a_sam_reader", reader=self.reader_name)
        client = SamClient(lambda frame: self._tunnel(card, protocol, frame))
        give_up = time.monotonic() + NO_CARD_GRACE
        while True:
            try:
                client.find_card()
                break
            except NoCardError:
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.05)
        select_serial = client.select_card()
        text, photo = client.read_text_photo()
        extra = client.read_extra_address()
        return card_read_from_blocks(text, photo, extra_address=extra,
                                     card_serial=serial or select_serial.hex(),
                                     reader=self.name)

    def _run_with_deadline(self) -> CardRead:
        box: dict = {}

        def work() -> None:
            try:
                box["result"] = self._transaction()
            except BaseException as exc:  # handed to the caller's thread below
                box["error"] = exc

        worker = threading.Thread(target=work, name="pcsc-read", daemon=True)
        worker.start()
        worker.join(self.command_timeout)
        if worker.is_alive():
            raise ReaderNotAnsweringError("idcard.reader_timeout", seconds=self.command_timeout)
        if "error" in box:
            raise box["error"]
        return box["result"]

    def read(self, timeout: float) -> CardRead:
        if self._closed:
            raise ReaderClosedError("idcard.reader_closed")
        counter = self._wait_for_new_card(timeout)
        started = time.perf_counter()
        try:
            result = self._run_with_deadline()
        except DeviceError:
            # A failed read also consumes this tap: the message asks for a new tap, and the
            # caller's loop must not spin on a card that fails the same way again and again.
            self._last_counter = counter
            raise
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        self._last_counter, self._last_serial = counter, result.card_serial
        return result.logged()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        scard.SCardCancel(self._context)
        scard.SCardReleaseContext(self._context)
