"""Operators, their roles and what each role may do; PINs are stored only as Argon2id hashes.

``PERMISSIONS`` is the one table of action → roles. Services call ``require(op, action)`` before
acting; an action missing from the table is allowed to supervisors only (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from station.errors import InputError, Location, RefusedError
from station.i18n import Words

if TYPE_CHECKING:
    import sqlite3

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
    # technicians: batches, reports, prints, fixing records
    "check.override": _TECH,
    "export": _TECH,
    "report": _TECH,
    "print": _TECH,
    "correct": _TECH,
    "bundle": _TECH,
    "hub.push": _TECH,
    "trust.list": _TECH,
    "conflicts.view": _TECH,
    # supervisors: the campaign's data and people
    "roster.import": _SUP,
    "schedule.import": _SUP,
    "operator.add": _SUP,
    "merge": _SUP,
    "hub.init": _SUP,
    "hub.pull": _SUP,
    "trust.add": _SUP,
    "conflicts.decide": _SUP,
    "delete": _SUP,
}

MIN_PIN_LENGTH = 4


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


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


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

    def list(self) -> list[Operator]:
        rows = self.store.conn.execute(
            "SELECT * FROM operators_current WHERE active = 1 ORDER BY name").fetchall()
        return [Operator(r["name"], r["role"], r["id"]) for r in rows]

    def add(self, name: str, role: str, pin: str, by: Operator | None = None) -> Operator:
        """Create an operator (or set a new role/PIN: a new fact). ``by`` must be a supervisor,
        except for the very first operator, who must be a supervisor (``station init``)."""
        name = name.strip()
        if not name or len(name) > 64:
            raise InputError("auth.bad_name", Location("--name"), name=name)
        if role not in ROLES:
            raise InputError("auth.bad_role", Location("--role"), role=role, roles=", ".join(ROLES))
        if len(pin) < MIN_PIN_LENGTH:
            raise InputError("auth.pin_too_short", Location("PIN"), length=MIN_PIN_LENGTH)
        store = self.store
        if by is not None:
            self.require(by, "operator.add")
        with store.transaction():
            if by is None:
                if self.list():
                    raise RefusedError("auth.operator_required", action=action_words("operator.add"))
                if role != "supervisor":
                    raise RefusedError("auth.first_is_supervisor")
            new_id = store.insert("operators", {"name": name, "role": role,
                                                "pin_hash": _hasher().hash(pin), "active": 1,
                                                "created_by": by.name if by else None})
            store.audit.append(by.name if by else name, "operator.add", name, {"role": role})
        return Operator(name, role, new_id)

    def authenticate(self, name: str, pin: str) -> Operator:
        """The operator if the PIN is right; a refusal (and an audit record) otherwise."""
        from argon2.exceptions import InvalidHashError, VerificationError

        if not self.store.initialized:
            raise RefusedError("store.not_initialized")
        row = self._row(name)
        ok = False
        if row is not None and row["active"]:
            try:
                ok = _hasher().verify(row["pin_hash"], pin)
            except (VerificationError, InvalidHashError):
                ok = False
        if not ok or row is None:
            self.store.audit.append(name, "auth.failed", name, {})
            raise RefusedError("auth.bad_pin", name=name)
        return Operator(row["name"], row["role"], row["id"])

    def require(self, op: Operator, action: str) -> None:
        """Raise RefusedError unless ``op``'s role may do ``action``."""
        if not op.can(action):
            self.store.audit.append(op.name, "auth.refused", action, {"role": op.role})
            raise RefusedError("auth.not_allowed", name=op.name, role=role_words(op.role),
                               action=action_words(action))
