"""Numbers given on the command line, held to what they mean before any device or file is used.

``float`` alone lets ``nan``, ``inf`` and negatives through, and they surfaced later as a device
"not found" or an OverflowError. A bad value is bad usage (exit 2) naming its option.
"""

from __future__ import annotations

import math

from station.errors import UsageError

MAX_SECONDS = 24 * 3600.0  # no wait of a station's command is longer than a day


def seconds(option: str, value: float | None, *, zero_allowed: bool = False) -> float | None:
    """``value`` (None when the option was not given) if it is a finite number of seconds above
    zero (or zero, when ``zero_allowed``: "do not wait") and at most a day."""
    if value is None:
        return None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed) \
            or value > MAX_SECONDS:
        key = "common.bad_seconds_or_zero" if zero_allowed else "common.bad_seconds"
        raise UsageError(key, option=option, value=value, limit=int(MAX_SECONDS))
    return value


def id_number(value: str, option: str = "ID_NUMBER") -> str:
    """An ID number given on the command line, normalised; one that cannot be an ID number at all
    (length, characters) is bad input naming the argument, not "nobody with this number"."""
    from station.domain import idnumber
    from station.errors import InputError, Location

    number = idnumber.normalise(value)
    for finding in idnumber.validate(number):
        if finding.code in idnumber.MALFORMED:
            raise InputError(f"id_number.{finding.code}", Location(option), **finding.params)
    return number
