"""Review decisions a technician makes on a capture: accept or reject it with a reason, or
correct an identity field (a new fact each; the old value stays). The queue itself is a store
read model (``station.store.review``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from station.session.correct import FIELDS as CORRECTABLE  # the TUI's field names
from station.store.review import ReviewItem

if TYPE_CHECKING:
    from station.store.core import Store
    from station.store.operators import Operator

__all__ = ["CORRECTABLE", "correct", "decide"]


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
