"""Hybrid logical clock: orders facts from many stations without trusting any one wall clock.

A stamp is (wall ms, counter, station). It never goes backwards on one station even if the system
clock does, and after a merge it stays ahead of everything seen. Encoded as a fixed-width string
so that SQL ``ORDER BY hlc`` sorts by time, then counter, then station id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

_WALL_DIGITS = 13
_COUNTER_DIGITS = 6
_COUNTER_MAX = 10**_COUNTER_DIGITS - 1


@dataclass(frozen=True, order=True)
class HLC:
    wall_ms: int
    counter: int
    station: str

    def encode(self) -> str:
        return f"{self.wall_ms:0{_WALL_DIGITS}d}-{self.counter:0{_COUNTER_DIGITS}d}-{self.station}"

    @classmethod
    def decode(cls, text: str) -> HLC:
        wall, counter, station = text.split("-", 2)
        return cls(int(wall), int(counter), station)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def tick(last: HLC | None, station: str, wall_ms: int | None = None) -> HLC:
    """The next local stamp after ``last`` (a send/local event in HLC terms)."""
    wall = now_ms() if wall_ms is None else wall_ms
    if last is None or wall > last.wall_ms:
        return HLC(wall, 0, station)
    return _next(last.wall_ms, last.counter, station)


def ticks(last: HLC | None, station: str, n: int, wall_ms: int | None = None) -> list[str]:
    """``n`` consecutive local stamps after ``last``, encoded (one clock read for the batch:
    the same stamps as ``n`` calls of :func:`tick` within one millisecond)."""
    if n <= 0:
        return []
    first = tick(last, station, wall_ms)
    wall, counter = first.wall_ms, first.counter
    out = []
    for _ in range(n):
        out.append(f"{wall:0{_WALL_DIGITS}d}-{counter:0{_COUNTER_DIGITS}d}-{station}")
        if counter >= _COUNTER_MAX:
            wall, counter = wall + 1, 0
        else:
            counter += 1
    return out


def _next(wall_ms: int, counter: int, station: str) -> HLC:
    """The stamp after (wall_ms, counter); a full counter borrows the next millisecond so the
    fixed-width text encoding keeps sorting correctly."""
    if counter >= _COUNTER_MAX:
        return HLC(wall_ms + 1, 0, station)
    return HLC(wall_ms, counter + 1, station)


def receive(last: HLC | None, remote: HLC, station: str, wall_ms: int | None = None) -> HLC:
    """The local stamp after seeing ``remote`` (used by merge so later local facts sort after it)."""
    wall = now_ms() if wall_ms is None else wall_ms
    base = max(x for x in (last, remote) if x is not None)
    if wall > base.wall_ms:
        return HLC(wall, 0, station)
    return _next(base.wall_ms, base.counter, station)
