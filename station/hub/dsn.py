"""A hub DSN checked for its form before anything runs (no PIN asked, nothing opened).

libpq's parser reads the string; a value libpq refuses only when connecting is checked here too:
psycopg resolves the host names first, so a port that is no number came out as a DNS failure
(exit 3, "the hub is out of reach") instead of bad input. Both are said in words, the option
named, with what a valid DSN looks like.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import conninfo

from station import reasons
from station.errors import InputError, Location

SSLMODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})


def bad_dsn(detail: str, option: str = "--hub", dsn: str = "") -> InputError:
    """The error for a DSN libpq cannot use; ``detail``: libpq's words (or ours, said alike),
    which may quote the whole ``dsn``: it is left out (it may hold a password)."""
    if dsn:
        detail = detail.replace(dsn, "…")
    return InputError("hub.bad_dsn", Location(option), detail=reasons.of_dsn(detail))


def parse(dsn: str, option: str = "--hub") -> dict[str, Any]:
    """The DSN's settings, as libpq reads them; InputError (exit 2) when it cannot be used."""
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise bad_dsn(str(exc), option, dsn) from None
    problem = _refused_value(parts)
    if problem is not None:
        raise bad_dsn(problem, option)
    return parts


def _refused_value(parts: dict[str, Any]) -> str | None:
    """What libpq would say on connecting about a port or an sslmode, else None."""
    ports = [p.strip() for p in str(parts.get("port") or "").split(",")]
    for port in ports:
        if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            return f'invalid port number: "{port}"'
    hosts = str(parts.get("host") or parts.get("hostaddr") or "").split(",")
    if len(ports) > 1 and len(ports) != len(hosts):
        return f"could not match {len(ports)} port numbers to {len(hosts)} hosts"
    mode = parts.get("sslmode")
    if mode is not None and mode not in SSLMODES:
        return f'invalid sslmode value: "{mode}"'
    return None
