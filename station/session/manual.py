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
        raise InputError("session.manual_name_missing", Location("manual", field="name"))
    number = idnumber.normalise(number)
    findings = idnumber.validate(number)
    if findings:        # the finding's own sentence, in each language ("校验位错误（应为 X）")
        raise InputError(f"id_number.{findings[0].code}", Location("manual", field="id_number"),
                         **findings[0].params)
    born = idnumber.birth_date(number)
    return Identity(card_type="manual", name=name, gender=idnumber.gender(number),
                    birth_date=born.isoformat() if born else "", id_number=number)
