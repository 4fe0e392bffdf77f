"""Read-only views for the schedule dashboard and the review queue, straight from the store's
derived views (roster_current, schedule_current, capture_decisions)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


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


def dashboard(store: Any) -> Dashboard:
    """Slots with progress, missing people per department, accepted captures per hour."""
    from station.privacy import mask_name

    conn = store.conn
    accepted = {r[0] for r in conn.execute("SELECT DISTINCT id_number FROM accepted_captures")}
    roster = [dict(r) for r in conn.execute(
        "SELECT id_number, name, department, eligible FROM roster_current ORDER BY department, name")]
    by_dept: dict[str, list[dict]] = {}
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
    import datetime as dt

    try:
        millis = int(str(hlc).split("-")[0])
    except (ValueError, IndexError):
        return "??"
    return dt.datetime.fromtimestamp(millis / 1000).strftime("%H")


@dataclass
class ReviewItem:
    """A capture that needs a second look: an override, failed checks, or no decision yet."""

    capture_id: str
    id_number: str
    name: str
    decision: str | None
    override_by: str | None
    check_passed: bool | None
    image_sha256: str
    reason: str
    corrections: list[dict] = field(default_factory=list)   # oldest first: the trail
    pictures: list[tuple[str, bytes]] = field(default_factory=list, repr=False)


def review_queue(store: Any, limit: int = 200) -> list[ReviewItem]:
    conn = store.conn
    rows = conn.execute(
        "SELECT d.*, (SELECT passed FROM check_reports k WHERE k.capture_id = d.capture_id "
        "ORDER BY k.hlc DESC LIMIT 1) AS check_passed, "
        "(SELECT name FROM card_reads r WHERE r.id_number = d.id_number "
        "ORDER BY r.hlc DESC LIMIT 1) AS name "
        "FROM capture_decisions d ORDER BY d.captured_hlc DESC LIMIT ?", (limit * 5,))
    items = []
    for r in rows:
        if r["override_by"]:
            why = "override_reason"
        elif r["decision"] == "accept" and r["check_passed"] == 0:
            why = "failed_checks"
        elif r["decision"] is None:
            why = "undecided"
        else:
            continue
        item = ReviewItem(r["capture_id"], r["id_number"], r["name"] or "", r["decision"],
                          r["override_by"],
                          None if r["check_passed"] is None else bool(r["check_passed"]),
                          r["image_sha256"], why)
        item.corrections = corrections(store, item.capture_id)
        for c in item.corrections:
            if c["field"] == "name" and c["new_value"]:
                item.name = c["new_value"]
        items.append(item)
        if len(items) >= limit:
            break
    return items


CORRECTABLE = ("name", "gender", "birth_date", "department", "student_no")


def corrections(store: Any, capture_id: str) -> list[dict]:
    """The correction facts about one capture's identity, oldest first."""
    return [dict(r) for r in store.conn.execute(
        "SELECT field, old_value, new_value, reason, operator, hlc FROM corrections "
        "WHERE target_table = 'captures' AND target_id = ? ORDER BY hlc", (capture_id,))]


def correct(store: Any, operator: Any, item: ReviewItem, field_name: str, new_value: str,
            reason: str) -> str:
    """Record a correction of an identity field for ``item`` (a new fact; the old value stays)."""
    from station.errors import InputError, Location

    if field_name not in CORRECTABLE:
        raise InputError("session.bad_field", Location("correction", field=field_name),
                         field=field_name, fields=", ".join(CORRECTABLE))
    if not new_value.strip() or not reason.strip():
        raise InputError("session.correction_incomplete", Location("correction", field=field_name))
    store.operators.require(operator, "correct")
    old = item.name if field_name == "name" else None
    return store.facts.record_correction("captures", item.capture_id, field_name, old,
                                         new_value.strip(), reason=reason.strip(),
                                         operator=operator.name)


def pictures_for(store: Any, item: ReviewItem, limit: int = 2) -> list[tuple[str, bytes]]:
    """The export crops of this person's latest captures (this one first), for a side-by-side
    look: ``(capture id, jpeg)``; captures without a crop are left out."""
    out = []
    for capture_id, crop_sha in store.conn.execute(
            "SELECT id, json_extract(camera, '$.crop_sha256') FROM captures_live "
            "WHERE id_number = ? ORDER BY (id = ?) DESC, hlc DESC", (item.id_number,
                                                                   item.capture_id)):
        if crop_sha and store.images.exists(crop_sha):
            out.append((capture_id, store.images.get(crop_sha)))
        if len(out) >= limit:
            break
    return out
