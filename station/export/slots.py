"""Which of a day's slots a person belongs to, when their department has more than one.

A department is often split over two slots of one day (two rooms, or a morning and an evening
group). Counting everyone of it under the first slot showed the later slot as 0 done and let
``export build --slot`` of the first slot take people photographed in the second. The capture's
time decides: the slot (of the person's department) whose time contains it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from station.export.record import local_zone
from station.store.people import Capture, Person


def naive_local(ms: int, offset_hours: float) -> dt.datetime:
    """The station's local wall-clock time of an instant (the configured UTC offset)."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=local_zone(offset_hours)).replace(tzinfo=None)


def capture_of_day(person: Person, date: str, offset_hours: float) -> Capture | None:
    """The person's capture that places them on ``date``: the last accepted one, else the last."""
    day = [c for c in person.captures if naive_local(c.at_ms, offset_hours).date().isoformat() == date]
    accepted = [c for c in day if c.decision == "accept"]
    return (accepted or day)[-1] if day else None


def home_slot(person: Person, day_slots: Sequence[Any], offset_hours: float) -> str | None:
    """The key of the slot among ``day_slots`` (one day, sorted by start) that the person is
    counted in: of the slots listing their department, the one whose time contains their capture
    that day; none does → the last one started before it (came late), else the first; not
    photographed that day → the first (expected there until they come). None: no slot lists it."""
    mine = [s for s in day_slots if person.department in s.departments]
    if len(mine) <= 1:
        return mine[0].key if mine else None
    cap = capture_of_day(person, mine[0].date, offset_hours)
    if cap is None:
        return str(mine[0].key)
    when = naive_local(cap.at_ms, offset_hours)
    inside = [s for s in mine if s.starts_at <= when < s.ends_at]
    if inside:
        return str(inside[0].key)
    started = [s for s in mine if s.starts_at <= when]
    return str((started[-1] if started else mine[0]).key)
