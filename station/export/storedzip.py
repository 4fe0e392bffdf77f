"""A zip of stored (uncompressed) members written front to back, hashed as it is written.

The upload zip holds JPEGs, which do not compress, so every member is stored. With each member's
CRC-32 and size known before its header (the photo writer computes them on its threads), the file
is written in one sequential pass with no seeking back: its SHA-256 comes for free, and there are
no data descriptors (which some zip readers mishandle on stored members). Fixed times and modes
make its bytes a function of the photos alone.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_VERSION = 20                       # 2.0: what every reader understands
_MADE_BY = (3 << 8) | _VERSION      # unix, so the file mode below is read
_UTF8 = 0x800
_MODE = 0o100644 << 16
MAX_MEMBERS = 0xFFFF
MAX_BYTES = 0xFFFFFFFF


class ZipTooLarge(ValueError):
    """More members or bytes than a zip without Zip64 can hold (a batch never comes close)."""


def dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return (hour << 11) | (minute << 5) | (second // 2), ((max(year, 1980) - 1980) << 9) | (month << 5) | day


class StoredZip:
    """``add(name, data, crc)`` in the order wanted, then ``close()`` → the file's SHA-256."""

    def __init__(self, path: Path, date_time: tuple[int, int, int, int, int, int]) -> None:
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._time, self._date = dos_time(date_time)
        self._sha = hashlib.sha256()
        self._offset = 0
        self._central: list[bytes] = []

    def _out(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError("zip already closed")
        self._sha.update(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        self._offset += len(data)

    def add(self, name: str, data: bytes, crc: int) -> None:
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else _UTF8
        if len(self._central) >= MAX_MEMBERS or self._offset + len(data) + 512 > MAX_BYTES:
            raise ZipTooLarge(name)
        offset = self._offset
        self._out(_LOCAL.pack(0x04034B50, _VERSION, flags, 0, self._time, self._date, crc, len(data),
                              len(data), len(encoded), 0) + encoded)
        self._out(data)
        self._central.append(_CENTRAL.pack(0x02014B50, _MADE_BY, _VERSION, flags, 0, self._time, self._date,
                                           crc, len(data), len(data), len(encoded), 0, 0, 0, 0, _MODE,
                                           offset) + encoded)

    def close(self) -> str:
        start = self._offset
        directory = b"".join(self._central)
        self._out(directory + _END.pack(0x06054B50, 0, 0, len(self._central), len(self._central),
                                        len(directory), start, 0))
        self.abort()
        return self._sha.hexdigest()

    def abort(self) -> None:
        """Close the file (idempotent); the caller removes it."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
