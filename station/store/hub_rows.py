"""The SQLite side of the PostgreSQL hub (issue 15): what a push reads, what a pull stages.

- ``Outbox``: this station's own fact rows after the hub's high-water marks, read in one
  consistent snapshot (a read transaction on a read-only connection of its own, so the desk goes
  on writing meanwhile). Columns come merge columns first (``id, station_id, seq, hlc``), which is
  how the hub finds a row's key and station inside the signed line.
- ``create_staging``/``stage_rows``: a private SQLite file at the schema version the rows were
  pushed at, filled with verified rows, then handed to the merge's apply step like a bundle's
  database (``station.sync.merge.check_staged``/``apply_verified``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from station.store import union
from station.store.migrations import migrate


class Outbox:
    """A read-only snapshot of the store for one push (close it when done)."""

    def __init__(self, db_path: Path) -> None:
        self.conn = sqlite3.connect(Path(db_path).resolve().as_uri() + "?mode=ro", uri=True,
                                    isolation_level=None)
        self.conn.execute("PRAGMA temp_store = MEMORY")
        self.conn.execute("BEGIN")                       # the snapshot starts at the first read
        self._version = union.schema_version(self.conn)

    def close(self) -> None:
        try:
            self.conn.execute("COMMIT")
        finally:
            self.conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        return self._version

    def tables(self) -> list[str]:
        """Fact tables that travel (as in bundles), parents first."""
        return union.merged_tables(self.conn)

    def columns(self, table: str) -> list[str]:
        cols = union.table_columns(self.conn, table)
        return [*union.MERGE_COLUMNS, *(c for c in cols if c not in union.MERGE_COLUMNS)]

    def rows_after(self, table: str, station_id: str, after_seq: int,
                   limit: int) -> list[tuple[Any, ...]]:
        """Up to ``limit`` of the station's own rows with a sequence above ``after_seq``, lowest
        sequence first, columns as ``columns(table)``."""
        cols = ", ".join(union.ident(c) for c in self.columns(table))
        return [tuple(r) for r in self.conn.execute(
            f"SELECT {cols} FROM {union.ident(table)} WHERE station_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?", (station_id, after_seq, limit))]


    def id_at(self, table: str, station_id: str, seq: int) -> str | None:
        """The key of the station's row with sequence number ``seq`` in ``table``, if any."""
        if table not in self.tables():
            return None
        row = self.conn.execute(f"SELECT id FROM {union.ident(table)} WHERE station_id = ? AND seq = ?",
                                (station_id, seq)).fetchone()
        return str(row[0]) if row else None


_EMPTY: dict[int, bytes] = {}        # schema version → an empty store's file, made once per process


def create_staging(path: Path, version: int) -> sqlite3.Connection:
    """An empty private store file (0600, new) at schema ``version`` (no foreign-key enforcement:
    a push may hold children whose parents came in another one — the union puts those aside).
    The migrations run once per version and process, in memory, and each staging file starts as
    a copy of that: running them for every pulled push cost ~0.2 s a push."""
    image = _EMPTY.get(version)
    if image is None:
        empty = sqlite3.connect(":memory:", isolation_level=None)
        try:
            migrate(empty, version)
            image = _EMPTY[version] = empty.serialize()
        finally:
            empty.close()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(image)
    return union.open_private(path)


def stage_rows(conn: sqlite3.Connection, table: str, columns: Sequence[str],
               rows: Iterable[Sequence[Any]]) -> int:
    """Insert verified rows into the staging file; how many."""
    existing = set(union.table_columns(conn, table))
    if not existing:
        raise ValueError(f"no table {table!r} at this schema version")
    unknown = [c for c in columns if c not in existing]
    if unknown:
        raise ValueError(f"no column {unknown[0]!r} in table {table!r}")
    marks = ", ".join("?" for _ in columns)
    names = ", ".join(union.ident(c) for c in columns)
    conn.execute("BEGIN")
    count = 0
    try:
        for row in rows:
            conn.execute(f"INSERT INTO {union.ident(table)} ({names}) VALUES ({marks})", tuple(row))
            count += 1
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return count
