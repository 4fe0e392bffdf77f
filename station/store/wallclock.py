"""The machine's wall clock against the newest time this store saw it show: a clock that jumped back.

Every fact is stamped from the wall clock (``station.store.clock``). The hybrid clock keeps the
order of one station's facts when the clock goes back, but not their dates: after a flat CMOS
battery or a wrong manual change the laptop may be days or years behind, and the facts it stamps
then land on the wrong day — in batches by day, reports and merges.

``Store.stamps`` keeps a high-water mark in ``meta`` (``wall_high_ms``): the latest wall-clock
reading it stamped a fact with — the station's own clock only, never a merged station's stamp,
whose clock may rightly be ahead of ours. Opening the store to write compares now with it (one
key lookup): ``behind`` says when now is earlier by more than ``TOLERANCE_MS``. The command line
then refuses to write, naming both times, unless the acting operator confirms the clock is right
(``confirm``: audited, and the mark is set back to now — the stored times were the wrong ones);
the desk shows a blocking notice at start.

A store from before the mark has none until its first write; until then the newest own audit
entry stands in for it, unless the store merged another station's data (our stamps follow a
station ahead of us, so they are not our clock's readings): then the check starts with the mark.

A clock running *ahead* is not judged here: a store cannot tell a clock ahead from a long pause
between two sessions (the merge already holds back rows stamped more than a day ahead of the
receiver, ``station.sync.merge.MAX_CLOCK_LEAD_MS``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from station.localtime import from_ms
from station.store import clock

if TYPE_CHECKING:
    import sqlite3

    from station.store.core import Store

HIGH_WATER = "wall_high_ms"
TOLERANCE_MS = 5 * 60 * 1000        # NTP steps, a laptop's drift: not a jump back


@dataclass(frozen=True)
class ClockBehind:
    """The clock reads ``now_ms``; this store already stamped facts at ``newest_ms``."""

    newest_ms: int
    now_ms: int

    @property
    def behind_ms(self) -> int:
        return self.newest_ms - self.now_ms

    def params(self) -> dict[str, str]:
        """The two times (station-local) and the gap, for a message."""
        return {"newest": _shown(self.newest_ms), "clock": _shown(self.now_ms),
                "behind": _gap(self.behind_ms)}

    def to_json(self) -> dict[str, object]:
        return {"newest": _shown(self.newest_ms), "clock": _shown(self.now_ms),
                "behind_s": self.behind_ms // 1000}


def _shown(ms: int) -> str:
    return from_ms(ms).isoformat(sep=" ", timespec="seconds")


def _gap(ms: int) -> str:
    """``3d 4h 5m``: the size of the jump, language-neutral."""
    minutes = ms // 60_000
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    return " ".join(f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (mins, "m")) if v) or "0m"


def note(conn: sqlite3.Connection, wall_ms: int) -> None:
    """Raise the mark to ``wall_ms`` (never lower it); inside the caller's transaction."""
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
        "CAST(max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)",
        (HIGH_WATER, str(int(wall_ms))))


def newest_ms(store: Store) -> int | None:
    """The latest wall-clock time this store's own clock stamped a fact with (None: not known)."""
    text = store.meta(HIGH_WATER)
    if text is not None:
        try:
            return int(text)
        except ValueError:
            return None
    station = store.station_id
    if station is None:
        return None
    conn = store.conn
    if conn.execute("SELECT 1 FROM imports WHERE kind IN ('bundle', 'hub') LIMIT 1").fetchone():
        return None
    row = conn.execute("SELECT hlc FROM audit WHERE station_id = ? ORDER BY seq DESC LIMIT 1",
                       (station,)).fetchone()
    if row is None:
        return None
    try:
        return clock.HLC.decode(str(row[0])).wall_ms
    except ValueError:
        return None


def behind(store: Store, now_ms: int | None = None) -> ClockBehind | None:
    """The clock and the mark when the clock is more than ``TOLERANCE_MS`` behind it, else None.
    ``now_ms``: the clock's reading (default ``station.store.clock.now_ms()``)."""
    newest = newest_ms(store)
    if newest is None:
        return None
    now = clock.now_ms() if now_ms is None else now_ms
    return ClockBehind(newest, now) if newest - now > TOLERANCE_MS else None


def confirm(store: Store, operator: str | None, found: ClockBehind, how: str) -> None:
    """The operator says the clock is right (the stored times were ahead): audited with both
    times, and the mark set back to the clock's time, so the next command does not ask again."""
    with store.transaction():
        store.audit.append(operator, "clock.confirmed", None,
                           {**found.to_json(), "how": how,
                            "at_utc": dt.datetime.fromtimestamp(found.now_ms / 1000, dt.UTC)
                            .isoformat(timespec="seconds")})
        store.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (HIGH_WATER, str(int(found.now_ms))))
