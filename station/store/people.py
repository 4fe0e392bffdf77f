"""The people read model: everything exports, print sheets and reports need, in a few bulk queries.

The store keeps facts; batches and reports need people. ``load_snapshot(store)`` turns the facts
into plain ``Person``/``Capture`` objects (roster fields with corrections applied, captures with
their current decision, payments, the batches that delivered or corrected them), so selection and
reports are pure functions of data that tests can also build by hand.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from station.domain.identity import is_verified
from station.store.campaign import station_schools
from station.store.rekey import rekeys

if TYPE_CHECKING:
    from station.store.core import Store

PERSON_FIELDS = ("name", "student_no", "department", "gender", "birth_date")
# What a batch tells the pipeline about a person (gender as the batch writes it, in Chinese): a
# later batch lists whatever of these differs from what the pipeline last heard.
SENT_FIELDS = ("name", "id_number", "student_no", "department", "gender")
GENDER_ZH = {"male": "男", "female": "女", "1": "男", "2": "女", "M": "男", "F": "女"}


def wall_ms(hlc: str | None) -> int:
    """The wall-clock milliseconds of a hybrid logical clock stamp."""
    return int(hlc.split("-", 1)[0]) if hlc else 0


@dataclass
class Capture:
    id: str
    id_number: str
    hlc: str
    image_sha256: str
    export_sha256: str | None = None
    verified: bool = False               # identity read from an ID card, not typed
    decision: str | None = None          # accept / reject / None (undecided)
    decided_hlc: str | None = None
    station_id: str = ""
    operator: str | None = None
    batches: list[str] = field(default_factory=list)       # upload batches that carried it
    listed: list[str] = field(default_factory=list)        # batches whose corrections list named it
    school_code: str | None = None       # a walk-in of another school; None = the station's own
    capture_code: str = ""               # the student's 图像采集码 (code mode)
    override_by: str | None = None       # the supervisor who accepted it over failed checks
    override_reason: str | None = None   # … and why

    @property
    def at_ms(self) -> int:
        return wall_ms(self.hlc)


@dataclass
class Person:
    id_number: str
    name: str = ""
    student_no: str = ""
    department: str = ""
    gender: str = ""
    birth_date: str = ""
    on_roster: bool = False              # on this station's own school's roster (its report expects them)
    eligible: bool = True
    ineligible_since: str = ""           # the roster version from which it has said ineligible
    # The school whose roster gave the fields above: this station's, or the walk-in school's roster
    # that the walk-in desk matched them on; "" when none holds them (the card's name, no student
    # number or department: a walk-in of a school whose roster is not imported here)
    roster_school: str = ""
    changed_hlc: str = ""                # latest roster version or correction of the fields above
    captures: list[Capture] = field(default_factory=list)    # oldest first
    paid_cents: int = 0
    payments: int = 0
    payment_list: list[tuple[str, int]] = field(default_factory=list)   # (hlc, cents)
    exports: list[tuple[str, str]] = field(default_factory=list)   # uploads: (batch id, hlc), oldest first
    listings: list[tuple[str, str]] = field(default_factory=list)  # corrections listed: (batch id, hlc)
    changes: list[tuple[str, str, str, str]] = field(default_factory=list)   # (hlc, field, old, new)
    # The SENT_FIELDS as the pipeline last heard them (the upload batch's item, then each
    # corrections list that named the person); None when no stored batch record says.
    sent: dict[str, str] | None = None

    @property
    def accepted(self) -> Capture | None:
        accepted = [c for c in self.captures if c.decision == "accept"]
        return max(accepted, key=lambda c: c.decided_hlc or "") if accepted else None

    @property
    def handled_hlc(self) -> str:
        """When the pipeline last heard about this person: their upload or a correction listed."""
        return max([hlc for _, hlc in self.exports + self.listings], default="")

    @property
    def gender_zh(self) -> str:
        return GENDER_ZH.get(self.gender, self.gender)


def capture_school(capture: Capture, station_schools: Mapping[str, str], home: str) -> str:
    """The university a capture is for: its walk-in school, else the school its station was set
    up for (``station init``), else ``home`` (this store's school). Batches and the per-school
    report both count by it, so a photo is never sent under another school's code."""
    return school_for(capture.school_code, capture.station_id, station_schools, home)


def school_for(walk_in_school: str | None, station_id: str, station_schools: Mapping[str, str],
               home: str) -> str:
    """``capture_school``'s rule on a capture's columns (its walk-in school, its station)."""
    return walk_in_school or station_schools.get(station_id) or home


def walk_in_schools(store: Store) -> dict[str, str]:
    """Capture id → the school of the walk-in desk that accepted it (the latest record wins);
    empty for a store from before walk-ins."""
    try:
        return {str(r["capture_id"]): str(r["school_code"]) for r in _rows(
            store, "SELECT capture_id, school_code FROM walk_ins ORDER BY hlc")}
    except sqlite3.OperationalError:     # a store from before walk-ins
        return {}


def unexported_by_school(store: Store, home: str | None = None) -> dict[str, int]:
    """How many accepted photos are not yet exported (``facts.accepted_captures(exported=False)``),
    per school they are for (``capture_school``): a batch is one school's, so the exports screen
    offers one per school. ``home`` (default: this store's school) comes first, even at 0; then
    every other school with a photo waiting, by code."""
    home = home if home is not None else store.meta("school_code") or ""
    walk_in = walk_in_schools(store)
    stations = station_schools(store)
    counts: dict[str, int] = {home: 0}
    others: dict[str, int] = {}
    for row in store.facts.accepted_captures(exported=False):
        school = school_for(walk_in.get(row["capture_id"]), row["station_id"], stations, home)
        if school == home:
            counts[home] += 1
        else:
            others[school] = others.get(school, 0) + 1
    counts.update(sorted(others.items()))
    return counts


@dataclass
class Snapshot:
    persons: dict[str, Person] = field(default_factory=dict)
    slots: list[Any] = field(default_factory=list)
    station_id: str = ""
    school_code: str = ""
    station_schools: dict[str, str] = field(default_factory=dict)   # station id → its init school

    def person(self, id_number: str) -> Person:
        if id_number not in self.persons:
            self.persons[id_number] = Person(id_number)
        return self.persons[id_number]

    def school_of(self, person: Person) -> str:
        """The school a person is counted for: that of their accepted (else latest) capture; a
        roster person never captured belongs to the roster's school, this store's own."""
        capture = person.accepted or (person.captures[-1] if person.captures else None)
        if capture is None:
            return self.school_code
        return capture_school(capture, self.station_schools, self.school_code)


def _rows(store: Store, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    return store.conn.execute(sql, params).fetchall()


def _ineligible_since(store: Store, snap: Snapshot, key: Callable[[str], str]) -> None:
    """For each person this station's roster now calls ineligible: the roster version from which
    it has said so without a break (``Person.ineligible_since``). A photo accepted before it was
    taken while the roster let the person be photographed; one accepted after, only past a
    supervisor's approval at the desk."""
    wanted = {p.id_number for p in snap.persons.values() if p.on_roster and not p.eligible}
    if not wanted:
        return
    since: dict[str, str] = {}
    for r in _rows(store, "SELECT r.id_number, r.hlc, r.eligible FROM roster_entries r "
                          "WHERE COALESCE(r.school_code, (SELECT value FROM meta WHERE key = 'school_code')) "
                          "IS (SELECT value FROM meta WHERE key = 'school_code') ORDER BY r.hlc"):
        idn = key(r["id_number"])
        if idn not in wanted:
            continue
        if r["eligible"]:
            since.pop(idn, None)
        else:
            since.setdefault(idn, r["hlc"])
    for idn, hlc in since.items():
        snap.persons[idn].ineligible_since = hlc


def load_snapshot(store: Store) -> Snapshot:
    snap = Snapshot(station_id=store.station_id or "", school_code=store.meta("school_code") or "",
                    station_schools=station_schools(store))
    moved = rekeys(store.conn)            # ID-number corrections: old number → current one

    def key(id_number: str) -> str:
        return moved.get(id_number, id_number)

    entry_ids: dict[str, str] = {}
    # A person's own roster entry first; an entry under a number re-keyed to them only stands in
    # when they have none of their own.
    roster = sorted(_rows(store, "SELECT * FROM roster_current"), key=lambda r: r["id_number"] in moved)
    for r in roster:
        if r["id_number"] in moved and snap.persons.get(key(r["id_number"]), Person("")).on_roster:
            entry_ids[r["id"]] = r["id_number"]
            continue
        p = snap.person(key(r["id_number"]))
        p.name, p.student_no = r["name"] or "", r["student_no"] or ""
        p.department, p.gender = r["department"] or "", r["gender"] or ""
        p.birth_date = r["birth_date"] or ""
        p.on_roster, p.eligible, p.changed_hlc = True, bool(r["eligible"]), r["hlc"]
        p.roster_school = snap.school_code
        entry_ids[r["id"]] = r["id_number"]
    _ineligible_since(store, snap, key)
    # Any earlier roster version also names the person (corrections may point at it).
    for r in _rows(store, "SELECT id, id_number FROM roster_entries"):
        entry_ids.setdefault(r["id"], r["id_number"])
    reads: dict[str, tuple[bool, dict[str, Any]]] = {}
    for r in _rows(store, "SELECT id, id_number, identity FROM card_reads ORDER BY hlc"):
        try:
            identity = json.loads(r["identity"] or "{}")
        except ValueError:
            identity = {}
        reads[r["id"]] = (is_verified(identity), identity)   # only a card read is verified
        p = snap.person(key(r["id_number"]))
        if not p.on_roster:                      # walk-ins: the card is all we know
            p.name = p.name or identity.get("name", "")
            p.gender = p.gender or identity.get("gender", "")
            p.birth_date = p.birth_date or identity.get("birth_date", "")
    walk_in_school = walk_in_schools(store)
    batches_of: dict[str, list[str]] = {}
    for r in _rows(store, "SELECT e.batch_id, e.hlc, i.capture_id FROM export_index i "
                          "JOIN exports e ON e.id = i.export_id ORDER BY e.hlc"):
        batches_of.setdefault(r["capture_id"], []).append(r["batch_id"])
    for r in _rows(store, "SELECT d.*, c.camera, c.card_read_id, c.operator AS captured_by, c.hlc AS hlc, "
                          "c.capture_code FROM capture_decisions d JOIN captures c ON c.id = d.capture_id "
                          "ORDER BY c.hlc"):
        try:
            camera = json.loads(r["camera"] or "{}")
        except ValueError:
            camera = {}
        verified = reads.get(r["card_read_id"], (False, {}))[0]
        cap = Capture(id=r["capture_id"], id_number=key(r["id_number"]), hlc=r["hlc"],
                      image_sha256=r["image_sha256"], export_sha256=camera.get("crop_sha256"),
                      verified=verified, decision=r["decision"], decided_hlc=r["decided_hlc"],
                      station_id=r["station_id"], operator=r["captured_by"],
                      batches=batches_of.get(r["capture_id"], []),
                      school_code=walk_in_school.get(r["capture_id"]),
                      capture_code=r["capture_code"] or "",
                      override_by=r["override_by"] or None,
                      override_reason=(r["reason"] or None) if r["override_by"] else None)
        snap.person(cap.id_number).captures.append(cap)
    _walk_in_rosters(store, snap, moved)
    # Corrections of a person's fields, whether made on the roster entry or on a capture's identity
    # (the review screen), applied in clock order after the roster version they follow.
    capture_person = {c.id: c.id_number for p in snap.persons.values() for c in p.captures}
    for r in _rows(store, "SELECT * FROM corrections WHERE target_table IN ('roster_entries', 'captures') "
                          "ORDER BY hlc"):
        if r["target_table"] == "captures":
            idn = capture_person.get(r["target_id"])
        else:
            idn = key(entry_ids.get(r["target_id"], r["target_id"]))
        target = snap.persons.get(idn) if idn else None
        if target is None or r["field"] not in PERSON_FIELDS or r["hlc"] <= (target.changed_hlc or ""):
            continue
        target.changes.append((r["hlc"], r["field"], getattr(target, r["field"]), r["new_value"] or ""))
        setattr(target, r["field"], r["new_value"] or "")
        target.changed_hlc = r["hlc"]
    for r in _rows(store, "SELECT id_number, hlc, amount_cents FROM payments y WHERE NOT EXISTS "
                          "(SELECT 1 FROM tombstones t WHERE t.target_table = 'payments' "
                          "AND t.target_id = y.id) ORDER BY hlc"):
        p = snap.person(key(r["id_number"]))
        p.payment_list.append((r["hlc"], int(r["amount_cents"])))
        p.paid_cents += int(r["amount_cents"])
        p.payments += 1
    for r in _rows(store, "SELECT e.batch_id, e.hlc, c.id_number FROM export_index i "
                          "JOIN exports e ON e.id = i.export_id JOIN captures c ON c.id = i.capture_id "
                          "ORDER BY e.hlc"):
        snap.person(key(r["id_number"])).exports.append((r["batch_id"], r["hlc"]))
    listed_in: dict[str, list[str]] = {}
    for r in _rows(store, "SELECT e.batch_id, e.hlc, x.capture_id, x.id_number FROM export_corrections x "
                          "JOIN exports e ON e.id = x.export_id ORDER BY e.hlc"):
        snap.person(key(r["id_number"])).listings.append((r["batch_id"], r["hlc"]))
        listed_in.setdefault(r["capture_id"], []).append(r["batch_id"])
    for p in snap.persons.values():
        for c in p.captures:
            c.listed = listed_in.get(c.id, [])
    _load_sent(store, snap, capture_person)
    try:
        snap.slots = store.schedule.slots()
    except Exception:  # a store without a schedule yet
        snap.slots = []
    return snap


def _walk_in_rosters(store: Store, snap: Snapshot, moved: Mapping[str, str]) -> None:
    """A person photographed for another school (a walk-in of 10674 at a 10673 station) has the
    name, student number, department and eligibility of that school's roster imported here
    (``roster import --school-code``) when it holds them: the roster the walk-in desk matched them
    on (``CaptureService._walk_in_match``), as the station's own students have their roster's.
    Otherwise what they had stays: this station's roster (someone on it at another school's desk,
    ``home_roster``) or their card. Corrections made later still apply over it (clock order)."""
    wanted = {idn: snap.school_of(p) for idn, p in snap.persons.items() if p.captures}
    wanted = {idn: school for idn, school in wanted.items() if school and school != snap.school_code}
    if not wanted:
        return
    # only their entries (a walk-in school's roster may hold thousands): by their numbers and the
    # numbers re-keyed to them, a chunk at a time (SQLite's limit on parameters)
    numbers = sorted({*wanted, *(old for old, new in moved.items() if new in wanted)})
    rows: list[Any] = []
    for at in range(0, len(numbers), 500):
        chunk = numbers[at:at + 500]
        rows += _rows(store, f"SELECT * FROM roster_all_current WHERE id_number IN ({', '.join('?' * len(chunk))})",
                      tuple(chunk))
    done: set[str] = set()
    # a person's own entry first; one under a number re-keyed to them only when they have none
    for r in sorted(rows, key=lambda r: r["id_number"] in moved):
        idn = moved.get(r["id_number"], r["id_number"])
        if wanted.get(idn) != r["school"] or idn in done:
            continue
        done.add(idn)
        p = snap.persons[idn]
        p.name, p.student_no = r["name"] or "", r["student_no"] or ""
        p.department = r["department"] or ""
        p.gender, p.birth_date = r["gender"] or p.gender, r["birth_date"] or p.birth_date
        p.eligible, p.changed_hlc, p.roster_school = bool(r["eligible"]), r["hlc"], str(r["school"])


def _load_sent(store: Store, snap: Snapshot, capture_person: dict[str, str]) -> None:
    """What each exported person's fields were in the batches that named them (``Person.sent``).

    A batch record keeps every item as it was written, so a later batch can list any change since —
    a roster re-import as much as a correction — against what the pipeline actually received,
    not against a change log that only some paths write to.
    """
    for r in _rows(store, "SELECT record FROM exports WHERE record IS NOT NULL ORDER BY hlc, id"):
        try:
            record = json.loads(r[0])
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        for item in list(record.get("items") or []) + list(record.get("corrections") or []):
            if not isinstance(item, dict):
                continue
            idn = capture_person.get(str(item.get("capture_id")))
            if idn is None or idn not in snap.persons:
                continue
            snap.persons[idn].sent = {f: str(item.get(f) or "") for f in SENT_FIELDS}
