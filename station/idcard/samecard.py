"""Is the card on the reader the one just read, or a new tap? Decided on what the card holds.

The select-card reply's 8-byte serial is all zeros on real cards, so it cannot tell two cards
apart. The key is a hash of the 256-byte text block (and of the physical card UID where the
transport offers a real one): the same card lying on the reader gives the same key, another
person's card a different one even when both serials are zeros.

A card counts as tapped again when it comes back after the reader saw no card for at least
``retap_gap`` seconds; a reader whose "find card" flickers for a poll while the card lies still
does not make two reads of one tap.
"""

from __future__ import annotations

import hashlib
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic time and sleeping; tests pass a clock whose sleep only moves time on."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


def real_serial(serial: bytes | None) -> bytes | None:
    """The serial if it identifies a card; None for a missing or all-zero placeholder."""
    return serial if serial and any(serial) else None


def real_serial_hex(serial: bytes | None) -> str | None:
    """Lower-case hex of a real serial, None for a missing or all-zero one (cli.md)."""
    real = real_serial(serial)
    return real.hex() if real is not None else None


def card_key(text: bytes, uid: bytes | None = None) -> str:
    """Same-card key: SHA-256 over the physical UID (when real) and the text block."""
    digest = hashlib.sha256()
    uid = real_serial(uid)
    if uid is not None:
        digest.update(b"uid:" + uid)
    digest.update(b"text:" + bytes(text))
    return digest.hexdigest()


class SameCardGate:
    """Remembers the last card read and when the reader last saw no card."""

    def __init__(self, retap_gap: float, clock: Clock = SYSTEM_CLOCK) -> None:
        self.retap_gap = retap_gap
        self.clock = clock
        self._last_key: str | None = None
        self._absent_since: float | None = None
        self._gap_before = 0.0
        self._failure_reported = False

    def absent(self) -> None:
        """The reader found no card now."""
        if self._absent_since is None:
            self._absent_since = self.clock.monotonic()
        self._failure_reported = False

    def present(self) -> None:
        """The reader found a card now (before it is read)."""
        if self._absent_since is not None:
            self._gap_before = self.clock.monotonic() - self._absent_since
            self._absent_since = None

    def is_new(self, key: str) -> bool:
        """Whether the card with ``key`` is a new tap; remembers it either way."""
        new = key != self._last_key or self._gap_before >= self.retap_gap
        self._last_key, self._gap_before = key, 0.0
        if new:
            self._failure_reported = False
        return new

    def report_failure(self) -> bool:
        """A read of the card on the reader failed: True the first time for this card on the
        reader (tell the operator), False while it keeps failing (retry quietly)."""
        first = not self._failure_reported
        self._failure_reported = True
        return first
