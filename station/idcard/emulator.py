"""A virtual SAM with a virtual ID card on it: answers SAM_V request frames like a real module.

Used three ways, all through the same frames the real readers see:
- in process by the ``sim`` reader (the demo),
- behind a pseudo-terminal as a serial SAM_V reader (``SerialSamServer``),
- behind pcscd's vpcd driver as a PC/SC SAM reader (``station.idcard.vpcd_card``).

``VirtualCard.fault`` makes the SAM misbehave on purpose, for tests and demos of error screens.
"""

from __future__ import annotations

import hashlib
import os
import select
import threading
import time
from dataclasses import dataclass

from station.domain.identity import Identity
from station.idcard import samv
from station.idcard.errors import CardDataError
from station.idcard.record import PHOTO_SIZE, encode_extra_address, encode_text

# What a fault does:
#   no_card        find card answers 80 although the reader reports a card
#   select_failed  select card answers SW1 SW2 SW3 = 12 34 81 (the manual's "XX XX 81")
#   read_failed    read text+photo answers 41
#   checksum       the read answer's checksum byte is wrong
#   truncated      the read answer is cut short by 100 bytes
#   pull           the card is pulled during the read (PC/SC: the transport drops; serial and
#                  USB: the read answers 41 and the card is gone)
#   mute           the SAM never answers the read command
FAULTS = ("no_card", "select_failed", "read_failed", "checksum", "truncated", "pull", "mute")


class CardPulled(Exception):
    """Raised inside an emulator transport: the card leaves the field now."""


@dataclass
class VirtualCard:
    """A card to present: its identity and the details a SAM would return for it."""

    identity: Identity
    layout: str | None = None            # "", "J", "I" or "Y"; default from the card type
    serial: bytes = b""                  # physical card serial (00 36 over PC/SC); 8 bytes,
                                         # default (b"") derived from the ID number
    select_serial: bytes = bytes(8)      # the select-card reply: zeros, as on every real card
    photo: bytes = b""                   # 1024 bytes; default (b"") a deterministic filler
    extra_address: str | None = None
    fault: str | None = None
    text_extra: dict | None = None       # layout-only fields (pass number, card version, …)

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; choose from {', '.join(FAULTS)}")
        seed = hashlib.sha256(self.identity.id_number.encode()).digest()
        if not self.serial:
            self.serial = seed[:8]
        if not self.photo:
            self.photo = (seed * (PHOTO_SIZE // len(seed) + 1))[:PHOTO_SIZE]
        self._text = encode_text(self.identity, self.layout, **(self.text_extra or {}))

    @property
    def text(self) -> bytes:
        return self._text

    @property
    def serial_hex(self) -> str:
        return self.serial.hex() if self.serial else ""


class VirtualSam:
    """The security module: one ``handle(request_frame) -> response_frame`` per command."""

    def __init__(self, card: VirtualCard | None = None) -> None:
        self.card = card
        self.commands: list[tuple[int, int]] = []   # what was asked, for tests

    def transceive(self, frame: bytes, deadline: float = 0.0) -> bytes:
        """``handle`` in the shape ``SamClient`` takes (an in-memory SAM needs no deadline)."""
        return self.handle(frame)

    def handle(self, frame: bytes) -> bytes:
        try:
            request = samv.parse_request(frame)
        except CardDataError as exc:
            code = samv.SW3_CHECKSUM if exc.key == "idcard.frame.bad_checksum" else samv.SW3_LENGTH
            return samv.build_response(code)
        self.commands.append(request.command)
        card, fault = self.card, (self.card.fault if self.card else None)
        cmd = request.command
        if cmd in (samv.RESET_SAM, samv.SAM_STATUS):
            return samv.build_response(samv.SW3_SUCCESS)
        if cmd == samv.SAM_ID:
            return samv.build_response(samv.SW3_SUCCESS, bytes(range(16)))
        if cmd == samv.FIND_CARD:
            if card is None or fault == "no_card":
                return samv.build_response(samv.SW3_NO_CARD)
            return samv.build_response(samv.SW3_CARD_FOUND, bytes(4))
        if card is None:
            return samv.build_response(samv.SW3_NO_CARD)
        if cmd == samv.SELECT_CARD:
            if fault == "select_failed":
                return samv.build_response(samv.SW3_SELECT_FAILED, sw1=0x12, sw2=0x34)
            return samv.build_response(samv.SW3_SUCCESS, card.select_serial)
        if cmd == samv.READ_TEXT_PHOTO:
            return self._read(card)
        if cmd == samv.READ_EXTRA_ADDRESS:
            if not card.extra_address:
                return samv.build_response(samv.SW3_NO_CONTENT)
            return samv.build_response(samv.SW3_SUCCESS, encode_extra_address(card.extra_address))
        return samv.build_response(samv.SW3_COMMAND)

    def _read(self, card: VirtualCard) -> bytes:
        if card.fault == "pull":
            raise CardPulled()
        if card.fault == "read_failed":
            return samv.build_response(samv.SW3_READ_FAILED)
        photo = card.photo or b""
        data = (len(card.text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
                + card.text + photo)
        frame = samv.build_response(samv.SW3_SUCCESS, data)
        if card.fault == "checksum":
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        elif card.fault == "truncated":
            frame = frame[:-100]
        return frame


class SerialSamServer:
    """A serial SAM_V reader on the master side of a pseudo-terminal (tests, demos).

    Reads request frames from ``fd`` and writes the SAM's answers; a ``mute`` card leaves the
    read unanswered, a ``pull``ed card leaves the reader and the read answers "read failed".
    """

    def __init__(self, fd: int, sam: VirtualSam | None = None) -> None:
        self.fd = fd
        self.sam = sam or VirtualSam()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="serial-sam", daemon=True)

    def start(self) -> SerialSamServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _read_exact(self, size: int, buf: bytearray) -> bool:
        while len(buf) < size:
            if self._stop.is_set():
                return False
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, size - len(buf))
            except OSError:
                return False
            if not chunk:
                return False
            buf.extend(chunk)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            buf = bytearray()
            if not self._read_exact(samv.HEADER_SIZE, buf):
                return
            try:
                size = samv.frame_size(bytes(buf))
            except CardDataError:
                continue    # garbage on the line: resynchronise on the next frame
            if not self._read_exact(size, buf):
                return
            card = self.sam.card
            if card is not None and card.fault == "mute" and buf[7:9] == bytes(samv.READ_TEXT_PHOTO):
                continue
            try:
                answer = self.sam.handle(bytes(buf))
            except CardPulled:
                self.sam.card = None         # the card left mid-read: the SAM says "read failed"
                answer = samv.build_response(samv.SW3_READ_FAILED)
            view = memoryview(answer)
            while view:
                view = view[os.write(self.fd, view):]


def wait_for(condition, timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll ``condition`` until true or timeout (test and demo helper, never used by readers)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
