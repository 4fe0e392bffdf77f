"""Read model of the schedule dashboard: slots with progress, who is missing, captures per hour.

Straight from the store's derived views (roster_current, schedule_current, accepted_captures).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.store.core import Store


@dataclass
class SlotProgress:
    """One slot of the schedule: who was expected, how many are done."""

    slot_key: str
    date: str
    start: str
    end: str
    room: str
    departments: list[str]
    expected: int
    done: int


@dataclass
class Dashboard:
    slots: list[SlotProgress] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)   # department → masked names
    per_hour: list[tuple[str, int]] = field(default_factory=list)  # ("09", 41), ...
    accepted_total: int = 0
    roster_total: int = 0


def _departments(raw: Any) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        value = [p.strip() for p in str(raw).replace("；", ";").replace(",", ";").split(";")]
    return [str(v) for v in value if str(v).strip()] if isinstance(value, list) else [str(value)]


def dashboard(store: Store) -> Dashboard:
    """Slots with progress, missing people per department, accepted captures per hour."""
    from station.privacy import mask_name

    conn = store.conn
    accepted = {r[0] for r in conn.execute("SELECT DISTINCT id_number FROM accepted_captures")}
    roster = [dict(r) for r in conn.execute(
        "SELECT id_number, name, department, eligible FROM roster_current ORDER BY department, name")]
    by_dept: dict[str, list[dict[str, Any]]] = {}
    for r in roster:
        by_dept.setdefault(r["department"] or "—", []).append(r)
    out = Dashboard(accepted_total=len(accepted), roster_total=len(roster))
    for s in conn.execute("SELECT * FROM schedule_current ORDER BY date, start, room"):
        depts = _departments(s["departments"])
        people = [r for d in depts for r in by_dept.get(d, []) if r["eligible"]]
        expected = s["expected_count"] if s["expected_count"] is not None else len(people)
        done = sum(1 for r in people if r["id_number"] in accepted)
        out.slots.append(SlotProgress(s["slot_key"], s["date"], s["start"], s["end"], s["room"],
                                      depts, int(expected), done))
    for dept, people in by_dept.items():
        missing = [mask_name(r["name"]) for r in people
                   if r["eligible"] and r["id_number"] not in accepted]
        if missing:
            out.missing[dept] = missing
    hours: Counter[str] = Counter()
    for (hlc,) in conn.execute("SELECT decided_hlc FROM accepted_captures"):
        hours[_hour_of(hlc)] += 1
    out.per_hour = sorted(hours.items())
    return out


def _hour_of(hlc: str | None) -> str:
    """The local hour of a hybrid-clock stamp (wall milliseconds first)."""
    from station.domain.localtime import from_ms

    try:
        millis = int(str(hlc).split("-")[0])
    except (ValueError, IndexError):
        return "??"
    return from_ms(millis).strftime("%H")


def slot_done(store: Store, departments: list[str]) -> int:
    """People of these departments with an accepted photo (at any station merged in here)."""
    marks = ", ".join("?" for _ in departments)
    row = store.conn.execute(
        "SELECT COUNT(DISTINCT a.id_number) FROM accepted_captures a "
        f"JOIN roster_current r ON r.id_number = a.id_number WHERE r.department IN ({marks})",
        departments).fetchone()
    return int(row[0] or 0)


def slot_expected(store: Store, departments: list[str]) -> int:
    """Eligible roster people of these departments (a slot without an expected count)."""
    marks = ", ".join("?" for _ in departments)
    row = store.conn.execute(
        f"SELECT COUNT(*) FROM roster_current WHERE eligible AND department IN ({marks})",
        departments).fetchone()
    return int(row[0] or 0)
