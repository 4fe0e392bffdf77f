"""Wall-clock time where the station stands: schedules are written in local time without a zone.

Clocks in the station are zone-aware (UTC); the schedule's dates and hours are local and naive.
Comparing the two by dropping the zone would put a 09:00 slot at 17:00 in China.

There is one local time for the whole station: the configured offset (``exports.utc_offset_hours``,
default the campus's UTC+8), not the machine's zone. The desk (slot matching) and the reports and
batches used to read two different clocks, so a laptop left at UTC said "not this slot" to a
student the report counted on time. ``load_settings`` sets the offset; ``doctor`` warns when the
machine's zone differs from it.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

DEFAULT_OFFSET_HOURS = 8.0          # China: UTC+8, no daylight saving
_offset_hours = DEFAULT_OFFSET_HOURS


@lru_cache(maxsize=8)
def _zone(offset_hours: float) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=offset_hours))


def set_offset_hours(hours: float) -> None:
    """Make ``hours`` east of UTC the station's local time (from the settings)."""
    global _offset_hours
    _offset_hours = float(hours)


def offset_hours() -> float:
    return _offset_hours


def station_zone() -> dt.timezone:
    """The station's fixed-offset zone."""
    return _zone(_offset_hours)


def local_naive(when: dt.datetime) -> dt.datetime:
    """``when`` as the station's local wall-clock time, without a zone (naive stays as it is)."""
    return when.astimezone(station_zone()).replace(tzinfo=None) if when.tzinfo is not None else when


def local_now() -> dt.datetime:
    """Now, as the station's local wall-clock time (naive), whatever the machine's zone."""
    return local_naive(dt.datetime.now(dt.UTC))


def from_ms(ms: int) -> dt.datetime:
    """Station-local naive wall time of milliseconds since the epoch."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=station_zone()).replace(tzinfo=None)


def machine_offset_hours(at: dt.datetime | None = None) -> float:
    """The machine's own UTC offset now (what ``TZ`` or /etc/localtime say)."""
    moment = (at or dt.datetime.now(dt.UTC)).astimezone()
    offset = moment.utcoffset() or dt.timedelta()
    return offset.total_seconds() / 3600
