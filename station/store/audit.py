"""Append-only, hash-chained audit log: who did what, and proof that nobody edited it since.

Each row's hash covers its content and the previous row's hash (per station, in sequence order);
the newest hash of this station is also kept in ``meta`` so that dropping the last rows shows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.store.core import Store

GENESIS = "0" * 64
_FIELDS = ("id", "station_id", "seq", "hlc", "operator", "action", "subject", "details")


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    body = json.dumps([row[f] for f in _FIELDS], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    """One finding of ``verify()``: the row (or station) and what is wrong."""

    code: str
    station_id: str
    seq: int | None
    audit_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "station_id": self.station_id, "seq": self.seq, "id": self.audit_id}


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def append(self, op_name: str | None, action: str, subject: str | None = None,
               details: dict[str, Any] | None = None) -> str:
        """Record an action; joins the caller's transaction so the record and the change agree."""
        store = self.store
        with store.transaction():
            store.seals.prepare()
            stamp = store.stamps(1)[0]
            prev = store.meta("audit_head") or self._last_hash(stamp.station_id)
            row = {**stamp.columns(), "operator": op_name, "action": action, "subject": subject,
                   "details": canonical(details or {})}
            digest = row_hash(prev, row)
            store.conn.execute(
                "INSERT INTO audit (id, station_id, seq, hlc, operator, action, subject, details, "
                "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (*(row[f] for f in _FIELDS), prev, digest))
            store.seals.seal("audit", [stamp.id])
            store.conn.execute(
                "INSERT INTO meta(key, value) VALUES ('audit_head', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (digest,))
        return stamp.id

    def _last_hash(self, station_id: str) -> str:
        row = self.store.conn.execute(
            "SELECT hash FROM audit WHERE station_id = ? ORDER BY seq DESC LIMIT 1",
            (station_id,)).fetchone()
        return row[0] if row else GENESIS

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM audit ORDER BY hlc DESC"
        rows = self.store.conn.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]

    def verify(self) -> list[Problem]:
        """Every broken link, altered row or missing tail; an empty list means the chain holds."""
        problems: list[Problem] = []
        conn = self.store.conn
        stations = [r[0] for r in conn.execute("SELECT DISTINCT station_id FROM audit")]
        for station in stations:
            prev = GENESIS
            last_hash = GENESIS
            for r in conn.execute("SELECT * FROM audit WHERE station_id = ? ORDER BY seq", (station,)):
                row = dict(r)
                if row["prev_hash"] != prev:
                    problems.append(Problem("audit.broken_link", station, row["seq"], row["id"]))
                if row_hash(row["prev_hash"], row) != row["hash"]:
                    problems.append(Problem("audit.altered", station, row["seq"], row["id"]))
                prev = row["hash"]
                last_hash = row["hash"]
            if station == self.store.station_id:
                head = self.store.meta("audit_head")
                if head is not None and head != last_hash:
                    problems.append(Problem("audit.missing_tail", station, None, None))
        own = self.store.station_id
        if own and own not in stations and self.store.meta("audit_head"):
            problems.append(Problem("audit.missing_tail", own, None, None))
        return problems
