"""Read side of the roster and the schedule: the current entry per ID number, the current slots.

Writes happen through ``station.roster.importer`` (roster) and ``station.roster.schedule``
(schedule) as insert-only facts; these views pick the latest fact per key.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from station.store.core import Store


@dataclass(frozen=True)
class RosterEntry:
    id: str
    id_number: str
    name: str
    student_no: str | None
    gender: str | None
    birth_date: str | None
    department: str | None
    degree: str | None
    category: str | None
    program_years: int | None
    entry_year: int | None
    study_mode: str | None
    earlier_uncaptured: bool
    eligible: bool
    eligibility_rule: str | None
    extra: dict[str, Any]
    hlc: str
    station_id: str
    school_code: str | None = None    # whose roster it is on (None: a row of an older store, home)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RosterEntry:
        d = dict(row)
        return cls(
            id=d["id"], id_number=d["id_number"], name=d["name"], student_no=d["student_no"],
            gender=d["gender"], birth_date=d.get("birth_date"), department=d["department"],
            degree=d["degree"], category=d.get("category"), program_years=d["program_years"],
            entry_year=d["entry_year"], study_mode=d["study_mode"],
            earlier_uncaptured=bool(d.get("earlier_uncaptured")), eligible=bool(d["eligible"]),
            eligibility_rule=d["eligibility_rule"], extra=json.loads(d.get("extra") or "{}"),
            hlc=d["hlc"], station_id=d["station_id"], school_code=d.get("school") or d.get("school_code"))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Slot:
    key: str
    date: str           # YYYY-MM-DD
    campus: str
    room: str
    start: str          # HH:MM
    end: str            # HH:MM
    departments: tuple[str, ...]
    expected_count: int | None
    id: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Slot:
        return cls(key=row["slot_key"], date=row["date"], campus=row["campus"], room=row["room"],
                   start=row["start"], end=row["end"],
                   departments=tuple(json.loads(row["departments"])),
                   expected_count=row["expected_count"], id=row["id"])

    @property
    def starts_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(f"{self.date}T{self.start}")

    @property
    def ends_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(f"{self.date}T{self.end}")

    def contains(self, when: dt.datetime) -> bool:
        from station.domain.localtime import local_naive

        return self.starts_at <= local_naive(when) < self.ends_at

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["departments"] = list(self.departments)
        return d


class RosterView:
    """The current roster: the station's own school's (``school=None``), or the roster of another
    school imported for its walk-ins (``school="10674"``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, id_number: str, school: str | None = None) -> RosterEntry | None:
        if school is None:
            row = self.store.conn.execute(
                "SELECT * FROM roster_current WHERE id_number = ?",
                (id_number.strip().upper(),)).fetchone()
        else:
            row = self.store.conn.execute(
                "SELECT * FROM roster_all_current WHERE id_number = ? AND school IS ?",
                (id_number.strip().upper(), school)).fetchone()
        return RosterEntry.from_row(row) if row else None

    def schools_of(self, id_number: str) -> list[str]:
        """The schools whose current roster here holds ``id_number`` (in code order)."""
        return [str(r[0]) for r in self.store.conn.execute(
            "SELECT DISTINCT school FROM roster_all_current WHERE id_number = ? AND school IS NOT NULL "
            "ORDER BY school", (id_number.strip().upper(),))]

    def schools(self) -> dict[str, int]:
        """Every school with a current roster here → its number of entries (home school included)."""
        return {str(r[0]): int(r[1]) for r in self.store.conn.execute(
            "SELECT school, COUNT(*) FROM roster_all_current WHERE school IS NOT NULL "
            "GROUP BY school ORDER BY school")}

    def history(self, id_number: str) -> list[RosterEntry]:
        rows = self.store.conn.execute(
            "SELECT * FROM roster_entries WHERE id_number = ? ORDER BY hlc", (id_number,))
        return [RosterEntry.from_row(r) for r in rows]

    def all(self) -> list[RosterEntry]:
        rows = self.store.conn.execute("SELECT * FROM roster_current ORDER BY department, name")
        return [RosterEntry.from_row(r) for r in rows]

    def count(self) -> int:
        return int(self.store.conn.execute("SELECT COUNT(*) FROM roster_current").fetchone()[0])

    def departments(self) -> list[str]:
        return [r[0] for r in self.store.conn.execute(
            "SELECT DISTINCT department FROM roster_current WHERE department IS NOT NULL "
            "ORDER BY department")]


class ScheduleView:
    def __init__(self, store: Store) -> None:
        self.store = store

    def slots(self) -> list[Slot]:
        rows = self.store.conn.execute("SELECT * FROM schedule_current ORDER BY date, start, room")
        return [Slot.from_row(r) for r in rows]

    def get(self, key: str) -> Slot | None:
        row = self.store.conn.execute("SELECT * FROM schedule_current WHERE slot_key = ?",
                                      (key,)).fetchone()
        return Slot.from_row(row) if row else None

    def departments(self) -> set[str]:
        return {d for s in self.slots() for d in s.departments}

    def slots_for(self, department: str) -> list[Slot]:
        return [s for s in self.slots() if department in s.departments]

    def slot_at(self, when: dt.datetime) -> list[Slot]:
        """The slots running at ``when`` (several rooms may run at once)."""
        return [s for s in self.slots() if s.contains(when)]

    def slot_for(self, department: str | None, when: dt.datetime | None = None) -> Slot | None:
        """The department's slot: the one running at ``when`` if any, else the one on the same
        day, else the next one after ``when``, else its last one."""
        if not department:
            return None
        mine = self.slots_for(department)
        if not mine:
            return None
        if when is None:
            return mine[0]
        from station.domain.localtime import local_naive

        naive = local_naive(when)
        for pick in (
            [s for s in mine if s.contains(naive)],
            [s for s in mine if s.date == naive.date().isoformat()],
            [s for s in mine if s.starts_at >= naive],
        ):
            if pick:
                return pick[0]
        return mine[-1]
