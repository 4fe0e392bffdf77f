"""Certified readers that speak SAM_V frames directly over (USB-)serial, 8N1.

Baud rate, poll interval and per-command deadlines come from the reader's profile
(drivers/readers, transport = "serial"; ``samv-serial`` by default).
"""

from __future__ import annotations

import termios
from pathlib import Path

from station import reasons
from station.idcard import samv
from station.idcard.errors import (
    CardDataError,
    NoReaderError,
    ReaderGoneError,
    ReaderNotAnsweringError,
)
from station.idcard.profiles import Timing, choose_profile
from station.idcard.readers.polling import PollingSamReader
from station.idcard.samecard import SYSTEM_CLOCK, Clock


class SerialReader(PollingSamReader):
    def __init__(self, port: str, profile: str | None = None, timing: Timing | None = None,
                 clock: Clock = SYSTEM_CLOCK, profiles_dir: Path | None = None) -> None:
        import serial  # pyserial; imported here so `station --help` stays light

        self.profile = choose_profile(port, profile, profiles_dir, transport="serial")
        self.port = port
        self._serial_mod = serial
        self._sent = 0.0
        super().__init__(f"serial:{port}", self._transceive, timing or self.profile.timing,
                         clock)
        first = self.timing.deadlines["default"]
        try:
            self._port = serial.Serial(port, baudrate=self.profile.baudrate, bytesize=8,
                                       parity="N", stopbits=1, timeout=first,
                                       write_timeout=first)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise NoReaderError(_open_failure(exc), port=port, error=reasons.of(exc)) from None

    # -- transport -----------------------------------------------------------------------------
    def _read_exact(self, size: int, end: float, have: int = 0) -> bytes:
        data = bytearray()
        while len(data) < size:
            remaining = end - self.clock.monotonic()
            if remaining <= 0:
                break
            self._port.timeout = remaining
            chunk = self._port.read(size - len(data))
            if not chunk:
                break
            data.extend(chunk)
        if len(data) < size:
            if have + len(data) == 0:
                raise ReaderNotAnsweringError("idcard.reader_timeout",
                                              seconds=round(end - self._sent, 1))
            raise CardDataError("idcard.frame.truncated", expected=have + size,
                                actual=have + len(data))
        return bytes(data)

    def _transceive(self, frame: bytes, deadline: float) -> bytes:
        serial = self._serial_mod
        try:
            self._port.reset_input_buffer()
            self._sent = self.clock.monotonic()
            end = self._sent + deadline
            self._port.write_timeout = deadline
            self._port.write(frame)
            header = self._read_exact(samv.HEADER_SIZE, end)
            size = samv.frame_size(header)
            return header + self._read_exact(size - len(header), end, have=len(header))
        except (serial.SerialException, OSError, termios.error) as exc:
            raise ReaderGoneError("idcard.serial_failed", port=self.port, error=reasons.of(exc)) from None

    def close(self) -> None:
        super().close()
        port = getattr(self, "_port", None)
        if port is not None and port.is_open:
            port.close()


def _open_failure(exc: BaseException) -> str:
    """The words for a port that would not open: what the operator can do about it, not errno
    text (camera.md: never a bare errno). pyserial keeps the OS's errno on its exception."""
    import errno

    code = getattr(exc, "errno", None)
    return {errno.ENOENT: "idcard.serial_missing", errno.ENODEV: "idcard.serial_missing",
            errno.ENXIO: "idcard.serial_missing", errno.EACCES: "idcard.serial_denied",
            errno.EPERM: "idcard.serial_denied", errno.EBUSY: "idcard.serial_busy",
            }.get(code if isinstance(code, int) else -1, "idcard.serial_open_failed")
