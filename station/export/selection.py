"""Which photos go into the next batch, and why every other person of the selection does not.

Rules: only a person's current accepted capture; never a rejected or unpaid one; never an identity
typed by hand unless the profile's policy allows it; a person whose photo already went out is
never in an upload folder again (CHSI takes no second photo). If their record was corrected since,
or a newer photo was accepted, they go into the batch's corrections list for the pipeline team,
naming the batch that delivered the photo; otherwise they are "already exported".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from station.errors import InputError, Location
from station.export.layout import item_file_name
from station.export.names import check_text_field
from station.export.profile import BatchProfile
from station.export.record import BatchItem, Correction, Skipped, iso_local, local_zone
from station.export.slots import home_slot, naive_local
from station.store.facts import is_paid
from station.store.people import SENT_FIELDS, Capture, Person, Snapshot


@dataclass
class Filters:
    date: str | None = None           # YYYY-MM-DD, local date of the capture
    slot: str | None = None           # schedule slot key
    department: str | None = None
    school_code: str | None = None    # the batch's school; walk-ins of other schools go elsewhere
    utc_offset_hours: float = 8
    fee_cents: int = 3000             # the full fee (settings.fee.cents): "paid" is store.facts.is_paid

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in (("date", self.date), ("slot", self.slot),
                                  ("department", self.department), ("school_code", self.school_code)) if v}


@dataclass
class Selection:
    items: list[BatchItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)


def local_date(ms: int, offset_hours: float) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=local_zone(offset_hours)).date().isoformat()


def in_selection(person: Person, snap: Snapshot, filters: Filters) -> bool:
    """Whether a person belongs to the filtered population (captured or expected there)."""
    off = filters.utc_offset_hours
    if filters.department and person.department != filters.department:
        return False
    slot = None
    if filters.slot:
        slot = next((s for s in snap.slots if s.key == filters.slot), None)
        if slot is None:
            return False
        captured_in_slot = any(
            local_date(c.at_ms, off) == slot.date and slot.starts_at <= _naive_local(c.at_ms, off) < slot.ends_at
            for c in person.captures)
        if person.department not in slot.departments and not captured_in_slot:
            return False
        # the department has another slot that day: the capture's time says which one is theirs
        day_slots = sorted((s for s in snap.slots if s.date == slot.date), key=lambda s: (s.start, s.key))
        if (person.department in slot.departments and not captured_in_slot
                and home_slot(person, day_slots, off) != slot.key):
            return False
    if filters.date:
        captured_that_day = any(local_date(c.at_ms, off) == filters.date for c in person.captures)
        expected_that_day = any(s.date == filters.date and person.department in s.departments
                                for s in snap.slots)
        if not (captured_that_day or expected_that_day):
            return False
    return True


def _naive_local(ms: int, offset_hours: float) -> dt.datetime:
    return naive_local(ms, offset_hours)


def check_department(snap: Snapshot, department: str | None) -> None:
    """A ``--department`` no roster entry, person or slot carries is a typo, not "nothing due":
    InputError naming the option and the departments there are."""
    if not department:
        return
    known = {p.department for p in snap.persons.values() if p.department}
    known.update(d for s in snap.slots for d in s.departments)
    if department in known:
        return
    names = sorted(known)
    shown = "、".join(names[:KNOWN_SHOWN]) + ("…" if len(names) > KNOWN_SHOWN else "")
    raise InputError("exports.unknown_department", Location("--department"), department=department,
                     known=shown or "-")


KNOWN_SHOWN = 30


def select(snap: Snapshot, profile: BatchProfile, filters: Filters,
           image_exists: Callable[[str], bool] = lambda sha: True) -> Selection:
    if filters.slot and not any(s.key == filters.slot for s in snap.slots):
        raise InputError("exports.unknown_slot", Location("--slot"), slot=filters.slot,
                         known=", ".join(sorted(s.key for s in snap.slots)) or "-")
    check_department(snap, filters.department)
    out = Selection()
    batch_school = filters.school_code or snap.school_code
    fee_yuan = filters.fee_cents / 100
    for idn in sorted(snap.persons):
        person = snap.persons[idn]
        if not in_selection(person, snap, filters):
            continue

        def skip(reason: str, detail: str = "", person: Person = person) -> None:
            out.skipped.append(Skipped(person.id_number, person.name, reason, detail))

        cap = person.accepted
        school = snap.school_of(person)
        if school != batch_school:          # one school per batch: another's walk-in is named, not sent
            if cap is not None and school != snap.school_code and not cap.batches:
                skip("other_school", school)        # still to go out in its own school's batch
            continue
        if not person.captures:
            if person.on_roster and person.eligible:    # the ineligible were never expected
                skip("not_captured")
            continue
        if cap is None:
            latest = person.captures[-1]
            skip("rejected" if latest.decision == "reject" else "not_accepted")
            continue
        if person.exports:                  # the pipeline has this person's photo already
            fix = _correction(person, cap, profile, filters, image_exists)
            if fix is None:
                skip("already_exported", person.exports[0][0])
            elif isinstance(fix, Skipped):
                out.skipped.append(fix)
            else:
                out.corrections.append(fix)
            continue
        if not may_go_out(person, cap):
            skip("ineligible")
            continue
        if not is_paid(person.paid_cents, filters.fee_cents):
            skip("unpaid", f"{person.paid_cents / 100:g}/{fee_yuan:g}")
            continue
        problem = _photo_problem(person, cap, profile, image_exists)
        if problem:
            out.skipped.append(problem)
            continue
        item = BatchItem(**_fields(person, cap, filters))
        unsafe = _unsafe(item, profile)
        if unsafe:
            skip("unsafe", unsafe)
            continue
        out.items.append(item)
    if profile.name_field == "capture_code":
        _drop_code_clashes(out, snap)
    return out


def may_go_out(person: Person, cap: Capture) -> bool:
    """False when the roster turned the person ineligible (a re-import saying 非全日制: in-service)
    after their photo was accepted: it is neither sent nor printed, as the desk would not have
    taken it. A photo accepted while the roster already said so went past a supervisor's approval
    at the desk (the desk blocks it otherwise), and goes out."""
    if person.eligible or cap.override_by:
        return True
    return bool(person.ineligible_since) and (cap.decided_hlc or cap.hlc) >= person.ineligible_since


def _drop_code_clashes(out: Selection, snap: Snapshot) -> None:
    """Leave out every item whose 图像采集码 (case folded, as the pipeline's Windows side names
    files) is another person's too: on their current accepted photo, whatever its school,
    department or day (not only in this batch: a batch of one school or one department would send
    its student's photo first and leave only the other out), or already uploaded — as
    ``conflicts list`` counts them (``code_clash``). Each station checks codes against its own
    records only, so merged stations can bring one code twice; named by it, one photo would
    overwrite the other. Neither goes out until the code is put right."""
    owners: dict[str, set[str]] = {}
    for person in snap.persons.values():
        current = person.accepted
        for cap in person.captures:
            if cap.capture_code and (cap.batches or cap is current):
                owners.setdefault(cap.capture_code.casefold(), set()).add(person.id_number)
    for item in out.items:
        owners.setdefault(item.capture_code.casefold(), set()).add(item.id_number)
    clashes = [i for i in out.items if len(owners[i.capture_code.casefold()]) > 1]
    for item in clashes:
        out.items.remove(item)
        out.skipped.append(Skipped(item.id_number, item.name, "code_clash",
                                   str(len(owners[item.capture_code.casefold()]))))


def _fields(person: Person, cap: Capture, filters: Filters) -> dict[str, Any]:
    return dict(capture_id=cap.id, id_number=person.id_number, name=person.name, sha256=cap.export_sha256 or "",
                student_no=person.student_no, department=person.department, gender=person.gender_zh,
                captured_at=iso_local(cap.at_ms, filters.utc_offset_hours), identity_verified=cap.verified,
                capture_code=cap.capture_code, override_by=cap.override_by or "",
                override_reason=cap.override_reason or "")


def _photo_problem(person: Person, cap: Capture, profile: BatchProfile,
                   image_exists: Callable[[str], bool]) -> Skipped | None:
    """Why this capture's photo cannot go out (no 图像采集码 where the pipeline keys by it, typed
    identity, export photo missing), or None."""
    if profile.name_field == "capture_code" and not cap.capture_code:
        return Skipped(person.id_number, person.name, "no_capture_code")
    if not cap.verified and not profile.allow_unverified_identity:
        return Skipped(person.id_number, person.name, "unverified")
    if not cap.export_sha256 or not image_exists(cap.export_sha256):
        return Skipped(person.id_number, person.name, "image_missing")
    return None


def _correction(person: Person, cap: Capture, profile: BatchProfile, filters: Filters,
                image_exists: Callable[[str], bool]) -> Correction | Skipped | None:
    """What the pipeline team must be told about a person whose photo it has, if anything.

    A newer accepted photo (never uploaded, never listed) is a photo correction; fields corrected
    since the pipeline last heard of the person are listed as old → new. None: nothing new.
    """
    first = person.exports[0][0]
    written = {c.field for c in (*profile.columns, *profile.correction_columns)}
    # a field the pipeline never gets (the ID number in code mode) is not written as a change
    changes = [c for c in _changed_fields(person) if c["field"] in written]
    newer_photo = not cap.batches and not cap.listed
    if not newer_photo and not changes:
        return None
    if newer_photo:
        problem = _photo_problem(person, cap, profile, image_exists)
        if problem:
            return problem
    fix = Correction(**_fields(person, cap, filters), replaces_batch=first,
                     correction="photo" if newer_photo else "record", changes=changes)
    unsafe = _unsafe(fix, profile, with_file=newer_photo)
    if unsafe:
        return Skipped(person.id_number, person.name, "unsafe", unsafe)
    return fix


def _changed_fields(person: Person) -> list[dict[str, Any]]:
    """The fields that differ from what the pipeline last heard (``Person.sent``: the batches
    that named the person), old → new; whatever changed them — a correction, a roster re-import,
    a new ID number. Without a stored batch record, the correction facts since then."""
    if person.sent is not None:
        now = {"name": person.name, "id_number": person.id_number, "student_no": person.student_no,
               "department": person.department, "gender": person.gender_zh}
        return [{"field": f, "old": person.sent[f], "new": now[f]}
                for f in SENT_FIELDS if person.sent.get(f, now[f]) != now[f]]
    since = person.handled_hlc
    changed: dict[str, dict[str, Any]] = {}
    for hlc, name, old, new in person.changes:
        if hlc > since and name in SENT_FIELDS:
            entry = changed.setdefault(name, {"field": name, "old": old, "new": new})
            entry["new"] = new
    return [c for c in changed.values() if c["old"] != c["new"]]


def _unsafe(item: BatchItem, profile: BatchProfile, with_file: bool = True) -> str:
    """The reason this item cannot be written under the profile, or ''.

    The reason names the field and what is wrong with it (``name: formula``), never the value:
    it goes into the batch's public report, where names and ID numbers are masked."""
    where = f"capture {item.capture_id}"
    texts = [(name, getattr(item, name)) for name in ("name", "student_no", "department", "gender")]
    if isinstance(item, Correction):
        texts += [("changes", c.get(k)) for c in item.changes for k in ("old", "new")]
    try:
        if with_file:
            item_file_name(item, profile)
        for name, raw in texts:
            try:
                check_text_field(name, raw, where).encode(profile.csv_encoding)
            except UnicodeEncodeError:
                return f"{name}: not_encodable ({profile.csv_encoding})"
    except InputError as exc:
        return f"{exc.params.get('field', '?')}: {exc.key.rsplit('.', 1)[-1]}"
    return ""
