"""Keyed seals over every fact row: integrity that an editor of the database cannot recompute.

A hash chain kept inside the database proves nothing against whoever edits the database: they
recompute it. Every fact row this station holds is therefore sealed with HMAC-SHA256 under a
secret that is *not* in the database: ``keys/seal.key`` (32 random bytes, mode 0600, in the 0700
keys folder beside the station's Ed25519 signing key).

The seals form one chain, in the order this station took the rows in — its own inserts, and rows
merged from another station's bundle once the bundle's signature was checked (the sender's key
vouches for the bytes, our seal for what we accepted). Entry ``n`` covers ``n``, the previous
entry's MAC, the table, the row id, the number of columns sealed and the row's values; the head
(last ``n`` and MAC, and the station id) is MAC'd in ``meta``. Therefore:

- an edited row fails its MAC; a deleted row leaves a seal without its row;
- a row slipped in behind the station's back has no seal;
- deleted or reordered seals break the chain or the head;
- and none of this can be repaired without the key.

Only the key holder may re-seal: a purge that masks personal data re-seals the rows it changed
(after checking the whole chain first), and so may a migration that rebuilds a table. Columns
added later by ``ALTER TABLE ... ADD COLUMN`` are not covered by older seals (``ncols``).

A store made before seals existed is adopted once, when its key is created: the rows it holds
then are sealed as they are, and the adoption is audited. A missing key with seals present is
never "adopted" again — that is reported.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.errors import IntegrityError

if TYPE_CHECKING:
    from station.store.core import Store

KEY_DIR = "keys"
KEY_NAME = "seal.key"
KEY_BYTES = 32
FORMAT = "seal/1"
MERGE_COLUMNS = frozenset({"id", "station_id", "seq", "hlc"})
_CHUNK = 500


def sealed_tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Every table carrying the merge columns (a fact table): all of them are sealed."""
    names = [r[0] for r in conn.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' ORDER BY name")]
    return [n for n in names
            if {r[1] for r in conn.execute(f'PRAGMA {schema}.table_info("{n}")')} >= MERGE_COLUMNS]


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_DIR / KEY_NAME


def _bytes_as_json(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"hex": bytes(value).hex()}
    raise TypeError(f"cannot seal a {type(value).__name__}")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_bytes_as_json)
_KEYED: dict[bytes, Any] = {}


def mac(key: bytes, n: int, prev: str, table: str, row_id: str, values: Sequence[object]) -> str:
    """The MAC of seal ``n``: the values exactly as SQLite stores them (int, float, text, blob)."""
    body = _ENCODER.encode([FORMAT, n, prev, table, row_id, len(values), list(values)])
    base = _KEYED.get(key)
    if base is None:                  # the key schedule once, then a copy per row
        base = _KEYED[key] = hmac.new(key, digestmod=hashlib.sha256)
    h = base.copy()
    h.update(body.encode("utf-8"))
    return h.hexdigest()


def head_mac(key: bytes, n: int, last: str, station_id: str) -> str:
    body = json.dumps([FORMAT, "head", n, last, station_id], separators=(",", ":"))
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def key_fingerprint(key: bytes) -> str:
    """Tells a wrong key from altered rows, without revealing the key."""
    return hmac.new(key, b"seal-key-fingerprint", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class SealProblem:
    """One finding of :meth:`Seals.verify`: what is wrong and where (table, row id or entry)."""

    code: str
    table: str | None = None
    row_id: str | None = None
    n: int | None = None
    count: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class _Walk:
    problems: list[SealProblem] = field(default_factory=list)
    sealed: dict[str, set[str]] = field(default_factory=dict)


class Seals:
    """The seal chain of one store. Appending must happen inside the store's write transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._key: bytes | None = None

    # -- the key -------------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return key_path(self.store.data_dir)

    def load_key(self) -> bytes | None:
        """The key if it exists (never creates one): for readers such as fsck."""
        if self._key is None:
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                return None
            if len(data) != KEY_BYTES:
                raise IntegrityError("store.seal_key_bad", path=str(self.path))
            self._key = data
        return self._key

    def prepare(self) -> None:
        """Make sure the key exists before a write (adopting a store from before seals), so the
        adoption's own audit entry is written before the caller's rows, not in the middle."""
        self._writer_key()

    def _writer_key(self, pending: tuple[str, set[str]] = ("", set())) -> bytes:
        """The key for sealing; created (and the store's rows adopted) when the store has none.
        ``pending`` names rows just written that the caller is about to seal itself."""
        key = self.load_key()
        if key is not None:
            return key
        conn = self.store.conn
        if conn.execute("SELECT 1 FROM seals LIMIT 1").fetchone() is not None:
            raise IntegrityError("store.seal_key_missing", path=str(self.path))
        from station.fsio import atomic_write
        from station.paths import ensure_private_dir

        ensure_private_dir(self.path.parent)
        atomic_write(self.path, os.urandom(KEY_BYTES))
        self._key = self.load_key()
        assert self._key is not None
        self.store.set_meta("seal_key", key_fingerprint(self._key))
        adopted = self._adopt(pending)
        if adopted:
            self.store.audit.append(None, "seal.adopt", self.store.station_id,
                                    {"rows": sum(adopted.values()), "tables": adopted})
        return self._key

    def _adopt(self, pending: tuple[str, set[str]]) -> dict[str, int]:
        """Seal every row already present (a store from before seals): trust on first use."""
        counts: dict[str, int] = {}
        for table in sealed_tables(self.store.conn):
            skip = pending[1] if table == pending[0] else set()
            ids = [r[0] for r in self.store.conn.execute(f'SELECT id FROM "{table}" ORDER BY rowid')
                   if r[0] not in skip]
            if ids:
                self.seal(table, ids)
                counts[table] = len(ids)
        return counts

    # -- sealing -------------------------------------------------------------------------------
    def seal(self, table: str, ids: Iterable[str]) -> int:
        """Append one seal per row (as stored now); call inside the transaction that wrote them."""
        wanted = list(ids)
        if not wanted:
            return 0
        if not self.store.in_transaction:
            raise RuntimeError("seal() outside a transaction")
        key = self._writer_key((table, set(wanted)))
        conn = self.store.conn
        rows: dict[str, tuple[object, ...]] = {}
        cur = conn.cursor()
        cur.row_factory = None                      # plain tuples: this runs for every insert
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for r in cur.execute(f'SELECT id, * FROM "{table}" WHERE id IN ({marks})', chunk):
                rows[r[0]] = r[1:]
        last = conn.execute("SELECT n, mac FROM seals ORDER BY n DESC LIMIT 1").fetchone()
        n, prev = (last[0], last[1]) if last else (0, "")
        entries = []
        for row_id in wanted:
            values = rows.get(row_id)
            if values is None:
                raise RuntimeError(f"seal(): no row {row_id} in {table}")
            n += 1
            prev = mac(key, n, prev, table, row_id, values)
            entries.append((n, table, row_id, len(values), prev))
        conn.executemany("INSERT INTO seals (n, tbl, row_id, ncols, mac) VALUES (?,?,?,?,?)",
                         entries)
        self._set_head(key, n, prev)
        return len(entries)

    def _set_head(self, key: bytes, n: int, last: str) -> None:
        station = self.store.station_id or ""
        self.store.conn.execute(
            "INSERT INTO meta(key, value) VALUES ('seal_head', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (f"{n}:{head_mac(key, n, last, station)}",))

    def reseal(self, changed: Iterable[tuple[str, str]]) -> int:
        """Re-seal rows the key holder changed on purpose (purge, a table rebuild) and every entry
        after the first of them (the chain runs on). Check :meth:`verify` first: re-sealing makes
        whatever the rows hold now the truth."""
        key = self._writer_key()
        targets = set(changed)
        if not targets:
            return 0
        conn = self.store.conn
        first = None
        for table, row_id in targets:
            r = conn.execute("SELECT n FROM seals WHERE tbl = ? AND row_id = ?",
                             (table, row_id)).fetchone()
            if r is not None and (first is None or r[0] < first):
                first = r[0]
        if first is None:
            return 0
        before = conn.execute("SELECT mac FROM seals WHERE n = ?", (first - 1,)).fetchone()
        prev = before[0] if before else ""
        cache = _RowCache(conn)
        updates = []
        n = first - 1
        for n, table, row_id in conn.execute(
                "SELECT n, tbl, row_id FROM seals WHERE n >= ? ORDER BY n", (first,)).fetchall():
            values = cache.get(table, row_id)
            if values is None:
                raise RuntimeError(f"reseal(): no row {row_id} in {table}")
            prev = mac(key, n, prev, table, row_id, values)
            updates.append((len(values), prev, n))
        conn.executemany("UPDATE seals SET ncols = ?, mac = ? WHERE n = ?", updates)
        self._set_head(key, n, prev)
        return len(updates)

    # -- checking ------------------------------------------------------------------------------
    def verify(self, limit: int = 50) -> list[SealProblem]:
        """Every problem with the chain, the head and the rows; empty when all holds."""
        conn = self.store.conn
        try:
            key = self.load_key()
        except IntegrityError:
            return [SealProblem("seal_key_bad")]
        has_seals = conn.execute("SELECT 1 FROM seals LIMIT 1").fetchone() is not None
        if key is None:
            if has_seals:
                return [SealProblem("seal_key_missing")]
            return [SealProblem("unsealed_store")] if self._any_rows() else []
        fp = self.store.meta("seal_key")
        if fp is not None and fp != key_fingerprint(key):
            return [SealProblem("seal_key_wrong")]
        walk = self._walk(key, limit)
        problems = walk.problems
        for table in sealed_tables(conn):
            sealed = walk.sealed.get(table, set())
            unsealed = [r[0] for r in conn.execute(f'SELECT id FROM "{table}"')
                        if r[0] not in sealed]
            for row_id in unsealed[:limit]:
                problems.append(SealProblem("unsealed_row", table, row_id))
            if len(unsealed) > limit:
                problems.append(SealProblem("unsealed_more", table, count=len(unsealed) - limit))
        return problems

    def altered(self, rows: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (table, row id) do not hold under their keyed seal: edited since sealed,
        or slipped in with no seal at all. A screen showing a few rows checks just those (the whole
        chain is fsck's). A store never sealed (an older version's) has nothing to hold to; one
        with seals but no key can vouch for none."""
        conn = self.store.conn
        rows = list(rows)
        if conn.execute("SELECT 1 FROM seals LIMIT 1").fetchone() is None:
            return set()
        try:
            key = self.load_key()
        except IntegrityError:
            key = None
        if key is None:
            return set(rows)
        bad: set[tuple[str, str]] = set()
        for table, row_id in rows:
            entry = conn.execute("SELECT n, ncols, mac FROM seals WHERE tbl = ? AND row_id = ?",
                                 (table, row_id)).fetchone()
            values = conn.execute(f'SELECT * FROM "{table}" WHERE id = ?', (row_id,)).fetchone()
            if entry is None or values is None:
                bad.add((table, row_id))
                continue
            n, ncols, stored = entry
            before = conn.execute("SELECT mac FROM seals WHERE n = ?", (n - 1,)).fetchone()
            values = tuple(values)
            if len(values) < ncols or stored != mac(key, n, before[0] if before else "", table, row_id,
                                                    values[:ncols]):
                bad.add((table, row_id))
        return bad

    def _any_rows(self) -> bool:
        conn = self.store.conn
        return any(conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() is not None
                   for t in sealed_tables(conn))

    def _walk(self, key: bytes, limit: int) -> _Walk:
        conn = self.store.conn
        walk = _Walk()
        cache = _RowCache(conn)
        expected_n, prev, bad = 1, "", 0
        last_n, last_mac = 0, ""
        for n, table, row_id, ncols, stored in conn.execute(
                "SELECT n, tbl, row_id, ncols, mac FROM seals ORDER BY n"):
            walk.sealed.setdefault(table, set()).add(row_id)
            if n != expected_n:
                walk.problems.append(SealProblem("seal_gap", n=expected_n))
                prev = ""  # the chain is broken here; go on checking rows against their own MAC
            expected_n = n + 1
            values = cache.get(table, row_id)
            if values is None:
                walk.problems.append(SealProblem("sealed_row_missing", table, row_id, n))
            elif len(values) < ncols or stored != mac(key, n, prev, table, row_id, values[:ncols]):
                bad += 1
                if bad <= limit:
                    walk.problems.append(SealProblem("row_altered", table, row_id, n))
            prev, last_n, last_mac = stored, n, stored
        if bad > limit:
            walk.problems.append(SealProblem("altered_more", count=bad - limit))
        head = self.store.meta("seal_head")
        want = f"{last_n}:{head_mac(key, last_n, last_mac, self.store.station_id or '')}"
        if (head or "0:") != want and not (head is None and last_n == 0):
            walk.problems.append(SealProblem("seal_head", n=last_n))
        return walk


class _RowCache:
    """Rows of the sealed tables, loaded one table at a time on first use (verify walks them all)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.tables: dict[str, dict[str, tuple[object, ...]]] = {}

    def get(self, table: str, row_id: str) -> tuple[object, ...] | None:
        rows = self.tables.get(table)
        if rows is None:
            try:
                rows = {r[0]: tuple(r[1:]) for r in self.conn.execute(
                    f'SELECT id, * FROM "{table}"')}
            except sqlite3.OperationalError:  # a sealed table that is gone
                rows = {}
            self.tables[table] = rows
        return rows.get(row_id)


def require_sound(store: Store, refusal: str = "sync.unsound") -> None:
    """Refuse (IntegrityError ``refusal``, the first problem named) when the keyed seals say
    a row was edited, slipped in or deleted behind the station's back (sqlite3 on the laptop).

    A bundle or a hub push signs every row it carries with the station key, and the master seals
    them as genuine on merge: without this, the station's signature would launder the edit (fsck
    saw it; the master never could). An export batch is signed too (``exports.unsound``). A store not sealed yet (an older version's, sealed at its
    next write) is not refused, as fsck only warns about it."""
    from station.i18n import Bilingual, both

    problems = [p for p in store.seals.verify(limit=1) if p.code != "unsealed_store"]
    if problems:
        first = problems[0]
        zh, en = both(f"fsck.{first.code}", table=first.table or "", id=first.row_id or "",
                      n=first.n if first.n is not None else "",
                      count=first.count if first.count is not None else "")
        raise IntegrityError(refusal, first=Bilingual(zh, en))
