"""PC/SC readers through pcscd and pyscard.

Waiting uses ``SCardGetStatusChange`` (PC/SC events, no busy polling). pcsc-lite keeps a card
event counter in the upper 16 bits of the reader state; the counter of the last successful read
tells "the same card is still lying there" (debounced) from "a card was tapped again" (new read).

A read runs in its own short-lived thread with its own PC/SC context, under the per-command
deadlines of the reader's profile: if a reader or card stops answering, ``read`` reports it
instead of hanging, and the stuck thread cannot block the next wait on the main context.

The profile's envelope says how the SAM is reached: ``tunnel`` (SAM_V frames in pseudo-APDUs,
long answers by GET RESPONSE) or ``block-read`` (the reader runs the SAM itself and hands out the
read answer in blocks). The card serial comes from the card itself (``00 36 00 00 08``), never
from the select reply's zero placeholder.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from station.errors import DeviceError
from station.idcard import samv
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
from station.idcard.profiles import Profile, Timing, Tunnel, choose_profile, load_profiles
from station.idcard.readers.base import (
    Capabilities,
    CardRead,
    CardReader,
    ProbeResult,
    card_read_from_blocks,
)
from station.idcard.record import TEXT_SIZE
from station.idcard.samclient import CardBlocks, SamClient, split_text_photo
from station.idcard.samecard import real_serial_hex

try:
    from smartcard import scard
except ImportError:  # pragma: no cover - pyscard is a declared dependency
    scard = None

NO_CARD_GRACE = 0.7   # seconds to retry "find card" when PC/SC reports a card but the SAM does not


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


T = TypeVar("T")


class _Deadline:
    """The deadline of the command in flight, moved on by the reading thread per command."""

    def __init__(self) -> None:
        self.expiry = math.inf
        self.seconds = 0.0

    def arm(self, seconds: float) -> None:
        self.seconds, self.expiry = seconds, time.monotonic() + seconds


class PcscReader(CardReader):
    """A PC/SC reader; SAM_V frames go through the envelope of its profile (drivers/readers)."""

    def __init__(self, name: str | None = None, profile: str | None = None,
                 timing: Timing | None = None, profiles_dir: Path | None = None) -> None:
        self._context = establish_context()
        self._closed = False
        try:
            self.reader_name = self._find_reader(name)
        except DeviceError:
            scard.SCardReleaseContext(self._context)
            raise
        self.name = f"pcsc:{self.reader_name}"
        self.profile: Profile = choose_profile(self.reader_name, profile, profiles_dir)
        self.timing = timing or self.profile.timing
        if self.profile.envelope == "serial-only":
            self.capabilities = Capabilities(reads_identity=False, reads_photo=False)
        else:
            self.capabilities = Capabilities()
        self._last_counter: int | None = None
        self._deadline = _Deadline()

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
                self._last_counter = None
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

    def _tunnel(self, card: int, protocol: int, frame: bytes, deadline: float,
                tunnel: Tunnel | None = None) -> bytes:
        tunnel = tunnel or self.profile.tunnel
        assert tunnel is not None
        self._deadline.arm(deadline)
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

    def _block_read(self, card: int, protocol: int) -> CardBlocks:
        """The read answer's data, block by block (the reader ran the SAM conversation)."""
        block_read = self.profile.block_read
        assert block_read is not None
        self._deadline.arm(self.timing.deadline(samv.READ_TEXT_PHOTO))
        data = bytearray()
        for block in range(block_read.blocks):
            chunk, sw1, sw2 = self._transmit(card, protocol, block_read.apdu(block))
            if (sw1, sw2) != (0x90, 0x00):
                raise CardDataError("idcard.block_read_failed", block=block,
                                    sw=f"{sw1:02X} {sw2:02X}")
            data.extend(chunk)
        size = 4 + int.from_bytes(data[0:2], "big") + int.from_bytes(data[2:4], "big")
        text, photo = split_text_photo(bytes(data[:size]), "block read")
        return CardBlocks(text, photo, None)

    def _connected(self, work: Callable[[int, int], T]) -> T:
        """``work(card, protocol)`` on a fresh connection of this thread's own context."""
        context = establish_context()
        try:
            hresult, card, protocol = scard.SCardConnect(
                context, self.reader_name, scard.SCARD_SHARE_SHARED,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
            if hresult in _REMOVED:
                raise CardRemovedError("idcard.card_removed")
            self._check(hresult)
            try:
                return work(card, protocol)
            finally:
                scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        finally:
            scard.SCardReleaseContext(context)

    def _card_serial(self, card: int, protocol: int) -> bytes | None:
        """The card's own 8-byte serial (the physical card: real, unlike the select reply's)."""
        if not self.profile.card_serial_apdu:
            return None
        self._deadline.arm(self.timing.deadlines["default"])
        data, sw1, sw2 = self._transmit(card, protocol, self.profile.card_serial_apdu)
        return data if (sw1, sw2) == (0x90, 0x00) and len(data) == 8 else None

    def _read_connected(self, card: int, protocol: int) -> CardRead:
        serial = self._card_serial(card, protocol)
        if self.profile.block_read is not None:
            blocks = self._block_read(card, protocol)
        elif self.profile.tunnel is not None:
            blocks = self._sam_read(SamClient(
                lambda frame, deadline: self._tunnel(card, protocol, frame, deadline),
                self.timing))
        else:
            raise NotASamReaderError("idcard.not_a_sam_reader", reader=self.reader_name)
        return card_read_from_blocks(
            blocks.text, blocks.photo, extra_address=blocks.extra_address,
            card_serial=real_serial_hex(serial) or real_serial_hex(blocks.select_serial),
            reader=self.name)

    def _sam_read(self, client: SamClient) -> CardBlocks:
        give_up = time.monotonic() + NO_CARD_GRACE
        while True:
            try:
                client.find_card()
                break
            except NoCardError:
                if time.monotonic() > give_up:
                    raise
                # the vendor's pace for "find card" (never more often than every ~300 ms); the
                # wait is the reader's, not a command's, so it does not count against a deadline
                self._deadline.arm(self.timing.poll_interval + self.timing.deadline(samv.FIND_CARD))
                time.sleep(self.timing.poll_interval)
        return client.read_selected(client.select_card())

    def _run_with_deadline(self, task: Callable[[], T]) -> T:
        box: dict = {}

        def work() -> None:
            try:
                box["result"] = task()
            except BaseException as exc:  # handed to the caller's thread below
                box["error"] = exc

        self._deadline.arm(self.timing.deadlines["default"])    # connecting
        worker = threading.Thread(target=work, name="pcsc-read", daemon=True)
        worker.start()
        while worker.is_alive():
            remaining = self._deadline.expiry - time.monotonic()
            if remaining <= 0:
                break
            worker.join(remaining)      # the worker may move the deadline on meanwhile
        if worker.is_alive():
            raise ReaderNotAnsweringError("idcard.reader_timeout",
                                          seconds=round(self._deadline.seconds, 1))
        if "error" in box:
            raise box["error"]
        return box["result"]

    # -- probing the envelopes -------------------------------------------------------------------
    def probe(self, timeout: float, profiles_dir: Path | None = None) -> list[ProbeResult]:
        """Wait for a card, then try every known PC/SC envelope with a read-only command: the
        card serial (00 36), SAM status through the tunnel (11 FF), block 0 of a block read.
        Nothing is written to the card."""
        self._wait_for_new_card(timeout)
        profiles = list(load_profiles(profiles_dir, "pcsc").values())
        results: list[ProbeResult] = []

        def work(card: int, protocol: int) -> None:
            for profile in profiles:
                results.append(self._probe_one(card, protocol, profile))

        self._run_with_deadline(lambda: self._connected(work))
        return results

    def _probe_one(self, card: int, protocol: int, profile: Profile) -> ProbeResult:
        result = ProbeResult(profile.name, profile.envelope, profile.verified)
        self._deadline.arm(self.timing.deadlines["default"])
        try:
            if profile.tunnel is not None:
                frame = self._tunnel(card, protocol, samv.build_request(samv.SAM_STATUS),
                                     self.timing.deadline(samv.SAM_STATUS), profile.tunnel)
                response = samv.parse_response(frame)
                result.answers = response.sw3 == samv.SW3_SUCCESS
                result.detail = f"SAM status SW3 {response.sw3:02X}"
            elif profile.block_read is not None:
                data, sw1, sw2 = self._transmit(card, protocol, profile.block_read.apdu(0))
                text_len = int.from_bytes(data[0:2], "big") if len(data) >= 4 else 0
                result.answers = (sw1, sw2) == (0x90, 0x00) and text_len == TEXT_SIZE
                result.detail = (f"block 0: {len(data)} bytes, text length {text_len}"
                                 if (sw1, sw2) == (0x90, 0x00) else f"SW {sw1:02X} {sw2:02X}")
            elif profile.card_serial_apdu:
                data, sw1, sw2 = self._transmit(card, protocol, profile.card_serial_apdu)
                result.answers = (sw1, sw2) == (0x90, 0x00) and len(data) == 8
                result.detail = (f"card serial {len(data)} bytes" if result.answers
                                 else f"SW {sw1:02X} {sw2:02X}")
        except CardDataError as exc:
            result.detail = exc.messages[1]
        return result

    def read(self, timeout: float) -> CardRead:
        if self._closed:
            raise ReaderClosedError("idcard.reader_closed")
        counter = self._wait_for_new_card(timeout)
        started = time.perf_counter()
        try:
            result = self._run_with_deadline(lambda: self._connected(self._read_connected))
        except DeviceError:
            # A failed read also consumes this tap: the message asks for a new tap, and the
            # caller's loop must not spin on a card that fails the same way again and again.
            self._last_counter = counter
            raise
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        self._last_counter = counter
        return result.logged()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        scard.SCardCancel(self._context)
        scard.SCardReleaseContext(self._context)
