"""The identity of a person as read from a card (or typed), in the CLI contract's JSON shape."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from station.errors import InputError, Location
from station.privacy import check_text

CARD_TYPES = ("resident", "foreign_permanent", "hmt_residence", "manual")
SOURCES = ("card", "typed")     # read from a card by this station / given by a person or a file
GENDERS = ("male", "female", "unknown", "unspecified")
GENDER_CODES = {"0": "unknown", "1": "male", "2": "female", "9": "unspecified"}

# Longest text each field may hold: generous for every card layout (a resident card's address has
# at most 35 characters, a foreign card's English name 120), small enough that a file cannot fill
# the store or a screen. Unknown fields are ignored, but must be small too (MAX_FILE_BYTES).
FIELD_LIMITS = {
    "card_type": 32, "name": 64, "gender": 16, "birth_date": 16, "id_number": 32,
    "valid_from": 16, "valid_to": 16, "name_en": 160, "nation": 32, "nationality": 8,
    "address": 200, "issuer": 100, "card_serial": 64, "photo_wlt_sha256": 64, "source": 8,
    "capture_code": 128,
}
MAX_WARNINGS = 32
WARNING_TEXT_LIMIT = 500
MAX_FILE_BYTES = 64 * 1024


@dataclass
class Identity:
    """Fields of the identity JSON (cli.md). Optional fields are None when the card has none."""

    card_type: str
    name: str
    gender: str
    birth_date: str
    id_number: str
    valid_from: str | None = None
    valid_to: str | None = None
    name_en: str | None = None
    nation: str | None = None
    nationality: str | None = None
    address: str | None = None
    issuer: str | None = None
    card_serial: str | None = None
    source: str | None = None
    photo_wlt_sha256: str | None = None
    capture_code: str | None = None       # the student's 图像采集码 (code mode): opaque text
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return is_verified(self.to_json())

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON: absent fields are left out, not null."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "<identity>") -> Identity:
        """Checked field by field, naming the field: required ones present, every text small
        and free of control characters (checked before any value is echoed in a message)."""
        required = ("card_type", "name", "gender", "birth_date", "id_number")
        name_en = data.get("name_en")
        if (data.get("card_type") == "foreign_permanent" and not str(data.get("name") or "").strip()
                and isinstance(name_en, str) and name_en.strip()):
            # a foreign card has the Chinese name "if any": without one the English name stands
            # in, as it does for a card read (idcard.record.decode_text)
            data = {**data, "name": name_en}
        for key in required:
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise InputError("identity.missing_field", Location(source, field=key), field=key)
        code = data.get("capture_code")
        if isinstance(code, str) and not code.strip():
            # a tool's way of writing "no code yet": none (code mode then asks for one)
            data = {k: v for k, v in data.items() if k != "capture_code"}
        elif code is not None and not isinstance(code, str):
            raise InputError("identity.bad_value", Location(source, field="capture_code"),
                             field="capture_code", value=ascii(code)[:40])
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        for key, value in values.items():
            if key != "warnings" and value is not None:
                check_text(value, field=key, limit=FIELD_LIMITS.get(key, 64), source=source)
        for key, allowed in (("card_type", CARD_TYPES), ("gender", GENDERS), ("source", SOURCES)):
            if values.get(key) is not None and values[key] not in allowed:
                raise InputError("identity.bad_value", Location(source, field=key),
                                 field=key, value=values[key])
        for key, value in list(values.items()):
            if key in FORMATS and value is not None:
                values[key] = _formatted(key, value, source)
        values["warnings"] = _warnings(values.get("warnings"), source)
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> Identity:
        """An identity given as a file: always ``typed`` (a file cannot prove a card was read)."""
        try:
            with Path(path).open("rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)
            if len(raw) > MAX_FILE_BYTES:
                raise InputError("identity.too_big", Location(str(path)), limit=MAX_FILE_BYTES)
            data = json.loads(raw.decode("utf-8"))
        except FileNotFoundError:
            raise InputError("common.file_missing", Location(str(path)), path=str(path)) from None
        except IsADirectoryError:
            raise InputError("common.file_missing", Location(str(path)), path=str(path)) from None
        except UnicodeDecodeError:
            raise InputError("identity.not_utf8", Location(str(path))) from None
        except json.JSONDecodeError as exc:
            raise InputError("identity.bad_json", Location(str(path), exc.lineno),
                             column=exc.colno) from None
        if not isinstance(data, dict):
            raise InputError("identity.not_object", Location(str(path)))
        identity = cls.from_json(data, str(path))
        identity.source = "typed"
        return identity


def _date(value: str) -> str | None:
    """A real calendar date written ``YYYY-MM-DD`` (as given), else None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return None
    return value


def _pattern(regex: str, normalise: Callable[[str], str] = str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        value = normalise(value.strip())
        return value if re.fullmatch(regex, value) else None
    return check


def _serial(value: str) -> str | None:
    """A card serial: hex (kept in lower case), never the all-zero placeholder some readers give."""
    value = value.strip().lower()
    if not value or any(c not in "0123456789abcdef" for c in value) or not value.strip("0"):
        return None
    return value


# Field → its contract format (cli.md): the value as stored (case normalised), or None when the
# text does not have that format. Checked on every identity given as a file, so a typed identity
# cannot store a date no card carries or an ID number no roster can match.
FORMATS: dict[str, Callable[[str], str | None]] = {
    "birth_date": _date,
    "valid_from": _date,
    "valid_to": lambda v: v if v == "长期" else _date(v),
    # 18 characters; a 2017 foreign permanent residence card: 3 letters and 12 digits
    "id_number": _pattern(r"\d{17}[\dX]|[A-Z]{3}\d{12}", str.upper),
    "nationality": _pattern(r"[A-Z]{3}", str.upper),
    "card_serial": _serial,
    "photo_wlt_sha256": _pattern(r"[0-9a-f]{64}", str.lower),
}


def _formatted(key: str, value: Any, source: str) -> str:
    from station.i18n import Words

    made = FORMATS[key](value) if isinstance(value, str) else None
    if made is None:
        raise InputError("identity.bad_format", Location(source, field=key), field=key,
                         value=ascii(value)[:40] if not isinstance(value, str) else value[:40],
                         format=Words((f"identity.format.{key}",)))
    return made


def is_verified(identity: dict[str, Any]) -> bool:
    """Whether a stored identity was read from a card by a station (cli.md: only ``card``).
    Records from before the ``source`` field count as read when their card type is a card's."""
    if "source" in identity:
        return bool(identity.get("source") == "card")
    return bool(identity.get("card_type", "manual") != "manual")


def _warnings(value: object, source: str) -> list[dict[str, Any]]:
    """Validation findings carried with a card read: a short list of small text records."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_WARNINGS:
        raise InputError("identity.bad_value", Location(source, field="warnings"),
                         field="warnings", value=f"list of at most {MAX_WARNINGS}")
    out = []
    for item in value:
        if not isinstance(item, dict):
            raise InputError("identity.bad_value", Location(source, field="warnings"),
                             field="warnings", value=type(item).__name__)
        for key, text in item.items():
            check_text(str(key), field="warnings", limit=64, source=source)
            check_text(text, field=f"warnings.{key}", limit=WARNING_TEXT_LIMIT, source=source)
        out.append(dict(item))
    return out
