"""A person's whole trail, read from the facts: roster versions, card reads, captures, decisions,
payments, corrections and the batches that carried or listed them, oldest first.

Students check their record days later and ask "what happened to me"; the answer has to come from
the insert-only facts themselves (who, when, at which station, why), including facts recorded
under an ID number that was later corrected to theirs (``station.store.rekey``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from station.store.rekey import aliases, resolve

if TYPE_CHECKING:
    from station.store.core import Store


@dataclass
class Event:
    """One fact of the trail. ``id_number`` is the number the fact was recorded under."""

    hlc: str
    kind: str                 # roster, card_read, capture, decision, payment, correction, export, listed
    station_id: str
    operator: str | None
    id_number: str
    data: dict[str, Any] = field(default_factory=dict)
    row: tuple[str, str] | None = None        # the fact row it was read from (table, id)
    altered: bool = False                     # that row does not hold under its keyed seal

    def to_json(self) -> dict[str, Any]:
        return {"hlc": self.hlc, "kind": self.kind, "station_id": self.station_id,
                "operator": self.operator, "id_number": self.id_number, **self.data,
                **({"altered": True} if self.altered else {})}


@dataclass
class History:
    id_number: str            # the number asked for
    current: str              # the number the facts belong to now (differs when it was corrected)
    numbers: list[str]        # every number whose facts are shown
    events: list[Event] = field(default_factory=list)

    @property
    def altered(self) -> bool:
        return any(e.altered for e in self.events)

    def to_json(self) -> dict[str, Any]:
        return {"id_number": self.id_number, "current_id_number": self.current, "id_numbers": self.numbers,
                "events": [e.to_json() for e in self.events], "altered": self.altered}


def known_names(store: Store, *numbers: str | None) -> set[str | None]:
    """Every name the store knows for these ID numbers (roster, card reads): screens mask them in
    the free text shown beside them."""
    out: set[str | None] = set()
    for number in filter(None, numbers):
        out.update(r[0] for r in store.conn.execute(
            "SELECT name FROM roster_entries WHERE id_number = ? UNION "
            "SELECT name FROM card_reads WHERE id_number = ?", (number, number)))
    return out


def _in(numbers: list[str]) -> str:
    return f"IN ({', '.join('?' * len(numbers))})"


def history(store: Store, id_number: str) -> History:
    conn = store.conn
    current = resolve(conn, id_number)
    numbers = aliases(conn, current) or [current]
    out = History(id_number, current, numbers)
    among = _in(numbers)
    ev = out.events.append
    entry_ids: list[str] = []
    home = store.meta("school_code")
    for r in conn.execute(f"SELECT * FROM roster_entries WHERE id_number {among} ORDER BY hlc", numbers):
        entry_ids.append(r["id"])
        ev(Event(r["hlc"], "roster", r["station_id"], None, r["id_number"], {
            "name": r["name"], "student_no": r["student_no"], "department": r["department"],
            "gender": r["gender"], "eligible": bool(r["eligible"]),
            "school_code": r["school_code"] or home}, ("roster_entries", r["id"])))   # no code: a row of an older store, home
    for r in conn.execute(f"SELECT * FROM card_reads WHERE id_number {among} ORDER BY hlc", numbers):
        try:
            identity = json.loads(r["identity"] or "{}")
        except ValueError:
            identity = {}
        ev(Event(r["hlc"], "card_read", r["station_id"], r["operator"], r["id_number"], {
            "name": r["name"], "reader": r["reader"], "source": identity.get("source"),
            "card_type": identity.get("card_type")}, ("card_reads", r["id"])))
    captures: list[str] = []
    for r in conn.execute(f"SELECT c.*, (SELECT passed FROM check_reports k WHERE k.capture_id = c.id "
                          f"ORDER BY k.hlc DESC LIMIT 1) AS passed FROM captures c "
                          f"WHERE c.id_number {among} ORDER BY c.hlc", numbers):
        captures.append(r["id"])
        ev(Event(r["hlc"], "capture", r["station_id"], r["operator"], r["id_number"], {
            "capture_id": r["id"], "image_sha256": r["image_sha256"], "capture_code": r["capture_code"],
            "checks_passed": None if r["passed"] is None else bool(r["passed"])}, ("captures", r["id"])))
    for r in conn.execute(f"SELECT * FROM acceptances WHERE capture_id {_in(captures)} ORDER BY hlc",
                          captures) if captures else ():
        ev(Event(r["hlc"], "decision", r["station_id"], r["operator"], r["id_number"], {
            "capture_id": r["capture_id"], "decision": r["decision"], "reason": r["reason"],
            "override_by": r["override_by"]}, ("acceptances", r["id"])))
    for r in conn.execute(f"SELECT y.*, EXISTS (SELECT 1 FROM tombstones t WHERE t.target_table = 'payments' "
                          f"AND t.target_id = y.id) AS voided FROM payments y WHERE y.id_number {among} "
                          f"ORDER BY y.hlc", numbers):
        ev(Event(r["hlc"], "payment", r["station_id"], r["operator"], r["id_number"], {
            "amount_cents": r["amount_cents"], "method": r["method"], "voided": bool(r["voided"])},
            ("payments", r["id"])))
    targets = [("roster_entries", n) for n in numbers] + [("roster_entries", e) for e in entry_ids] + \
        [("captures", c) for c in captures]
    where = " OR ".join("(target_table = ? AND target_id = ?)" for _ in targets)
    params = [v for pair in targets for v in pair]
    for r in conn.execute(f"SELECT * FROM corrections WHERE {where} ORDER BY hlc", params):
        ev(Event(r["hlc"], "correction", r["station_id"], r["operator"],
                 r["target_id"] if r["target_id"] in numbers else current, {
                     "field": r["field"], "old_value": r["old_value"], "new_value": r["new_value"],
                     "reason": r["reason"], "target": r["target_table"]}, ("corrections", r["id"])))
    if captures:
        for r in conn.execute(f"SELECT DISTINCT e.batch_id, e.hlc, e.station_id, e.operator, i.capture_id "
                              f"FROM export_index i JOIN exports e ON e.id = i.export_id "
                              f"WHERE i.capture_id {_in(captures)} ORDER BY e.hlc", captures):
            ev(Event(r["hlc"], "export", r["station_id"], r["operator"], current,
                     {"batch_id": r["batch_id"], "capture_id": r["capture_id"]}))
        for r in conn.execute(f"SELECT e.batch_id, e.hlc, e.station_id, e.operator, x.capture_id, x.correction, "
                              f"x.replaces_batch FROM export_corrections x JOIN exports e ON e.id = x.export_id "
                              f"WHERE x.capture_id {_in(captures)} ORDER BY e.hlc", captures):
            ev(Event(r["hlc"], "listed", r["station_id"], r["operator"], current, {
                "batch_id": r["batch_id"], "capture_id": r["capture_id"], "correction": r["correction"],
                "replaces_batch": r["replaces_batch"]}))
    out.events.sort(key=lambda e: (e.hlc, e.kind))
    bad = store.seals.altered(e.row for e in out.events if e.row)
    for e in out.events:
        e.altered = e.row in bad
    return out
