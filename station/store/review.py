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


def review_queue(store: Store, limit: int = 200) -> list[ReviewItem]:
    from station.store.rekey import rekeys

    conn = store.conn
    moved = rekeys(conn)           # a capture under a corrected ID number is its new number's
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
        item = ReviewItem(r["capture_id"], moved.get(r["id_number"], r["id_number"]), r["name"] or "",
                          r["decision"],
                          r["override_by"],
                          None if r["check_passed"] is None else bool(r["check_passed"]),
                          r["image_sha256"], why)
        item.corrections = corrections(store, item.capture_id, item.id_number)
        for c in item.corrections:
            if c["field"] == "name" and c["new_value"]:
                item.name = c["new_value"]
        items.append(item)
        if len(items) >= limit:
            break
    return items


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
