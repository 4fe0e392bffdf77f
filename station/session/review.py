"""Review decisions a technician makes on a capture: accept or reject it with a reason, or
correct an identity field (a new fact each; the old value stays). The queue itself is a store
read model (``station.store.review``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from station.store.review import ReviewItem

if TYPE_CHECKING:
    from station.store.core import Store
    from station.store.operators import Operator

CORRECTABLE = ("name", "gender", "birth_date", "department", "student_no")


def correct(store: Store, operator: Operator, item: ReviewItem, field_name: str, new_value: str,
            reason: str) -> str:
    """Record a correction of an identity field for ``item`` (a new fact; the old value stays)."""
    from station.errors import InputError, Location

    if field_name not in CORRECTABLE:
        from station.i18n import Words

        raise InputError("session.bad_field", Location("correction", field=field_name),
                         field=field_name,
                         fields=Words(tuple(f"session.field.{c}" for c in CORRECTABLE), ", ", "、"))
    if not new_value.strip() or not reason.strip():
        raise InputError("session.correction_incomplete", Location("correction", field=field_name))
    store.operators.require(operator, "correct")
    old = item.name if field_name == "name" else None
    return store.facts.record_correction("captures", item.capture_id, field_name, old,
                                         new_value.strip(), reason=reason.strip(),
                                         operator=operator.name)


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
