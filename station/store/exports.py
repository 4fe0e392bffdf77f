"""The export ledger: which batches this store recorded, and which are not finished on disk yet.

All SQL of batch recording lives here (the export package renders files and never touches the
database). Recording is serialised twice: the export service holds the station's export lock
around select → write → record, and ``record`` itself refuses when any export was recorded since
the selection was made (``Watermark``), so even a writer that skipped the lock cannot export a
capture a second time; and SQLite refuses a capture in a second batch of this station's own
(``export_index``'s partial UNIQUE index, filled by a trigger from the batch's one sealed row).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.errors import IntegrityError
from station.store.clock import now_ms

if TYPE_CHECKING:
    from station.store.core import Store

EXPORT_ACTION = "export"
FINISH_ACTION = "export.finished"


@dataclass(frozen=True)
class Watermark:
    """How many export facts the store held when a selection was made, and the newest one."""

    count: int
    newest: str


@dataclass(frozen=True)
class PendingBatch:
    """A batch recorded by this station whose folder, zip or report may not be on disk yet."""

    batch_id: str
    out_dir: Path
    folder: str
    make_zip: bool


@dataclass(frozen=True)
class ListedCorrection:
    """One entry of a batch's corrections list, as the store remembers it."""

    capture_id: str
    id_number: str
    correction: str             # photo | record
    replaces_batch: str


_LISTED = ("SELECT e.id, e.batch_id, j.value FROM exports e, "
           "json_each(CASE WHEN json_valid(e.capture_ids) THEN e.capture_ids ELSE '[]' END) j")
_INDEXED = ("SELECT i.export_id, e.batch_id, i.capture_id FROM export_index i "
            "LEFT JOIN exports e ON e.id = i.export_id")


def index_mismatches(conn: sqlite3.Connection, limit: int = 50) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(batch, capture) pairs the sealed batch rows list but the export index lacks, and pairs the
    index holds that no batch row lists (fsck: the index decides what is exported already)."""
    missing = conn.execute(f"{_LISTED} EXCEPT {_INDEXED} LIMIT ?", (limit,)).fetchall()
    stray = conn.execute(f"{_INDEXED} EXCEPT {_LISTED} LIMIT ?", (limit,)).fetchall()
    return ([(str(b), str(c)) for _, b, c in missing], [(str(b or "?"), str(c)) for _, b, c in stray])


def render_record(record: dict[str, Any]) -> str:
    """A batch record as its exports row keeps it."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


class ExportRaced(IntegrityError):
    """Another export was recorded between this one's selection and its recording."""


class ExportLedger:
    def __init__(self, store: Store) -> None:
        self.store = store

    def watermark(self) -> Watermark:
        row = self.store.conn.execute("SELECT COUNT(*), COALESCE(MAX(hlc), '') FROM exports").fetchone()
        return Watermark(int(row[0]), str(row[1]))

    def record(self, batch_id: str, capture_ids: Sequence[str], *, profile: str, operator: str | None,
               record: dict[str, Any] | str, folder: str, out_dir: Path, make_zip: bool,
               selected_at: Watermark, corrections: Sequence[ListedCorrection] = (),
               before_commit: Callable[[], None] | None = None) -> str:
        """Record a batch (its export facts, its corrections list and its pending entry) in one
        transaction. ``record`` is the batch record, or its text from ``render_record`` (rendered
        ahead, while the photos were copied).

        Refused with ``ExportRaced`` when the store's exports changed since ``selected_at``: the
        selection may then name captures another batch already took. ``before_commit`` runs last
        inside the transaction (the writer's "every byte is on disk"); if it raises, nothing is
        recorded.
        """
        store = self.store
        ids = list(capture_ids)
        with store.transaction():
            now = self.watermark()
            if now != selected_at:
                raise ExportRaced("exports.raced", batch=self._newest_batch() or "?")
            try:        # one sealed row; its trigger indexes the captures (UNIQUE for our own)
                export_id = store.insert("exports", {
                    "batch_id": batch_id, "capture_ids": ids, "profile": profile, "operator": operator,
                    "record": record if isinstance(record, str) else render_record(record)})
            except sqlite3.IntegrityError as exc:
                if "export_index" not in str(exc):
                    raise
                raise ExportRaced("exports.raced", batch=self._newest_batch() or "?") from None
            store.insert_many("export_corrections", [
                {"export_id": export_id, "capture_id": c.capture_id, "id_number": c.id_number,
                 "correction": c.correction, "replaces_batch": c.replaces_batch} for c in corrections])
            store.audit.append(operator, EXPORT_ACTION, batch_id,
                               {"id": export_id, "captures": len(ids), "corrections": len(corrections),
                                "folder": folder})
            store.conn.execute(
                "INSERT INTO export_pending (batch_id, out_dir, folder, make_zip, recorded_ms) "
                "VALUES (?, ?, ?, ?, ?)", (batch_id, str(out_dir), folder, int(make_zip), now_ms()))
            if before_commit is not None:
                before_commit()
        return export_id

    def finish(self, batch_id: str, operator: str | None, path: Path) -> None:
        """The batch's files are all on disk: it leaves the pending list (audited)."""
        store = self.store
        with store.transaction():
            gone = store.conn.execute("DELETE FROM export_pending WHERE batch_id = ?", (batch_id,)).rowcount
            if gone:
                store.audit.append(operator, FINISH_ACTION, batch_id, {"folder": path.name})

    def pending(self) -> list[PendingBatch]:
        rows = self.store.conn.execute(
            "SELECT batch_id, out_dir, folder, make_zip FROM export_pending ORDER BY recorded_ms, batch_id")
        return [PendingBatch(r[0], Path(r[1]), r[2], bool(r[3])) for r in rows]

    def is_pending(self, batch_id: str) -> PendingBatch | None:
        return next((p for p in self.pending() if p.batch_id == batch_id), None)

    def is_recorded(self, batch_id: str) -> bool:
        return self.store.conn.execute("SELECT 1 FROM exports WHERE batch_id = ? LIMIT 1",
                                       (batch_id,)).fetchone() is not None

    def load_record(self, batch_id: str) -> dict[str, Any] | None:
        """The batch record as the export service wrote it (older stores kept it in the audit)."""
        conn = self.store.conn
        row = conn.execute("SELECT record FROM exports WHERE batch_id = ? ORDER BY hlc LIMIT 1",
                           (batch_id,)).fetchone()
        if row is not None and row[0]:
            data = json.loads(row[0])
            return data if isinstance(data, dict) else None
        row = conn.execute("SELECT details FROM audit WHERE action = ? AND subject = ? ORDER BY hlc LIMIT 1",
                           (EXPORT_ACTION, batch_id)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0]).get("record")
        return data if isinstance(data, dict) else None

    def _newest_batch(self) -> str | None:
        row = self.store.conn.execute("SELECT batch_id FROM exports ORDER BY hlc DESC LIMIT 1").fetchone()
        return row[0] if row else None
