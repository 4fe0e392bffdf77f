"""Typed entry: the last resort when no card can be read. Flagged, and needs a supervisor.

The number must carry a valid GB 11643 check digit; birth date and gender come from the number.
The read is marked ``needs_approval`` and carries a ``manual_entry`` warning; the session layer
enforces the supervisor's approval and audits it.
"""

from __future__ import annotations

import queue

from station.domain import idnumber
from station.domain.identity import Identity
from station.errors import InputError, Location
from station.i18n import t
from station.idcard.errors import ReaderTimeoutError
from station.idcard.readers.base import Capabilities, CardRead, CardReader
from station.idcard.validate import validate_identity, warning


def manual_identity(id_number: str, name: str) -> Identity:
    """An identity from a typed number and name; raises InputError if the number is not valid."""
    number = idnumber.normalise(id_number or "")
    if not number:
        raise InputError("idcard.manual_needs_number", Location("<typed>", field="id_number"))
    findings = idnumber.validate(number)
    if findings:
        reason = "; ".join(t(f"id_number.{f.code}", **f.params) for f in findings)
        raise InputError("idcard.manual_invalid", Location("<typed>", field="id_number"),
                         reason=reason)
    if not (name or "").strip():
        raise InputError("identity.missing_field", Location("<typed>", field="name"), field="name")
    born = idnumber.birth_date(number)
    assert born is not None         # a number that passed validation carries a real date
    identity = Identity(card_type="manual", name=name.strip(), id_number=number,
                        gender=idnumber.gender(number), birth_date=born.isoformat(),
                        source="typed")
    identity.warnings = [warning("manual_entry")] + validate_identity(identity)
    return identity


class ManualReader(CardReader):
    """``enter(id_number, name)`` queues a typed identity; ``read`` returns it, flagged."""

    capabilities = Capabilities(reads_photo=False, reads_serial=False, card_events=False,
                                typed=True)

    def __init__(self) -> None:
        self.name = "manual"
        self._entries: queue.Queue = queue.Queue()

    def enter(self, id_number: str, name: str) -> Identity:
        identity = manual_identity(id_number, name)
        self._entries.put(identity)
        return identity

    def read(self, timeout: float) -> CardRead:
        try:
            identity = self._entries.get(timeout=max(timeout, 0))
        except queue.Empty:
            raise ReaderTimeoutError("idcard.timeout", seconds=round(timeout, 1)) from None
        return CardRead(identity=identity, reader=self.name, needs_approval=True)
