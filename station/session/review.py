"""Review decisions a technician makes on a capture: accept or reject it with a reason, or
correct an identity field (a new fact each; the old value stays). The queue itself is a store
read model (``station.store.review``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from station.session.correct import FIELDS as CORRECTABLE  # the TUI's field names
from station.store.review import FoundPerson, ReviewItem

if TYPE_CHECKING:
    from station.store.core import Store
    from station.store.operators import Operator

__all__ = ["CORRECTABLE", "correct", "decide", "find"]

# The end of an ID number a search takes: 4 to 6 characters (the last may be X). Never more, so
# the review screen is no look-up of whole ID numbers, and the number typed is never a whole one.
ID_TAIL = re.compile(r"[0-9]{3,5}[0-9X]")
WHOLE_ID = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")    # the form of a whole ID number
SEVERAL_NAMED = 5        # people named (masked) in a refusal for several matches


def correct(store: Store, operator: Operator, item: ReviewItem, field_name: str, new_value: str,
            reason: str) -> str:
    """Correct a field of the person ``item`` is a capture of: the same service as `station
    correct` (``station.session.correct``), so the rules, old value and trail are the same."""
    from station.session.correct import correct_person

    return correct_person(store, operator, item.id_number, field_name, new_value, reason).correction_id


def decide(store: Store, operator: Operator, item: ReviewItem, decision: str, reason: str) -> str:
    """A technician's or supervisor's second look at a capture: accept or reject, with a reason.
    Accepting a photo that fails its checks follows the one rule of the store
    (``accept.override``: supervisors), the same as at the desk and in ``ingest --force``; the
    decider is then recorded as the override. Refused for photographers."""
    from station.errors import InputError, Location

    if decision not in ("accept", "reject"):
        raise InputError("session.bad_decision", Location("review", field="decision"),
                         decision=decision)
    store.operators.require(operator, "check.override")
    failed = store.facts.failed_checks(item.capture_id) if decision == "accept" else None
    return store.facts.record_acceptance(
        item.capture_id, decision, reason=reason.strip() or None,
        override_by=operator.name if failed else None, operator=operator.name)


def find(store: Store, operator: Operator, query: str) -> tuple[FoundPerson, list[ReviewItem]]:
    """One person's captures for the review screen, found by a key that is safe to type and to
    show: a student number, a 图像采集码 (both exactly), or the last 4 to 6 characters of the ID
    number. Only people with a capture count (there is nothing else to review): a short end of
    an ID number shared with somebody never photographed still finds the one who was. Refused in
    words when the query is empty, matches nobody, several people with captures (named masked,
    so the supervisor can tell which key to type instead), or only people without one. Needs the
    right to read a person's trail (``history.view``)."""
    from station.errors import InputError, Location, NotFoundError, RefusedError
    from station.i18n import Bilingual
    from station.privacy import mask_id, mask_name
    from station.store.review import find_people, person_captures

    store.operators.require(operator, "history.view")
    typed = "".join(query.split())
    if not typed:
        raise InputError("session.search_empty", Location("review", field="query"))
    tail = typed.upper() if ID_TAIL.fullmatch(typed.upper()) else ""
    people = find_people(store, student_no=typed, capture_code=typed, id_tail=tail)
    said = mask_id(typed) if len(typed) > 6 and re.fullmatch(r"[0-9Xx]+", typed) else typed
    if not people:
        if WHOLE_ID.fullmatch(typed.upper()):   # a whole ID number: not "nobody", but what to type
            raise InputError("session.search_whole_id", Location("review", field="query"))
        raise NotFoundError("session.search_none", query=said)
    captured = [(p, items) for p in people if (items := person_captures(store, p.id_number))]
    if len(captured) == 1:
        return captured[0]
    if len(captured) > 1:
        named = [f"{mask_name(p.name) or '—'} {mask_id(p.id_number)}"        # a walk-in: + school
                 + (f" {p.school_code}" if p.school_code else "")
                 for p, _items in captured[:SEVERAL_NAMED]]
        more = ["…"] if len(captured) > SEVERAL_NAMED else []
        raise RefusedError("session.search_several", query=said, count=len(captured),
                           people=Bilingual("、".join(named + more), ", ".join(named + more)))
    if len(people) > 1:
        raise NotFoundError("session.search_none_captured", query=said, count=len(people))
    person = people[0]
    raise NotFoundError("session.search_no_captures", name=mask_name(person.name) or "—",
                        id=mask_id(person.id_number))
