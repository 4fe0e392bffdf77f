"""Operators, their roles and what each role may do; PINs are stored only as Argon2id hashes.

``PERMISSIONS`` is the one table of action → roles. Services call ``require(op, action)`` before
acting; an action missing from the table is allowed to supervisors only (fail closed). Every
change to an operator is a new fact (the latest per name counts) and an audit entry. Wrong PINs
are counted per name across processes (station.store.lockout).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from station.errors import InputError, Location, RefusedError
from station.i18n import Words
from station.store import lockout
from station.store.clock import now_ms

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from station.store.core import Store

ROLES = ("photographer", "technician", "supervisor")
_ALL = frozenset(ROLES)
_TECH = frozenset({"technician", "supervisor"})
_SUP = frozenset({"supervisor"})

PERMISSIONS: dict[str, frozenset[str]] = {
    # the capture desk
    "session.run": _ALL,
    "card.read": _ALL,
    "capture": _ALL,
    "ingest": _ALL,
    "payment.record": _ALL,
    "accept": _ALL,
    "retake": _ALL,
    "roster.view": _ALL,
    # technicians: batches, reports, prints, fixing records, the camera's calibration
    "check.override": _TECH,
    "export": _TECH,
    "report": _TECH,
    "print": _TECH,
    "correct": _TECH,
    "history.view": _TECH,        # a person's whole trail (`station history`)
    "bundle": _TECH,
    "hub.push": _TECH,
    "trust.list": _TECH,
    "conflicts.view": _TECH,
    "calibrate": _TECH,
    "camera.preset": _TECH,       # the camera settings re-applied on every connect
    "export.confirm": _TECH,      # the pipeline received a batch (lets a purge go ahead)
    "operator.list": _TECH,
    # supervisors: the campaign's data and people, and every exception to the rules
    "correct.id_number": _SUP,    # a person's facts move to another ID number (re-keying)
    "accept.override": _SUP,      # accept a photo that fails its checks (desk, review, ingest)
    "identity.vouch": _SUP,       # an identity given as a file counts as read from a card
    "roster.import": _SUP,
    "schedule.import": _SUP,
    "operator.add": _SUP,
    "operator.set_pin": _SUP,     # anyone may change their own PIN
    "operator.set_role": _SUP,
    "operator.disable": _SUP,
    "operator.unlock": _SUP,
    "merge": _SUP,
    "hub.init": _SUP,
    "hub.pull": _SUP,
    "trust.add": _SUP,
    "campaign.new": _SUP,
    "conflicts.decide": _SUP,
    "delete": _SUP,
    "purge": _SUP,
}

# Actions that only read: their commands also run on a read-only store.
READ_ACTIONS = frozenset({"report", "print", "roster.view", "operator.list", "trust.list",
                          "conflicts.view", "history.view"})

MIN_PIN_LENGTH = 4
GOOD_PIN_LENGTH = 6
MAX_PIN_LENGTH = 64
MAX_NAME_LENGTH = 64


def action_words(action: str) -> Words:
    """An action of PERMISSIONS in words of the message's language (catalog ``auth.action.*``)."""
    return Words((f"auth.action.{action}",))


def role_words(role: str) -> Words:
    return Words((f"auth.role.{role}",))


@dataclass(frozen=True)
class Operator:
    name: str
    role: str
    id: str

    def can(self, action: str) -> bool:
        return self.role in PERMISSIONS.get(action, _SUP)


def can(role: str | None, action: str) -> bool:
    return role in PERMISSIONS.get(action, _SUP)


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """A hash no PIN matches: unknown names cost the same time as known ones."""
    if not _DUMMY_HASH:
        import secrets

        _DUMMY_HASH.append(_hasher().hash(secrets.token_hex(16)))
    return _DUMMY_HASH[0]


def check_pin(pin: str) -> str:
    """A PIN the station accepts: 4–64 characters without spaces or control characters.
    Returns it; callers advise 6 or more (``weak_pin``)."""
    from station.privacy import unsafe_character

    if len(pin) < MIN_PIN_LENGTH:
        raise InputError("auth.pin_too_short", Location("PIN"), length=MIN_PIN_LENGTH)
    if len(pin) > MAX_PIN_LENGTH:
        raise InputError("auth.pin_too_long", Location("PIN"), length=MAX_PIN_LENGTH)
    if unsafe_character(pin) or any(c.isspace() for c in pin):
        raise InputError("auth.pin_bad_character", Location("PIN"))
    return pin


def weak_pin(pin: str) -> bool:
    """Shorter than 6, or one digit repeated / a plain run (123456): allowed, but advised against."""
    runs = ("0123456789" * 2, "9876543210" * 2)
    return (len(pin) < GOOD_PIN_LENGTH or len(set(pin)) == 1
            or any(pin in r for r in runs))


def check_name(name: str) -> str:
    from station.privacy import check_text

    name = check_text(name, field="NAME", limit=MAX_NAME_LENGTH, source="operator").strip()
    if not name:
        raise InputError("auth.bad_name", Location("operator", field="NAME"), name=name)
    return name


class Operators:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _row(self, name: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.store.conn.execute(
            "SELECT * FROM operators WHERE name = ? ORDER BY hlc DESC LIMIT 1", (name,)).fetchone()
        return row

    def get(self, name: str) -> Operator | None:
        row = self._row(name)
        if row is None or not row["active"]:
            return None
        return Operator(row["name"], row["role"], row["id"])

    def list(self, include_disabled: bool = False) -> list[Operator]:
        sql = "SELECT * FROM operators_current" + ("" if include_disabled else " WHERE active = 1")
        rows = self.store.conn.execute(sql + " ORDER BY name").fetchall()
        return [Operator(r["name"], r["role"], r["id"]) for r in rows]

    def status(self) -> Sequence[dict[str, Any]]:
        """Every operator with role, whether enabled, and any lock-out (for ``operator list``)."""
        now = now_ms()
        out = []
        for r in self.store.conn.execute("SELECT * FROM operators_current ORDER BY name"):
            attempts = lockout.read(self.store.conn, r["name"])
            out.append({"name": r["name"], "role": r["role"], "active": bool(r["active"]),
                        "failures": attempts.failures,
                        "locked_seconds": -(-attempts.wait_ms(now) // 1000)})
        return out

    # -- changes (each a new fact + an audit entry) ----------------------------------------------
    def add(self, name: str, role: str, pin: str, by: Operator | None = None) -> Operator:
        """Create an operator. ``by`` must be a supervisor, except for the very first operator,
        who must be a supervisor (``station init``). An existing name is refused: changing a
        PIN or a role has its own command, so nobody resets someone else's PIN by accident."""
        name = check_name(name)
        _check_role(role)
        check_pin(pin)
        store = self.store
        if by is not None:
            self.require(by, "operator.add")
        with store.transaction():
            if by is None:
                if self.list(include_disabled=True):
                    raise RefusedError("auth.operator_required", action=action_words("operator.add"))
                if role != "supervisor":
                    raise RefusedError("auth.first_is_supervisor")
            if self._row(name) is not None:
                raise RefusedError("auth.exists", name=name)
            new_id = store.insert("operators", {"name": name, "role": role,
                                                "pin_hash": _hasher().hash(pin), "active": 1,
                                                "created_by": by.name if by else None})
            store.audit.append(by.name if by else name, "operator.add", name, {"role": role})
        return Operator(name, role, new_id)

    def set_pin(self, name: str, pin: str, by: Operator) -> None:
        """A new PIN (clears any lock-out): a supervisor for anyone, anyone for themselves."""
        check_pin(pin)
        if by.name != name:
            self.require(by, "operator.set_pin")
        with self.store.transaction():
            row = self._existing(name)
            self._new_version(row, by, pin_hash=_hasher().hash(pin))
            lockout.clear(self.store.conn, name)
            self.store.audit.append(by.name, "operator.set_pin", name, {})

    def set_role(self, name: str, role: str, by: Operator) -> None:
        _check_role(role)
        self.require(by, "operator.set_role")
        with self.store.transaction():
            row = self._existing(name)
            if row["role"] == role:
                return
            if row["role"] == "supervisor" and row["active"]:
                self._keep_a_supervisor(name)
            self._new_version(row, by, role=role)
            self.store.audit.append(by.name, "operator.set_role", name,
                                    {"from": row["role"], "to": role})

    def set_active(self, name: str, active: bool, by: Operator) -> None:
        """Disable (or enable again) an operator; the last enabled supervisor stays."""
        self.require(by, "operator.disable")
        with self.store.transaction():
            row = self._existing(name)
            if bool(row["active"]) == active:
                return
            if not active and row["role"] == "supervisor":
                self._keep_a_supervisor(name)
            self._new_version(row, by, active=int(active))
            self.store.audit.append(by.name, "operator.enable" if active else "operator.disable",
                                    name, {})

    def unlock(self, name: str, by: Operator) -> None:
        self.require(by, "operator.unlock")
        with self.store.transaction():
            self._existing(name)
            lockout.clear(self.store.conn, name)
            self.store.audit.append(by.name, "operator.unlock", name, {})

    def _existing(self, name: str) -> sqlite3.Row:
        row = self._row(name)
        if row is None:
            raise RefusedError("auth.no_such_operator", name=name)
        return row

    def _keep_a_supervisor(self, name: str) -> None:
        others = [o for o in self.list() if o.role == "supervisor" and o.name != name]
        if not others:
            raise RefusedError("auth.last_supervisor", name=name)

    def _new_version(self, row: sqlite3.Row, by: Operator, **changes: Any) -> str:
        values = {"name": row["name"], "role": row["role"], "pin_hash": row["pin_hash"],
                  "active": row["active"], "created_by": by.name}
        values.update(changes)
        return self.store.insert("operators", values)

    # -- who is acting -------------------------------------------------------------------------
    def authenticate(self, name: str, pin: str, *, at_ms: int | None = None) -> Operator:
        """The operator if the PIN is right and the name is not locked out; a refusal otherwise.

        Check, verification and counting are one write transaction, so parallel processes
        cannot share out more guesses than the lock-out allows. On a read-only store the
        lock-out is honoured but a wrong PIN cannot be counted.
        """
        store = self.store
        if not store.initialized:
            raise RefusedError("store.not_initialized")
        now = now_ms() if at_ms is None else at_ms
        if store.read_only:
            return self._verify_or_refuse(name, pin, lockout.read(store.conn, name), now, None)
        with store.transaction():
            attempts = lockout.read(store.conn, name)
            if attempts.wait_ms(now):
                outcome: Operator | Exception = _locked(name, attempts, now)
            else:
                try:
                    outcome = self._verify_or_refuse(name, pin, attempts, now, store)
                except RefusedError as exc:
                    outcome = exc
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _verify_or_refuse(self, name: str, pin: str, attempts: lockout.Attempts, now: int,
                          counting: Store | None) -> Operator:
        from argon2.exceptions import InvalidHashError, VerificationError

        if attempts.wait_ms(now):
            raise _locked(name, attempts, now)
        row = self._row(name)
        usable = row is not None and bool(row["active"])
        try:
            ok = bool(_hasher().verify(row["pin_hash"] if usable and row else _dummy_hash(), pin))
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and usable and row is not None:
            if attempts.failures and counting is not None:
                lockout.clear(counting.conn, name)
            return Operator(row["name"], row["role"], row["id"])
        if counting is None:
            raise RefusedError("auth.bad_pin", name=name)
        after = lockout.fail(counting.conn, name, now)
        counting.audit.append(name, "auth.failed", name, {"failures": after.failures})
        if after.wait_ms(now):
            counting.audit.append(name, "auth.locked", name,
                                  {"seconds": after.wait_ms(now) // 1000,
                                   "lockouts": after.lockouts})
            raise _locked(name, after, now)
        raise RefusedError("auth.bad_pin_left", name=name, left=after.left_before_lock)

    def require(self, op: Operator | None, action: str) -> Operator:
        """``op`` if its role may do ``action``; a refusal (audited) otherwise."""
        if op is None:
            raise RefusedError("auth.operator_required", action=action_words(action))
        if not op.can(action):
            self.store.audit.append(op.name, "auth.refused", action, {"role": op.role})
            raise RefusedError("auth.not_allowed", name=op.name, role=role_words(op.role),
                               action=action_words(action))
        return op

    def require_name(self, name: str | None, action: str) -> Operator:
        """Like ``require``, for an operator named in a record (e.g. ``override_by``): the name
        must be an enabled operator whose *current* role may do ``action``."""
        op = self.get(name) if name else None
        if op is None:
            raise RefusedError("auth.operator_required", action=action_words(action))
        return self.require(op, action)


def _locked(name: str, attempts: lockout.Attempts, now: int) -> RefusedError:
    seconds = -(-attempts.wait_ms(now) // 1000)
    return RefusedError("auth.locked", name=name, seconds=seconds, minutes=-(-seconds // 60))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError("auth.bad_role", Location("--role"), role=role, roles=", ".join(ROLES))
