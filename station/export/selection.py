"""Which photos go into the next batch, and why every other person of the selection does not.

Rules (issue 7): only a person's current accepted capture; never a rejected or unpaid one; never an
identity typed by hand unless the profile's policy allows it; a capture already exported is not
exported again — unless the person's record was corrected since, or a newer photo was accepted,
and then it goes in again marked as a replacement of the earlier batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from station.errors import InputError
from station.export.layout import item_file_name
from station.export.names import check_text_field
from station.export.profile import BatchProfile
from station.export.record import BatchItem, Skipped, iso_local, local_zone
from station.export.snapshot import Person, Snapshot


@dataclass
class Filters:
    date: str | None = None           # YYYY-MM-DD, local date of the capture
    slot: str | None = None           # schedule slot key
    department: str | None = None
    school_code: str | None = None    # the batch's school; walk-ins of other schools go elsewhere
    utc_offset_hours: float = 8

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in (("date", self.date), ("slot", self.slot),
                                  ("department", self.department), ("school_code", self.school_code)) if v}


@dataclass
class Selection:
    items: list[BatchItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


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
            local_date(c.at_ms, off) == slot.date and slot.contains(_naive_local(c.at_ms, off))
            for c in person.captures)
        if person.department not in slot.departments and not captured_in_slot:
            return False
    if filters.date:
        captured_that_day = any(local_date(c.at_ms, off) == filters.date for c in person.captures)
        expected_that_day = any(s.date == filters.date and person.department in s.departments
                                for s in snap.slots)
        if not (captured_that_day or expected_that_day):
            return False
    return True


def _naive_local(ms: int, offset_hours: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=local_zone(offset_hours)).replace(tzinfo=None)


def select(snap: Snapshot, profile: BatchProfile, filters: Filters,
           image_exists: Callable[[str], bool] = lambda sha: True) -> Selection:
    out = Selection()
    fee_yuan = profile.fee_cents / 100
    for idn in sorted(snap.persons):
        person = snap.persons[idn]
        if not in_selection(person, snap, filters):
            continue

        def skip(reason: str, detail: str = "", person: Person = person) -> None:
            out.skipped.append(Skipped(person.id_number, person.name, reason, detail))

        if not person.captures:
            if person.on_roster:
                skip("not_captured")
            continue
        cap = person.accepted
        if cap is None:
            latest = person.captures[-1]
            skip("rejected" if latest.decision == "reject" else "not_accepted")
            continue
        home = filters.school_code or snap.school_code
        if (cap.school_code or home) != home:
            skip("other_school", cap.school_code or "")
            continue
        replaces = ""
        if cap.batches:
            # Already exported: again only if the person's record changed since the last export.
            if person.exports and person.changed_hlc > person.exports[-1][1]:
                replaces = cap.batches[-1]
            else:
                skip("already_exported", cap.batches[-1])
                continue
        elif person.exports:
            replaces = person.exports[-1][0]          # a newer photo after an earlier export
        if person.paid_cents < profile.fee_cents:
            skip("unpaid", f"{person.paid_cents / 100:g}/{fee_yuan:g}")
            continue
        if not cap.verified and not profile.allow_unverified_identity:
            skip("unverified")
            continue
        sha = cap.export_sha256
        if not sha or not image_exists(sha):
            skip("image_missing")
            continue
        item = BatchItem(capture_id=cap.id, id_number=person.id_number, name=person.name,
                         sha256=sha, student_no=person.student_no, department=person.department,
                         gender=person.gender_zh, captured_at=iso_local(cap.at_ms, filters.utc_offset_hours),
                         kind="replacement" if replaces else "new", replaces_batch=replaces,
                         identity_verified=cap.verified)
        problem = _unsafe(item, profile)
        if problem:
            skip("unsafe", problem)
            continue
        out.items.append(item)
    return out


def _unsafe(item: BatchItem, profile: BatchProfile) -> str:
    """The reason this item cannot be written under the profile, or ''."""
    try:
        item_file_name(item, profile)
        for name in ("name", "student_no", "department", "gender"):
            value = check_text_field(name, getattr(item, name), f"capture {item.capture_id}")
            value.encode(profile.csv_encoding)
    except InputError as exc:
        return exc.message
    except UnicodeEncodeError as exc:
        return f"{profile.csv_encoding}: {exc.object[exc.start:exc.end]!r}"
    return ""
