"""Names that become paths or manifest cells must not escape the batch folder or break the CSV.

An ID number or student number names a photo file; a stray ``/``, ``..``, a control character or a
Windows-reserved character would write outside the batch or produce a file the pipeline cannot
open. Such a value is refused with the field and the reason, never silently "cleaned": a cleaned
name would no longer match the person.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from station.domain import studentno
from station.errors import InputError, Location

# What a file-name field may contain: the ID number (digits, X) or a student number — the form
# roster import, corrections and merges already hold student numbers to (station.domain.studentno),
# so whatever the store holds can be exported. Anything else is refused.
_SAFE_NAME_FIELD = studentno.FORM
_WINDOWS_RESERVED = studentno.WINDOWS_RESERVED


@lru_cache(maxsize=64)
def _form(pattern: str) -> re.Pattern[str]:
    """A profile's declared form, compiled once (a batch checks it for every photo)."""
    return re.compile(pattern)


@lru_cache(maxsize=64)
def _template_fields(template: str) -> tuple[str, ...]:
    return tuple(re.findall(r"{(\w+)}", template))


def _reason_for(value: str) -> str:
    if value == "":
        return "empty"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        return "control"
    if "/" in value or "\\" in value:
        return "separator"
    if ".." in value or value.startswith("."):
        return "dots"
    return "characters"


def check_name_field(field: str, value: object, where: str = "", pattern: str | None = None) -> str:
    """The value of a field that names a file, or InputError saying what is wrong with it.

    ``pattern`` replaces the default form (letters, digits, - and _) for fields whose form a
    profile declares (the 图像采集码); path characters and leading dots are refused either way.
    """
    text = "" if value is None else str(value)
    form_ok = bool((_form(pattern) if pattern else _SAFE_NAME_FIELD).fullmatch(text))
    if (not form_ok or text.upper() in _WINDOWS_RESERVED or "/" in text or "\\" in text
            or text.startswith(".") or not text.isprintable()):
        raise InputError(f"exports.unsafe_name.{_reason_for(text)}", Location(where or "batch", field=field),
                         field=field, value=ascii(text))
    return text


def check_text_field(field: str, value: object, where: str = "") -> str:
    """A manifest cell: any printable text, but no control characters (CSV injection, line breaks)."""
    text = "" if value is None else str(value)
    # isprintable() is False for every character of those categories: most text skips the scan.
    if not text.isprintable() and any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise InputError("exports.unsafe_name.control", Location(where or "batch", field=field),
                         field=field, value=ascii(text))
    if text[:1] in ("=", "+", "-", "@") and field not in ("replaces_batch",):
        # A spreadsheet would run it as a formula when a technician opens the CSV.
        raise InputError("exports.unsafe_name.formula", Location(where or "batch", field=field),
                         field=field, value=ascii(text))
    return text


def render_file_name(template: str, fields: dict[str, Any], where: str = "",
                     patterns: dict[str, str] | None = None) -> str:
    """``{id_number}.jpg`` → ``530102200001011234.jpg`` with every name field checked first."""
    safe = {}
    for key in _template_fields(template):
        safe[key] = check_name_field(key, fields.get(key), where, (patterns or {}).get(key))
    name = template.format(**safe)
    if "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        raise InputError("exports.unsafe_name.dots", Location(where or "batch", field="file_name"),
                         field="file_name", value=ascii(name))
    return name
