"""Read model of the review queue: captures that need a second look, their correction trail,
and the export crops of a person's latest captures (for a side-by-side look)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.store.core import Store


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
    corrections: list[dict[str, Any]] = field(default_factory=list)   # oldest first: the trail
    pictures: list[tuple[str, bytes]] = field(default_factory=list, repr=False)


_DECISIONS = ("SELECT d.*, (SELECT passed FROM check_reports k WHERE k.capture_id = d.capture_id "
              "ORDER BY k.hlc DESC LIMIT 1) AS check_passed, "
              "(SELECT name FROM card_reads r WHERE r.id_number = d.id_number "
              "ORDER BY r.hlc DESC LIMIT 1) AS name "
              "FROM capture_decisions d")


def _why(row: Any) -> str | None:
    """Why a capture needs a second look; None when it does not."""
    if row["override_by"]:
        return "override_reason"
    if row["decision"] == "accept" and row["check_passed"] == 0:
        return "failed_checks"
    if row["decision"] is None:
        return "undecided"
    return None


def _item(store: Store, row: Any, moved: dict[str, str], why: str) -> ReviewItem:
    item = ReviewItem(row["capture_id"], moved.get(row["id_number"], row["id_number"]),
                      row["name"] or "", row["decision"], row["override_by"],
                      None if row["check_passed"] is None else bool(row["check_passed"]),
                      row["image_sha256"], why)
    item.corrections = corrections(store, item.capture_id, item.id_number)
    for c in item.corrections:
        if c["field"] == "name" and c["new_value"]:
            item.name = c["new_value"]
    return item


def review_queue(store: Store, limit: int = 200) -> list[ReviewItem]:
    from station.store.rekey import rekeys

    conn = store.conn
    moved = rekeys(conn)           # a capture under a corrected ID number is its new number's
    rows = conn.execute(f"{_DECISIONS} ORDER BY d.captured_hlc DESC LIMIT ?", (limit * 5,))
    items = []
    for r in rows:
        why = _why(r)
        if why is None:
            continue
        items.append(_item(store, r, moved, why))
        if len(items) >= limit:
            break
    return items


def person_captures(store: Store, id_number: str) -> list[ReviewItem]:
    """Every capture of one person (under any number re-keyed to theirs), newest first, whether
    or not it needs a second look (those that do not say ``no_review``): a supervisor looking a
    person up reviews, relabels or overrides them as a queued capture."""
    from station.store.rekey import aliases, rekeys

    conn = store.conn
    moved = rekeys(conn)
    numbers = aliases(conn, id_number) or [id_number]
    rows = conn.execute(f"{_DECISIONS} WHERE d.id_number IN ({', '.join('?' * len(numbers))}) "
                        "ORDER BY d.captured_hlc DESC", numbers)
    return [_item(store, r, moved, _why(r) or "no_review") for r in rows]


@dataclass
class FoundPerson:
    """A person a search found: their current ID number, name and student number (corrections
    applied). The screen masks the name and the number. ``school_code``: the school their photos
    are for when it is not this station's own (a Friday walk-in of 10674), else ""."""

    id_number: str
    name: str
    student_no: str
    school_code: str = ""


def find_people(store: Store, *, student_no: str = "", capture_code: str = "",
                id_tail: str = "") -> list[FoundPerson]:
    """The people whose student number or 图像采集码 is the one given (exactly), or whose ID number
    ends with ``id_tail``; each once, under their current number (re-keying followed), sorted by
    that number. Student numbers and ID numbers are looked up on every school's roster here (the
    station's own and those imported for walk-ins, ``roster_all_current``)."""
    from station.store.rekey import rekeys

    conn = store.conn
    moved = rekeys(conn)
    numbers: set[str] = set()
    if student_no:
        numbers.update(r[0] for r in conn.execute(
            "SELECT id_number FROM roster_all_current WHERE student_no = ? COLLATE NOCASE "
            "UNION SELECT target_id FROM corrections WHERE field = 'student_no' "
            "AND target_table = 'roster_entries' AND new_value = ? COLLATE NOCASE",
            (student_no, student_no)))
    if capture_code:
        numbers.update(r[0] for r in conn.execute(
            "SELECT id_number FROM captures_live WHERE capture_code = ? COLLATE NOCASE",
            (capture_code,)))
    if id_tail:
        pattern = "%" + id_tail
        numbers.update(r[0] for r in conn.execute(
            "SELECT id_number FROM roster_all_current WHERE id_number LIKE ? "
            "UNION SELECT id_number FROM card_reads WHERE id_number LIKE ? "
            "UNION SELECT id_number FROM captures_live WHERE id_number LIKE ?",
            (pattern, pattern, pattern)))
        numbers.update(new for new in moved.values() if new.upper().endswith(id_tail.upper()))
    current = sorted({moved.get(n, n) for n in numbers})
    return [_found(store, number) for number in current]


def _found(store: Store, id_number: str) -> FoundPerson:
    """The person's name and student number from the roster of the school their photos are for
    (``person_school``), else this station's own roster, else another school's imported here,
    else their card; corrections applied."""
    from station.store.rekey import aliases

    conn = store.conn
    numbers = aliases(conn, id_number) or [id_number]
    marks = ", ".join("?" * len(numbers))
    home = store.meta("school_code") or ""
    school = person_school(store, numbers, home)
    roster = conn.execute(f"SELECT name, student_no FROM roster_all_current WHERE id_number IN ({marks}) "
                          "ORDER BY (school IS ?) DESC, (school IS ?) DESC, (id_number = ?) DESC, "
                          "hlc DESC LIMIT 1", (*numbers, school, home, id_number)).fetchone()
    read = conn.execute(f"SELECT name FROM card_reads WHERE id_number IN ({marks}) "
                        "ORDER BY hlc DESC LIMIT 1", numbers).fetchone()
    name = (roster["name"] if roster else None) or (read["name"] if read else "") or ""
    student_no = (roster["student_no"] if roster else None) or ""
    for field_name, value in conn.execute(
            f"SELECT field, new_value FROM corrections WHERE target_table = 'roster_entries' "
            f"AND target_id IN ({marks}) AND field IN ('name', 'student_no') ORDER BY hlc",
            numbers):
        if value:
            name, student_no = (value, student_no) if field_name == "name" else (name, value)
    return FoundPerson(id_number, name, student_no, school if school != home else "")


def person_school(store: Store, numbers: list[str], home: str) -> str:
    """The school one person (their ID numbers: ``rekey.aliases``) is counted for, as batches
    count them (``people.Snapshot.school_of``): that of their accepted capture, else of their
    latest one, by ``people.capture_school``'s rule; ``home`` when they have none."""
    from station.store.campaign import station_schools
    from station.store.people import school_for

    rows = store.conn.execute(
        "SELECT d.station_id, d.decision, d.decided_hlc, (SELECT w.school_code FROM walk_ins w "
        "WHERE w.capture_id = d.capture_id ORDER BY w.hlc DESC LIMIT 1) AS walk_in "
        f"FROM capture_decisions d WHERE d.id_number IN ({', '.join('?' * len(numbers))}) "
        "ORDER BY d.captured_hlc", numbers).fetchall()
    accepted = [r for r in rows if r["decision"] == "accept"]
    row = max(accepted, key=lambda r: r["decided_hlc"] or "") if accepted else (rows[-1] if rows else None)
    if row is None:
        return home
    return school_for(row["walk_in"], row["station_id"], station_schools(store), home)


def corrections(store: Store, capture_id: str, id_number: str | None = None) -> list[dict[str, Any]]:
    """The correction facts about one capture's identity, oldest first: those made on the capture
    (older stations) and those made on its person (keyed by the ID number, as `station correct`
    and the review screen record them now)."""
    from station.store.rekey import aliases

    numbers = aliases(store.conn, id_number) if id_number else []
    return [dict(r) for r in store.conn.execute(
        "SELECT field, old_value, new_value, reason, operator, hlc FROM corrections "
        "WHERE (target_table = 'captures' AND target_id = ?) "
        f"OR (target_table = 'roster_entries' AND target_id IN ({', '.join('?' * len(numbers))})) "
        "ORDER BY hlc", (capture_id, *numbers))]


def pictures_for(store: Store, item: ReviewItem, limit: int = 2) -> list[tuple[str, bytes]]:
    """The export crops of this person's latest captures (this one first), for a side-by-side
    look: ``(capture id, jpeg)``; captures without a crop are left out."""
    from station.store.rekey import aliases

    numbers = aliases(store.conn, item.id_number) or [item.id_number]
    out = []
    for capture_id, crop_sha in store.conn.execute(
            "SELECT id, json_extract(camera, '$.crop_sha256') FROM captures_live "
            f"WHERE id_number IN ({', '.join('?' * len(numbers))}) ORDER BY (id = ?) DESC, hlc DESC",
            (*numbers, item.capture_id)):
        if crop_sha and store.images.exists(crop_sha):
            out.append((capture_id, store.images.get(crop_sha)))
        if len(out) >= limit:
            break
    return out
