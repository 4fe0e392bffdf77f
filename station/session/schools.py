"""The walk-in school table: school codes (学校代码) and names from configuration.

The table lives in ``station/defaults/schools.toml`` (section ``[schools]``), so a branch office can
add schools in ``<data-dir>/station.toml`` without a code change.
"""

from __future__ import annotations

import re

from station.errors import InputError, Location
from station.session.model import WalkIn

_CODE = re.compile(r"^\d{5}$")


def school_table(config) -> dict[str, str]:
    """Code → name, as configured (codes kept as strings: 10673)."""
    table = config.section("schools")
    return {str(code): str(name) for code, name in table.items() if not isinstance(name, dict)}


def walk_in_for(config, code: str) -> WalkIn:
    """The walk-in desk settings for ``code``; a clear error for a code not in the table."""
    code = code.strip()
    table = school_table(config)
    if not _CODE.match(code) or code not in table:
        raise InputError("session.unknown_school", Location("schools", field=code), code=code)
    return WalkIn(school_code=code, school_name=table[code])
