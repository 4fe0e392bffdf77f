"""Walk-in (Friday make-up) schools: school codes (学校代码) and the desk settings for one.

The table itself is configuration (``[schools]`` in the settings: code = name), so a branch
office can add schools in ``<data-dir>/station.toml`` without a code change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from station.errors import InputError, Location

_CODE = re.compile(r"[0-9]{5}")   # ASCII digits: \d would take １０６７３ or ١٠٦٧٣


@dataclass
class WalkIn:
    """Walk-in (Friday make-up) desk: no roster and no slot; a school code from configuration."""

    school_code: str
    school_name: str


def check_school_code(value: str, where: str) -> str:
    """A school code as typed (``--school-code``): five digits, else the input error naming
    ``where``; a batch under a malformed code would never reach its school."""
    value = value.strip()
    if not _CODE.fullmatch(value):
        raise InputError("store.bad_school_code", Location(where), value=value)
    return value


def walk_in_for(schools: Mapping[str, str], code: str, where: str = "schools") -> WalkIn:
    """The walk-in desk for ``code`` (schools: code → name, as configured); a clear error for
    a code not in the table, naming ``where`` it came from (the option, e.g. ``--walk-in``)."""
    code = code.strip()
    table = schools
    # an option (--walk-in) is named once; the message names the code
    at = Location(where) if where.startswith("-") else Location(where, field=code)
    if not _CODE.fullmatch(code):
        # not a school code at all (full-width １０６７４ from an input method): never "add it to
        # [schools]", a key no command could match
        raise InputError("store.bad_school_code", at, value=code)
    if code not in table:
        raise InputError("session.unknown_school", at, code=code)
    return WalkIn(school_code=code, school_name=table[code])
