"""Reaching the hub: one psycopg connection from a DSN, and every failure in words.

The DSN is libpq's (``postgresql://user@host:5432/db?sslmode=verify-full&sslrootcert=…`` or
``host=… dbname=… user=…``), passed to libpq as given: TLS settings (``sslmode``, ``sslrootcert``,
``sslcert``/``sslkey`` for a client certificate), ``passfile`` and the ``PG*`` environment
variables all work as for ``psql``. Messages show the DSN without its password.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg import conninfo

from station import reasons
from station.errors import DeviceError, InputError, Location, RefusedError
from station.hub import dsn as dsn_form
from station.hub import queries, schema
from station.sync.errors import RefusedWhole

CONNECT_TIMEOUT_S = 20
APPLICATION = "capture-station"


class HubRefused(RefusedWhole, RefusedError):
    """The hub (its database functions) refused a push or an image; nothing was stored there."""

    whole = "hub.refused_whole"

    def __init__(self, reason: str, where: str, **params: object) -> None:
        self.reason = reason
        self.where = where
        super().__init__(f"hub.refused.{reason}", **params)

    def place(self) -> str:
        return self.where


def check_command_line_dsn(dsn: str) -> str:
    """A DSN given on the command line must not hold a password: every user of the machine can
    read a process's arguments (``ps``), and shells keep them in their history. Passwords go in
    ``~/.pgpass``/``PGPASSFILE`` (or ``PGPASSWORD``), or a client certificate replaces them."""
    parts = dsn_form.parse(dsn)         # a malformed DSN first: its password may be no password
    if parts.get("password"):
        raise InputError("hub.password_in_argv", Location("--hub"), hub=shown(dsn))
    return dsn


def shown(dsn: str) -> str:
    """``user@host:port/dbname`` of a DSN, never its password (for messages and logs)."""
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(DSN)"
    host = str(parts.get("host") or "localhost")
    port = str(parts.get("port") or "5432")
    user = str(parts.get("user") or "")
    db = str(parts.get("dbname") or user)
    return f"{user + '@' if user else ''}{host}:{port}/{db}"


def connect(dsn: str) -> psycopg.Connection[Any]:
    """An autocommit connection (callers open transactions explicitly)."""
    parts = dsn_form.parse(dsn)
    parts.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    parts.setdefault("application_name", APPLICATION)
    try:
        return psycopg.connect(conninfo.make_conninfo("", **parts), autocommit=True)
    except psycopg.OperationalError as exc:
        if reasons.pg_kind(exc) == "bad_dsn":        # a value libpq refuses, not checked above
            raise dsn_form.bad_dsn(_first_line(exc), dsn=dsn) from None
        detail, kind = reasons.of_pg(exc), reasons.pg_kind(exc)
        if kind in ("wrong_password", "no_password", "not_allowed", "no_role"):
            raise RefusedError("hub.login_refused", hub=shown(dsn), detail=detail) from None
        if kind in ("certificate", "tls"):
            raise RefusedError("hub.tls_failed", hub=shown(dsn), detail=detail) from None
        if kind == "no_database":
            raise InputError("hub.no_database", Location("--hub"), hub=shown(dsn), detail=detail) from None
        raise DeviceError("hub.unreachable", hub=shown(dsn), detail=detail) from None


def require_schema(conn: psycopg.Connection[Any], dsn: str) -> int:
    """The hub's schema version, which this software must know; words otherwise."""
    version = queries.schema_version(conn)
    if version == 0:
        raise RefusedError("hub.not_initialised", hub=shown(dsn))
    if version > schema.LATEST:
        raise RefusedError("hub.too_new", hub=shown(dsn), version=version, supported=schema.LATEST)
    if version < schema.LATEST:
        raise RefusedError("hub.too_old", hub=shown(dsn), version=version, supported=schema.LATEST)
    return version


def refusal(exc: psycopg.Error, where: str) -> HubRefused | None:
    """The hub's own refusal inside a database error (SQLSTATE ``schema.REFUSED``), in words."""
    if exc.sqlstate != schema.REFUSED:
        return None
    reason = exc.diag.message_primary or "unknown"
    try:
        params = json.loads(exc.diag.message_detail or "{}")
    except ValueError:
        params = {}
    if not isinstance(params, dict):
        params = {}
    return HubRefused(reason, where, **{k: _short(v) for k, v in params.items()})


def lost(exc: psycopg.Error, dsn: str) -> DeviceError:
    """A connection that failed mid-way: nothing half-done stays (transactions), say so."""
    return DeviceError("hub.connection_lost", hub=shown(dsn), detail=reasons.of_pg(exc))


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text[:200]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
