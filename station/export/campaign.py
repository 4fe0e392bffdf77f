"""The day per station and per university (school code): what a supervisor of a whole campaign
reads after pulling every station's records from the hub (issue 15.4), or after merging bundles.

Pure functions of a ``Snapshot`` (the same people, captures and payments as the daily report),
so the hub's view and a merged master's view are the same numbers by construction.

- A capture counts for the station that took it; a payment for the station whose clock stamped
  it (the hybrid clock names its station).
- A student counts for one university on the day: the walk-in school of their latest capture of
  the day, else the school the capturing station was set up for (its ``init`` record, which
  travels with its facts), else this store's own school; a student who paid without a capture
  that day counts for the school of the station that took the payment.
- A student photographed at two stations counts at both stations (and once for the university).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from station.export.selection import local_date
from station.store.people import Capture, Person, capture_school, wall_ms


@dataclass
class _Tally:
    captured: set[str] = field(default_factory=set)
    accepted: set[str] = field(default_factory=set)
    retakes: int = 0
    paid: set[str] = field(default_factory=set)
    received_cents: int = 0
    stations: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {"captured": len(self.captured), "accepted": len(self.accepted), "retakes": self.retakes,
                "paid": len(self.paid), "received_yuan": self.received_cents / 100}


def _stamping_station(hlc: str) -> str:
    parts = hlc.split("-", 2)
    return parts[2] if len(parts) == 3 else ""


def breakdown(people: Iterable[Person], date: str, offset: float, home_school: str,
              station_schools: Mapping[str, str]) -> dict[str, Any]:
    """``{"stations": [...], "schools": [...]}`` for the day ``date`` (local, ``offset`` hours)."""
    by_station: dict[str, _Tally] = {}
    by_school: dict[str, _Tally] = {}

    def school_of(capture: Capture) -> str:
        return capture_school(capture, station_schools, home_school)

    for p in people:
        today = [c for c in p.captures if local_date(c.at_ms, offset) == date]
        paid_today = [(hlc, cents) for hlc, cents in p.payment_list
                      if local_date(wall_ms(hlc), offset) == date]
        if not today and not paid_today:
            continue
        if today:
            school = school_of(max(today, key=lambda c: c.hlc))
        else:
            payer = _stamping_station(paid_today[-1][0])
            school = station_schools.get(payer) or home_school
        campus = by_school.setdefault(school, _Tally())
        for c in today:
            desk = by_station.setdefault(c.station_id, _Tally())
            desk.captured.add(p.id_number)
            campus.captured.add(p.id_number)
            campus.stations.add(c.station_id)
            if c.decision == "accept":
                desk.accepted.add(p.id_number)
                campus.accepted.add(p.id_number)
            elif c.decision == "reject":
                desk.retakes += 1
                campus.retakes += 1
        for hlc, cents in paid_today:
            desk = by_station.setdefault(_stamping_station(hlc), _Tally())
            desk.paid.add(p.id_number)
            desk.received_cents += cents
            campus.paid.add(p.id_number)
            campus.received_cents += cents
    return {
        "stations": [{"station_id": sid, "school_code": station_schools.get(sid) or home_school,
                      **tally.to_json()} for sid, tally in sorted(by_station.items())],
        "schools": [{"school_code": code, "stations": sorted(tally.stations), **tally.to_json()}
                    for code, tally in sorted(by_school.items())],
    }
