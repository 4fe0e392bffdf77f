"""Manual identity entry (the card cannot be read): a typed name and ID number, validated.

The desk only accepts it with a supervisor's approval (CaptureService.identify).
"""

from __future__ import annotations

from station.domain import idnumber
from station.domain.identity import Identity
from station.errors import InputError, Location


def manual_identity(name: str, number: str) -> Identity:
    """An Identity of card type ``manual``; a clear error naming the bad field."""
    name = name.strip()
    if not name:
        raise InputError("identity.missing_field", Location("manual", field="name"), field="name")
    number = idnumber.normalise(number)
    findings = idnumber.validate(number)
    if findings:
        zh, en = findings[0].messages()
        raise InputError("identity.bad_value", Location("manual", field="id_number"),
                         field="id_number", value=en)
    born = idnumber.birth_date(number)
    return Identity(card_type="manual", name=name, gender=idnumber.gender(number),
                    birth_date=born.isoformat() if born else "", id_number=number)
