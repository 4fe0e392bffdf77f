"""Correcting a person's record: one service for `station correct` and the review screen.

A correction is one fact (``corrections``, keyed by the person's ID number: the way two stations
correcting the same field of the same person meet as a ``two_corrections`` conflict), written in
one transaction with its audit line, with the value it replaces as the derived view had it then.
Any person with a record can be corrected, not only captures waiting in the review queue.

Correcting the ID number itself re-keys the person (``station.store.rekey``): their captures,
payments, acceptances and 图像采集码 belong to the new number from then on, by that one new
fact; no earlier row changes. It is a supervisor's decision, the new number must be well formed
(check digit included), and a new number that already has a record of its own is refused unless
the supervisor says that joining the two records is what they mean (``merge``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from station.errors import InputError, Location, RefusedError
from station.store.rekey import PERSON_TABLE, REKEY_FIELD, has_record, resolve

if TYPE_CHECKING:
    from station.store.core import Store
    from station.store.operators import Operator

FIELDS = ("name", "gender", "birth_date", "department", "student_no", REKEY_FIELD)
ID_ACTION = "correct.id_number"          # supervisors: a person's facts move to another number
GENDERS = {"male": "male", "female": "female", "男": "male", "女": "female", "m": "male", "f": "female"}
_LIMITS = {"name": 64, "department": 128}


@dataclass(frozen=True)
class Corrected:
    """What one correction recorded (the CLI prints it, the TUI reloads after it)."""

    correction_id: str
    id_number: str            # the person corrected, by the number they had before
    field: str
    old_value: str
    new_value: str
    reason: str
    operator: str
    merged: bool = False      # an ID-number correction that joined an existing record

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def correct_person(store: Store, operator: Operator, id_number: str, field_name: str, value: str,
                   reason: str, *, merge: bool = False) -> Corrected:
    """Record a correction of ``field_name`` of the person ``id_number`` (see the module)."""
    from station.domain import idnumber
    from station.i18n import Words
    from station.privacy import check_text, mask_id

    if field_name not in FIELDS:
        raise InputError("session.bad_field", Location("--field"), field=field_name,
                         fields=Words(tuple(f"session.field.{c}" for c in FIELDS), ", ", "、"))
    value, reason = (value or "").strip(), (reason or "").strip()
    if not value or not reason:
        # the option left empty, named as typed (not "correction, field name")
        raise InputError("session.correction_incomplete", Location("--reason" if value else "--value"))
    check_text(reason, field="--reason", limit=500, source="--reason")
    store.operators.require(operator, ID_ACTION if field_name == REKEY_FIELD else "correct")
    number = idnumber.normalise(id_number)
    conn = store.conn
    with store.transaction():            # read the old value and write the fact as one unit
        current = resolve(conn, number)
        if current != number:
            raise InputError("session.correct_moved", Location("ID_NUMBER"), id=mask_id(number),
                             new=mask_id(current))
        if not has_record(conn, number):
            raise InputError("session.correct_no_record", Location("ID_NUMBER"), id=mask_id(number))
        new = _checked(field_name, value)
        old = _current_value(store, number, field_name)
        if new == old:
            raise InputError("session.correct_unchanged", Location("--value", field=field_name),
                             field=Words((f"session.field.{field_name}",)))
        merged = False
        if field_name == REKEY_FIELD:
            if has_record(conn, new):
                if not merge:
                    raise RefusedError("session.correct_id_taken", new=mask_id(new))
                merged = True
            elif resolve(conn, new) != new:
                raise RefusedError("session.correct_moved", id=mask_id(new), new=mask_id(resolve(conn, new)))
        cid = store.facts.record_correction(PERSON_TABLE, number, field_name, old, new, reason=reason,
                                            operator=operator.name)
        if merged:
            store.audit.append(operator.name, "correct.merge", new, {"id": cid, "from": number})
    return Corrected(cid, number, field_name, old, new, reason, operator.name, merged)


def _checked(field_name: str, value: str) -> str:
    """The new value in the form the record keeps, or an InputError naming the field."""
    from station.domain import idnumber
    from station.i18n import Bilingual
    from station.privacy import check_text

    where = Location("--value", field=field_name)
    if field_name == REKEY_FIELD:
        number = idnumber.normalise(value)
        findings = idnumber.validate(number)
        if findings:
            raise InputError("session.correct_bad_id", where, problem=Bilingual(
                "；".join(f.messages()[0] for f in findings),
                "; ".join(f.messages()[1] for f in findings)))
        return number
    if field_name == "gender":
        gender = GENDERS.get(value.lower())
        if gender is None:
            raise InputError("session.correct_bad_gender", where, value=value)
        return gender
    if field_name == "birth_date":
        try:
            born = dt.date.fromisoformat(value)
        except ValueError:
            raise InputError("session.correct_bad_date", where, value=value) from None
        if born.year < 1900 or born > dt.date.today():
            raise InputError("session.correct_bad_date", where, value=value)
        return born.isoformat()
    if field_name == "student_no":       # it names files: the one form of roster import
        from station.domain import studentno

        number = studentno.normalise(value)
        problem = studentno.problem(number)
        if problem is not None:
            raise InputError(problem[0], where, **problem[1])
        return number
    text = check_text(value, field=field_name, limit=_LIMITS[field_name], source="--value")
    # name and department go into the manifest: what the export would refuse (a leading = + - @,
    # a line break) is refused here, as at roster import, not found only at the next export
    from station.roster import values
    from station.roster.importer import export_problems

    problem = export_problems(field_name, values.clean(text))
    if problem is not None:
        raise InputError(problem[0], where, **problem[1])
    return text


def _current_value(store: Store, id_number: str, field_name: str) -> str:
    """The value the derived view holds now: what the correction replaces (its old value)."""
    if field_name == REKEY_FIELD:
        return id_number
    from station.store.people import load_snapshot

    person = load_snapshot(store).persons.get(id_number)
    return str(getattr(person, field_name, "") or "") if person is not None else ""
