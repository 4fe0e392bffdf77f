"""Validation of a read (or typed) identity: findings in Chinese and English, never a silent pass.

The station shows every finding and the operator decides; a supervisor may override, and that
is audited by the session layer. Nothing here drops or corrects data.
"""

from __future__ import annotations

import datetime as dt
import re

from station.domain import idnumber
from station.domain.identity import Identity
from station.i18n import both

_FOREIGN_2017 = re.compile(r"[A-Z]{3}\d{12}")
# First digit(s) of an 18-digit number per card type (GB 11643, 2017 permit and 2023 card rules).
_PREFIX_RULES = {
    "resident": lambda n: n[:1] not in ("8", "9"),
    "hmt_residence": lambda n: n[:2] in ("81", "82", "83"),
    "foreign_permanent": lambda n: n[:1] == "9",
}


def warning(code: str, **params: object) -> dict:
    """One finding in the identity JSON's shape: {code, message_zh, message_en}."""
    zh, en = both(f"idcard.warn.{code}", **params)
    return {"code": code, "message_zh": zh, "message_en": en}


def _findings_json(findings: list[idnumber.Finding]) -> list[dict]:
    return [f.to_json() for f in findings]


def _parse(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def validate_identity(identity: Identity, today: dt.date | None = None) -> list[dict]:
    """Every finding about ``identity``: number, birth/gender consistency, validity, prefix."""
    today = today or dt.date.today()
    number = identity.id_number
    out: list[dict] = []
    if identity.card_type == "foreign_permanent" and not number[:1].isdigit():
        out.extend(_foreign_2017(identity))
    else:
        findings = idnumber.validate(number, today)
        out.extend(_findings_json(findings))
        if not any(f.code in idnumber.MALFORMED for f in findings):
            out.extend(_findings_json(idnumber.consistency(
                number, _parse(identity.birth_date), identity.gender)))
            if identity.gender in ("unknown", "unspecified"):
                out.append(warning("gender_not_stated", gender=identity.gender))
            rule = _PREFIX_RULES.get(identity.card_type)
            if rule is not None and not rule(number):
                out.append(warning("number_card_type", prefix=number[:2],
                                   card_type=identity.card_type))
    out.extend(_validity(identity, today))
    return out


def _foreign_2017(identity: Identity) -> list[dict]:
    """2017 foreign cards carry a 15-character number: nationality letters and 12 digits."""
    number = identity.id_number
    if not _FOREIGN_2017.fullmatch(number):
        return [warning("foreign_number_format", number=number)]
    if identity.nationality and number[:3] != identity.nationality:
        return [warning("nationality_mismatch", in_number=number[:3],
                        nationality=identity.nationality)]
    return []


def _validity(identity: Identity, today: dt.date) -> list[dict]:
    out = []
    start = _parse(identity.valid_from)
    end = None if identity.valid_to == "长期" else _parse(identity.valid_to)
    if start and start > today:
        out.append(warning("card_not_yet_valid", valid_from=identity.valid_from))
    if end and end < today:
        out.append(warning("card_expired", valid_to=identity.valid_to))
    if start and end and start > end:
        out.append(warning("validity_order", valid_from=identity.valid_from,
                           valid_to=identity.valid_to))
    return out
