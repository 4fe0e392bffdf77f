"""The identity of a person as read from a card (or typed), in the CLI contract's JSON shape."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from station.errors import InputError, Location

CARD_TYPES = ("resident", "foreign_permanent", "hmt_residence", "manual")
SOURCES = ("card", "typed")     # read from a card by this station / given by a person or a file
GENDERS = ("male", "female", "unknown", "unspecified")
GENDER_CODES = {"0": "unknown", "1": "male", "2": "female", "9": "unspecified"}


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

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON: absent fields are left out, not null."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "<identity>") -> Identity:
        required = ("card_type", "name", "gender", "birth_date", "id_number")
        for key in required:
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise InputError("identity.missing_field", Location(source, field=key), field=key)
        if data["card_type"] not in CARD_TYPES:
            raise InputError("identity.bad_value", Location(source, field="card_type"),
                             field="card_type", value=data["card_type"])
        if data["gender"] not in GENDERS:
            raise InputError("identity.bad_value", Location(source, field="gender"),
                             field="gender", value=data["gender"])
        if data.get("source") is not None and data["source"] not in SOURCES:
            raise InputError("identity.bad_value", Location(source, field="source"),
                             field="source", value=data["source"])
        code = data.get("capture_code")
        if code is not None and (not isinstance(code, str) or not code.strip()):
            raise InputError("identity.bad_value", Location(source, field="capture_code"),
                             field="capture_code", value=ascii(code)[:40])
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["warnings"] = list(values.get("warnings") or [])
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> Identity:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("common.file_missing", Location(str(path)), path=str(path)) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            raise InputError("identity.bad_json", Location(str(path), line), error=str(exc)) from None
        if not isinstance(data, dict):
            raise InputError("identity.bad_json", Location(str(path)), error="not an object")
        return cls.from_json(data, str(path))
