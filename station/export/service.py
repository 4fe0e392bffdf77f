"""Building batches from the store: select, write atomically, record — or rebuild one by its id.

The CLI, the TUI and the benchmark all come through here. The store records the batch (an export
fact per capture, and the batch record in the audit details) in the same step that makes the
folder appear, so a capture is never exported twice by accident and a batch can be rebuilt byte
for byte from its record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ulid import ULID

from station.errors import NotFoundError
from station.export.profile import BatchProfile
from station.export.record import BatchRecord, Skipped
from station.export.selection import Filters, select
from station.export.snapshot import load_snapshot
from station.export.writer import Progress, WriteResult, recover_partials, write_batch
from station.i18n import both
from station.keys import ensure_station_key
from station.store.clock import now_ms

if TYPE_CHECKING:
    from station.store.core import Store

AUDIT_ACTION = "export"


@dataclass
class BuildResult:
    record: BatchRecord
    written: WriteResult | None
    recovered: dict[str, list[str]] = field(default_factory=dict)
    rebuilt: bool = False
    report_path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        rec = self.record
        return {
            "batch_id": rec.batch_id if self.written else None,
            "path": str(self.written.path) if self.written else None,
            "zip": str(self.written.zip_path) if self.written and self.written.zip_path else None,
            "photos": len(rec.items) if self.written else 0,
            "new": sum(1 for i in rec.items if i.kind == "new") if self.written else 0,
            "replacement": sum(1 for i in rec.items if i.kind == "replacement") if self.written else 0,
            "bytes": self.written.bytes if self.written else 0,
            "manifest_sha256": self.written.manifest_sha256 if self.written else None,
            "rebuilt": self.rebuilt,
            "report": str(self.report_path) if self.report_path else None,
            "filters": rec.filters,
            "not_in_batch": [skip_json(s) for s in rec.skipped],
            "recovered": self.recovered,
        }


def skip_json(s: Skipped) -> dict[str, Any]:
    params: dict[str, Any] = {"detail": s.detail}
    if s.reason == "already_exported":
        params["batch"] = s.detail
    elif s.reason == "unpaid":
        paid, _, fee = s.detail.partition("/")
        params.update(paid=paid, fee=fee)
    zh, en = both(f"exports.skip.{s.reason}", **params)
    return {"id_number": s.id_number, "name": s.name, "reason": s.reason, "detail": s.detail,
            "message_zh": zh, "message_en": en}


def read_image(store: Store) -> Callable[[str], bytes]:
    """Image bytes by hash; the writer hashes what it writes, so no second hashing here."""
    def read(sha: str) -> bytes:
        try:
            return store.images.path(sha).read_bytes()
        except FileNotFoundError:
            raise NotFoundError("store.image_missing", sha=sha) from None
    return read


def is_recorded(store: Store, batch_id: str) -> bool:
    return store.conn.execute("SELECT 1 FROM exports WHERE batch_id = ? LIMIT 1",
                              (batch_id,)).fetchone() is not None


def load_record(store: Store, batch_id: str) -> BatchRecord:
    import json

    row = store.conn.execute(
        "SELECT details FROM audit WHERE action = ? AND subject = ? ORDER BY hlc LIMIT 1",
        (AUDIT_ACTION, batch_id)).fetchone()
    record = json.loads(row[0]).get("record") if row else None
    if not record:
        raise NotFoundError("exports.unknown_batch", batch=batch_id)
    return BatchRecord.from_json(record)


def build_batch(store: Store, profile: BatchProfile, out: Path, filters: Filters, *,
                operator: str | None, school_code: str | None = None, make_zip: bool = False,
                progress: Progress | None = None, cancel: threading.Event | None = None,
                now: int | None = None, throttle_s: float = 0) -> BuildResult:
    """Select what is due, write the batch and record it; an empty selection writes nothing."""
    key = ensure_station_key(store.data_dir)
    recovered = recover_partials(Path(out), lambda b: is_recorded(store, b))
    snap = load_snapshot(store)
    chosen = select(snap, profile, filters, image_exists=store.images.exists)
    record = BatchRecord(
        batch_id=str(ULID()), created_ms=now if now is not None else now_ms(), profile=profile.name,
        school_code=filters.school_code or snap.school_code or school_code or profile.school_code,
        station_id=snap.station_id, items=chosen.items, skipped=chosen.skipped,
        filters=filters.to_json(), utc_offset_hours=filters.utc_offset_hours)
    if not record.items:
        return BuildResult(record, None, recovered)

    def commit(final: Path) -> None:
        store.facts.record_export(record.batch_id, [i.capture_id for i in record.items],
                                  profile=profile.name, operator=operator,
                                  details={"record": record.to_json(), "folder": final.name})

    written = write_batch(record, profile, Path(out), read_image(store), key, make_zip=make_zip,
                          progress=progress, cancel=cancel, on_commit=commit,
                          is_recorded=lambda b: is_recorded(store, b), throttle_s=throttle_s)
    result = BuildResult(record, written, recovered)
    _write_report(result)
    return result


def _write_report(result: BuildResult) -> None:
    """``<batch>.report.json`` beside the batch: who is in it and who is not, with the reason.

    Kept outside the batch folder so the pipeline never receives the names of people who are not
    in the batch; rewritten identically by a rebuild.
    """
    import json

    from station.fsio import atomic_write

    if result.written is None:
        return
    path = result.written.path.with_name(result.written.path.name + ".report.json")
    data = result.to_json()
    data.pop("recovered", None)
    data.pop("rebuilt", None)
    data.pop("report", None)
    data["path"] = result.written.path.name
    data["zip"] = result.written.zip_path.name if result.written.zip_path else None
    atomic_write(path, (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    result.report_path = path


def rebuild_batch(store: Store, profile: BatchProfile, out: Path, batch_id: str, *,
                  make_zip: bool = False, progress: Progress | None = None,
                  cancel: threading.Event | None = None) -> BuildResult:
    """Write an earlier batch again from its record: the same bytes, nothing new recorded."""
    record = load_record(store, batch_id)
    key = ensure_station_key(store.data_dir)
    written = write_batch(record, profile, Path(out), read_image(store), key, make_zip=make_zip,
                          progress=progress, cancel=cancel)
    result = BuildResult(record, written, rebuilt=True)
    _write_report(result)
    return result
