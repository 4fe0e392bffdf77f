"""Wall-clock time where the station stands: schedules are written in local time without a zone.

Clocks in the station are zone-aware (UTC); the schedule's dates and hours are local and naive.
Comparing the two by dropping the zone would put a 09:00 slot at 17:00 in China.
"""

from __future__ import annotations

import datetime as dt


def local_naive(when: dt.datetime) -> dt.datetime:
    """``when`` as this machine's local wall-clock time, without a zone (naive stays as it is)."""
    return when.astimezone().replace(tzinfo=None) if when.tzinfo is not None else when
