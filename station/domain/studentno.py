"""Student numbers (学号): the one form every road into the store holds them to.

A student number names files — a profile's ``{student_no}.jpg`` in an export batch, the labels of
print sheets — so it must never carry a path or an option: ``/``, ``\\``, ``..``, a leading ``.``
or ``-``, NUL or another control character, or a Windows device name (``CON``, ``NUL``). Schools'
numbers are letters and digits (``22015010001``, ``S2020001``), sometimes with ``-`` or ``_``
between parts; that form is the rule. A value outside it is refused where it comes in (roster
import, ``station correct``, bundles and the hub), never "cleaned": a cleaned number would no
longer match the school's own records. The export's file-name check uses the same form, so what
is stored can always be exported.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

MAX_LENGTH = 32
# Letters and digits, then also - and _; ASCII only (the export CSV and file names need no more).
FORM = re.compile(rf"[0-9A-Za-z][0-9A-Za-z_-]{{0,{MAX_LENGTH - 1}}}")
WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                              *(f"LPT{i}" for i in range(1, 10))})


def normalise(text: str) -> str:
    """Full-width digits and letters (a spreadsheet typed in a Chinese input method) become ASCII;
    surrounding spaces go. Nothing else is changed: the result is checked, not repaired."""
    return unicodedata.normalize("NFKC", text).strip()


def problem(value: str) -> tuple[str, dict[str, Any]] | None:
    """(catalog key, params) if ``value`` (already normalised) is not a usable student number."""
    if value.upper() in WINDOWS_RESERVED:
        return "student_no.reserved", {"value": value}
    if FORM.fullmatch(value) is None:
        shown = value[:40] if value.isprintable() else ascii(value[:40])[1:-1]
        return "student_no.bad_form", {"value": shown, "limit": MAX_LENGTH}
    return None


def messages(value: str) -> tuple[str, str] | None:
    """The refusal of ``value`` in (zh, en), or None when it is a usable student number."""
    found = problem(value)
    if found is None:
        return None
    from station.i18n import both

    return both(found[0], **found[1])
