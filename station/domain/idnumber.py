"""GB 11643-1999 citizen identity numbers: check digit, birth date, gender, region.

Used by roster import, the ID card reader and manual entry, so the rules live in one place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from operator import mul
from typing import Any

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # index: (sum of weighted digits) mod 11

# GB/T 2260 province-level codes, plus 8x (HK/Macao/Taiwan residence permits: 81, 82, 83)
# and 9x (foreign permanent residence, 2023 numbering).
PROVINCES = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
    "21": "辽宁", "22": "吉林", "23": "黑龙江",
    "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西", "37": "山东",
    "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏",
    "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
    "71": "台湾", "81": "香港", "82": "澳门", "83": "台湾",
    "91": "外国人", "92": "外国人", "93": "外国人", "94": "外国人", "95": "外国人",
    "96": "外国人", "97": "外国人", "98": "外国人", "99": "外国人",
}


# Findings that mean the text is no 18-character number at all (nothing else is checked then).
MALFORMED = ("length", "old_15_digit", "characters")


@dataclass(frozen=True)
class Finding:
    """One thing wrong with an identity number: a catalog key and its parameters."""

    code: str
    params: dict[str, Any]

    def messages(self) -> tuple[str, str]:
        from station.i18n import both

        return both(f"id_number.{self.code}", **self.params)

    def to_json(self) -> dict[str, Any]:
        zh, en = self.messages()
        return {"code": self.code, "message_zh": zh, "message_en": en}


def check_digit(first17: str) -> str:
    """The 18th character for 17 digits (ISO 7064 MOD 11-2)."""
    if len(first17) != len(WEIGHTS):
        raise ValueError(f"17 digits expected, got {len(first17)}")
    total = sum(map(mul, map(int, first17), WEIGHTS))  # map, not a generator: runs per roster row
    return CHECK_CHARS[total % 11]


# Full-width digits and X, as a Chinese input method types them into a spreadsheet: ASCII.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


def normalise(number: str) -> str:
    """Strip spaces, make full-width digits ASCII and upper-case a trailing x: the usual typing
    and spreadsheet accidents (a full-width number failed as a wrong check digit "expected 8"
    where an ８ stood, an unknown region and an invalid birth date, all at once).

    A spreadsheet's marks for "this is text, not a number" are taken off too: ``="…"`` (how
    registry systems export numbers to CSV) and a leading ``'`` (Excel's text prefix). What they
    hold is the number as typed, checked like any other."""
    number = number.strip()
    if number.startswith('="') and number.endswith('"') and len(number) > 3:
        number = number[2:-1]
    elif number.startswith("'"):
        number = number[1:]
    return number.strip().replace(" ", "").replace("\u3000", "").translate(_FULL_WIDTH).upper()


def birth_date(number: str) -> dt.date | None:
    digits = number[6:14]
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return None
    try:  # not strptime: this runs three times per row of a 20,000-row roster import
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def gender(number: str) -> str:
    """'male' or 'female' from digit 17 (odd = male)."""
    return "male" if int(number[16]) % 2 == 1 else "female"


def validate(number: str, today: dt.date | None = None) -> list[Finding]:
    """Every finding about ``number``; an empty list means it is well formed."""
    number = normalise(number)
    if len(number) == 15 and number.isascii() and number.isdigit():
        # a first-generation card's number (no century, no check digit): named as such, since
        # "must have 18 characters" sent people counting digits; the card read has the 18
        return [Finding("old_15_digit", {})]
    if len(number) != 18:
        return [Finding("length", {"length": len(number)})]
    if not (number[:17].isdigit() and (number[17].isdigit() or number[17] == "X")):
        return [Finding("characters", {})]
    findings: list[Finding] = []
    expected = check_digit(number[:17])
    if number[17] != expected:
        findings.append(Finding("check_digit", {"expected": expected}))
    born = birth_date(number)
    today = today or dt.date.today()
    if born is None or born > today or born.year < 1900:
        findings.append(Finding("birth_date", {"value": number[6:14]}))
    if number[:2] not in PROVINCES:
        findings.append(Finding("region", {"region": number[:6]}))
    return findings


def is_valid(number: str) -> bool:
    return not validate(number)


def consistency(number: str, birth: dt.date | None, given_gender: str | None) -> list[Finding]:
    """Findings where a stated birth date or gender disagrees with the number."""
    number = normalise(number)
    findings: list[Finding] = []
    expected_birth = birth_date(number)
    if birth is not None and expected_birth is not None and birth != expected_birth:
        findings.append(
            Finding("birth_mismatch", {"given": birth.isoformat(), "expected": expected_birth.isoformat()})
        )
    if given_gender in ("male", "female") and len(number) == 18 and number[16].isdigit():
        expected_gender = gender(number)
        if given_gender != expected_gender:
            findings.append(Finding("gender_mismatch", {"given": given_gender, "expected": expected_gender}))
    return findings


def make(region: str, born: dt.date, sequence: int, male: bool) -> str:
    """A valid number for generated demo and test people (sequence 0-99; parity sets gender)."""
    seq = f"{sequence % 100:02d}{(1 if male else 0) + 2 * (sequence % 5)}"
    first17 = f"{region}{born:%Y%m%d}{seq}"
    return first17 + check_digit(first17)
