"""Certified readers that speak SAM_V frames directly over (USB-)serial, 115200 8N1.

The serial protocol has no insertion event: the reader asks "find card" every ``poll_interval``
until a card answers. A card that stays on the reader is read once (same select serial); it must
leave (find card answers "no card") before it is read again.
"""

from __future__ import annotations

import time

from station.idcard import samv
from station.idcard.errors import (
    CardDataError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    ReaderGoneError,
    ReaderNotAnsweringError,
    ReaderTimeoutError,
)
from station.idcard.readers.base import Capabilities, CardRead, CardReader, card_read_from_blocks
from station.idcard.samclient import SamClient


class SerialReader(CardReader):
    capabilities = Capabilities(card_events=True)

    def __init__(self, port: str, baudrate: int = 115200, command_timeout: float = 2.0,
                 poll_interval: float = 0.1) -> None:
        import serial  # pyserial; imported here so `station --help` stays light

        self.name = f"serial:{port}"
        self.port = port
        self.command_timeout = command_timeout
        self.poll_interval = poll_interval
        self._serial_mod = serial
        self._last_serial: bytes | None = None
        try:
            self._port = serial.Serial(port, baudrate=baudrate, bytesize=8, parity="N",
                                       stopbits=1, timeout=command_timeout,
                                       write_timeout=command_timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise NoReaderError("idcard.serial_open_failed", port=port, error=str(exc)) from None
        self._client = SamClient(self._transceive)

    # -- transport -----------------------------------------------------------------------------
    def _read_exact(self, size: int, have: int = 0) -> bytes:
        data = self._port.read(size)
        if len(data) < size:
            if have + len(data) == 0:
                raise ReaderNotAnsweringError("idcard.reader_timeout", seconds=self.command_timeout)
            raise CardDataError("idcard.frame.truncated", expected=have + size,
                                actual=have + len(data))
        return data

    def _transceive(self, frame: bytes) -> bytes:
        serial = self._serial_mod
        try:
            self._port.reset_input_buffer()
            self._port.write(frame)
            header = self._read_exact(samv.HEADER_SIZE)
            size = samv.frame_size(header)
            return header + self._read_exact(size - len(header), have=len(header))
        except (serial.SerialException, OSError) as exc:
            raise ReaderGoneError("idcard.serial_failed", port=self.port, error=str(exc)) from None

    # -- reading -------------------------------------------------------------------------------
    def _card_present(self) -> bool:
        try:
            self._client.find_card()
        except NoCardError:
            self._last_serial = None   # the card left: the next tap is a new read
            return False
        return True

    def read(self, timeout: float) -> CardRead:
        deadline = time.monotonic() + timeout
        while True:
            started = time.perf_counter()
            if self._card_present():
                serial = self._client.select_card()
                if serial != self._last_serial:
                    # This tap is used up even if the read fails: the operator taps again.
                    self._last_serial = serial
                    try:
                        text, photo = self._client.read_text_photo()
                        extra = self._client.read_extra_address()
                    except (NoCardError, ReaderNotAnsweringError):
                        raise CardRemovedError("idcard.card_removed") from None
                    result = card_read_from_blocks(text, photo, extra_address=extra,
                                                   card_serial=serial.hex(), reader=self.name)
                    result.elapsed_ms = (time.perf_counter() - started) * 1000
                    return result.logged()
            if time.monotonic() + self.poll_interval > deadline:
                raise ReaderTimeoutError("idcard.timeout", seconds=round(timeout, 1))
            time.sleep(self.poll_interval)

    def close(self) -> None:
        port = getattr(self, "_port", None)
        if port is not None and port.is_open:
            port.close()
