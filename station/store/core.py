"""The station's store: one SQLite file (WAL) plus a content-addressed image folder.

Every write goes through ``Store.transaction()`` (BEGIN IMMEDIATE: one writer at a time, others
wait up to the busy timeout) and every fact row gets its merge stamp from ``Store.stamps()``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlite_utils

from station.errors import IntegrityError, MediaError, RefusedError
from station.paths import ensure_private_dir
from station.store import clock, migrations, wallclock
from station.store.ulids import new_ulids

if TYPE_CHECKING:
    from station.store.audit import AuditLog
    from station.store.exports import ExportLedger
    from station.store.facts import Facts, PersonState
    from station.store.images import ImageStore
    from station.store.operators import Operators
    from station.store.roster import RosterView, ScheduleView
    from station.store.seals import Seals

DB_NAME = "station.sqlite3"
IMAGES_DIR = "images"
BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Stamp:
    """The merge columns of one new row (sync.md): ULID key, station, sequence, clock."""

    id: str
    station_id: str
    seq: int
    hlc: str

    def columns(self) -> dict[str, Any]:
        return {"id": self.id, "station_id": self.station_id, "seq": self.seq, "hlc": self.hlc}


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the station's pragmas; transactions are managed explicitly."""
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                           check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class Store:
    """Facts, operators, audit and images of one station. Open with ``open_store(data_dir)``."""

    def __init__(self, data_dir: Path, conn: sqlite3.Connection) -> None:
        self.data_dir = data_dir
        self.conn = conn
        self._depth = 0
        self.read_only = False

    # -- plumbing -------------------------------------------------------------------------------
    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils view of the same connection, for readers (writes: use the store's API)."""
        return sqlite_utils.Database(self.conn, execute_plugins=False, recursive_triggers=False)

    @property
    def path(self) -> Path:
        return self.data_dir / DB_NAME

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None  # type: ignore[assignment]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All-or-nothing unit of work; nested calls join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
            self.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        finally:
            self._depth = 0

    def _rollback(self) -> None:
        """Undo the open transaction, keeping the error that caused it: on a full disk SQLite may
        already have rolled back, and "cannot rollback" would hide the real reason."""
        if self.conn is not None and self.conn.in_transaction:
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def quick_check(self) -> list[str]:
        """SQLite's quick structural check: ``["ok"]`` or the problems it found."""
        return [str(r[0]) for r in self.conn.execute("PRAGMA quick_check")]

    @property
    def station_id(self) -> str | None:
        return self.meta("station_id")

    @property
    def initialized(self) -> bool:
        return self.station_id is not None

    def stamps(self, n: int = 1) -> list[Stamp]:
        """``n`` fresh merge stamps; must be called inside ``transaction()`` (it bumps counters)."""
        if not self._depth:
            raise RuntimeError("stamps() outside a transaction")
        if n <= 0:
            return []
        station = self.station_id
        if station is None:
            raise RefusedError("store.not_initialized")
        seq = int(self.meta("seq", "0") or 0)
        last_text = self.meta("hlc")
        last = clock.HLC.decode(last_text) if last_text else None
        wall = clock.now_ms()
        hlcs = clock.ticks(last, station, n, wall)
        out = [Stamp(key, station, seq + k, hlc)
               for k, (key, hlc) in enumerate(zip(new_ulids(n), hlcs, strict=True), start=1)]
        self.conn.executemany(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [("seq", str(seq + n)), ("hlc", hlcs[-1])])
        wallclock.note(self.conn, wall)          # the newest time our own clock stamped
        return out

    def observe(self, remote_hlc: str) -> None:
        """Advance the local clock past a merged stamp, so later local facts sort after it."""
        with self.transaction():
            last_text = self.meta("hlc")
            last = clock.HLC.decode(last_text) if last_text else None
            nxt = clock.receive(last, clock.HLC.decode(remote_hlc), self.station_id or "")
            self.set_meta("hlc", nxt.encode())

    def insert(self, table: str, values: dict[str, Any]) -> str:
        """Insert one fact row with a fresh stamp; returns its ULID key."""
        return self.insert_many(table, [values])[0]

    def insert_many(self, table: str, rows: list[dict[str, Any]]) -> list[str]:
        """Insert fact rows (same columns each) with fresh stamps in one transaction."""
        if not rows:
            return []
        with self.transaction():
            self.seals.prepare()
            stamps = self.stamps(len(rows))
            columns = ["id", "station_id", "seq", "hlc", *rows[0].keys()]
            sql = (f"INSERT INTO {_ident(table)} ({', '.join(_ident(c) for c in columns)}) "
                   f"VALUES ({', '.join('?' for _ in columns)})")
            self.conn.executemany(sql, (
                [s.id, s.station_id, s.seq, s.hlc, *(_sql_value(row[c]) for c in columns[4:])]
                for s, row in zip(stamps, rows, strict=True)))
            self.seals.seal(table, [s.id for s in stamps])
        return [s.id for s in stamps]

    # -- areas ----------------------------------------------------------------------------------
    @cached_property
    def images(self) -> ImageStore:
        from station.store.images import ImageStore

        return ImageStore(self.data_dir / IMAGES_DIR)

    @cached_property
    def seals(self) -> Seals:
        from station.store.seals import Seals

        return Seals(self)

    @cached_property
    def audit(self) -> AuditLog:
        from station.store.audit import AuditLog

        return AuditLog(self)

    @cached_property
    def operators(self) -> Operators:
        from station.store.operators import Operators

        return Operators(self)

    @cached_property
    def roster(self) -> RosterView:
        from station.store.roster import RosterView

        return RosterView(self)

    @cached_property
    def schedule(self) -> ScheduleView:
        from station.store.roster import ScheduleView

        return ScheduleView(self)

    @cached_property
    def exports(self) -> ExportLedger:
        from station.store.exports import ExportLedger

        return ExportLedger(self)

    @cached_property
    def facts(self) -> Facts:
        from station.store.facts import Facts

        return Facts(self)

    def person_state(self, id_number: str) -> PersonState:
        """Captures, payments, acceptance and export status of one person, derived from facts."""
        return self.facts.person_state(id_number)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad SQL identifier {name!r}")
    return f'"{name}"'


_STORED_AS_IS = frozenset({str, int, float, bytes, type(None)})   # not bool: stored as 0/1


def _sql_value(value: Any) -> Any:
    if type(value) in _STORED_AS_IS:      # the usual cell: one set lookup (20,000-row imports)
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return int(value)
    return value


class CorruptStoreError(MediaError):
    """The database file fails SQLite's own check (or is not a database at all)."""


Access = Literal["write", "read", "auto"]


def open_store(data_dir: Path, *, migrate: bool = True, access: Access = "write",
               check: bool = True) -> Store:
    """Open the store below ``data_dir``.

    ``write`` creates and migrates it as needed, refuses a database that fails SQLite's quick
    check (``check``), and removes what killed processes left behind (temporary copies, stale
    partial files, orphan images past their grace period). ``read`` opens an existing store
    read-only and changes nothing (fsck, reports on a read-only medium). ``auto`` writes when the
    medium allows it and reads otherwise.
    """
    data_dir = Path(data_dir)
    if access == "read":
        return _open_read(data_dir, check)
    try:
        return _open_write(data_dir, migrate, check)
    except MediaError as exc:
        if access == "auto" and exc.key in ("media.read_only", "media.denied") \
                and (data_dir / DB_NAME).exists():
            return _open_read(data_dir, check)
        raise


def _open_write(data_dir: Path, migrate: bool, check: bool) -> Store:
    from station.media import media_error

    path = data_dir / DB_NAME
    try:
        ensure_private_dir(data_dir)
        conn = connect(path)
    except (OSError, sqlite3.OperationalError) as exc:
        raise media_error(exc, data_dir) or exc from None
    except sqlite3.DatabaseError as exc:
        raise CorruptStoreError("store.corrupt", path=str(path), detail=str(exc)) from None
    try:
        path.chmod(0o600)
        if check:
            _quick_check(conn, path)
        version = migrations.current_version(conn)
        if version > migrations.LATEST:
            raise IntegrityError("store.too_new", version=version, supported=migrations.LATEST)
        if migrate:
            migrations.migrate(conn)
        store = Store(data_dir, conn)
        if migrate:
            _collect_leftovers(store)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, OSError | sqlite3.OperationalError):
            found = media_error(exc, data_dir)
            if found is not None:
                raise found from None
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            raise CorruptStoreError("store.corrupt", path=str(path), detail=str(exc)) from None
        raise
    return store


def _open_read(data_dir: Path, check: bool) -> Store:
    from station.errors import NotFoundError

    path = data_dir / DB_NAME
    if not path.is_file():
        raise NotFoundError("store.missing", path=str(data_dir))
    try:
        conn = connect_readonly(path)
        if check:
            _quick_check(conn, path)
    except sqlite3.DatabaseError as exc:
        from station.media import media_error

        found = media_error(exc, data_dir)
        if found is not None:
            raise found from None
        raise CorruptStoreError("store.corrupt", path=str(path), detail=str(exc)) from None
    store = Store(data_dir, conn)
    store.read_only = True
    return store


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection; on a read-only folder (no -shm can be made) the file is opened as
    immutable, which is exact because nobody can be writing it there."""
    from urllib.parse import quote

    base = f"file:{quote(str(path.resolve()))}?mode=ro"
    for uri in (base, base + "&immutable=1"):
        conn = sqlite3.connect(uri, uri=True, isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
            if uri != base:
                raise
    raise AssertionError("unreachable")


def _quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse to work on a damaged database: every later write could spread the damage."""
    lines = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
    if lines != ["ok"]:
        raise CorruptStoreError("store.corrupt", path=str(path), detail="; ".join(lines))


# Orphan images are only removed an hour after they were stored; looking for them more often than
# this costs every command a walk of the image folder (~0.1 s at 3,000 people) for nothing.
ORPHAN_SWEEP_S = 900


def _collect_leftovers(store: Store) -> None:
    """What killed processes left: temporary copies and files, and orphan images past grace."""
    import logging

    from station.store import scratch
    from station.store.images import collect_orphans

    removed = scratch.collect(store.data_dir)
    orphans = collect_orphans(store) if scratch.due(store.data_dir, "orphans", ORPHAN_SWEEP_S) else []
    if removed or orphans:
        logging.getLogger("station.store").info(
            "removed leftovers of killed processes: %d scratch, %d outputs, %d temp files, "
            "%d orphan images", len(removed.scratch), len(removed.outputs),
            len(removed.temp_files), len(orphans))
