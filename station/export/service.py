"""Building batches from the store: select, write atomically, record — or rebuild one by its id.

The CLI, the TUI and the benchmark all come through here. One build at a time per station: the
export lock is held from selection to the batch's report, and the store records a batch (an export
fact per capture, with the batch record) only if no other batch was recorded since the selection.
A batch recorded but not finished on disk (the process died between its recording and its report)
stays on the store's pending list until the next build, or ``--batch ID``, completes it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ulid import ULID

from station.errors import NotFoundError
from station.export.lock import Holder, export_lock
from station.export.profile import BatchProfile, load_batch_profile
from station.export.record import BatchRecord, Skipped
from station.export.selection import Filters, select
from station.export.writer import Progress, WriteResult, recover_partials, write_batch
from station.fsio import read_bytes
from station.i18n import both
from station.keys import StationKey, ensure_station_key
from station.privacy import mask_id, mask_name
from station.store.clock import now_ms
from station.store.exports import ListedCorrection, render_record
from station.store.people import load_snapshot
from station.store.seals import require_sound

if TYPE_CHECKING:
    from station.store.core import Store
    from station.store.exports import PendingBatch

DEFAULT_WAIT_S = 600.0


@dataclass
class BuildResult:
    record: BatchRecord
    written: WriteResult | None
    recovered: dict[str, list[str]] = field(default_factory=dict)
    rebuilt: bool = False
    report_path: Path | None = None
    private_report_path: Path | None = None
    completed: list[BuildResult] = field(default_factory=list)

    def to_json(self, *, masked: bool = True) -> dict[str, Any]:
        """What a build did. People outside the batch are masked (ID number, name) unless
        ``masked`` is False: only the private report inside the data folder has them in full."""
        rec = self.record
        return {
            "batch_id": rec.batch_id if self.written else None,
            "path": str(self.written.path) if self.written else None,
            "zip": str(self.written.zip_path) if self.written and self.written.zip_path else None,
            "photos": len(rec.items) if self.written else 0,
            # "new" and "replacement" are kept for scripts: every upload photo is new now; what
            # would have been a replacement is a correction, listed beside the upload folder.
            "new": len(rec.items) if self.written else 0,
            "replacement": 0,
            "corrections": len(rec.corrections) if self.written else 0,
            "bytes": self.written.bytes if self.written else 0,
            "manifest_sha256": self.written.manifest_sha256 if self.written else None,
            "rebuilt": self.rebuilt,
            "report": str(self.report_path) if self.report_path else None,
            "private_report": str(self.private_report_path) if self.private_report_path else None,
            "filters": rec.filters,
            "not_in_batch": [skip_json(s, masked=masked) for s in rec.skipped],
            # in the upload although the station's checks failed them: a supervisor's signed word
            "accepted_over_checks": [
                {"id_number": mask_id(i.id_number) if masked else i.id_number,
                 "name": mask_name(i.name) if masked else i.name,
                 "override_by": i.override_by, "reason": i.override_reason}
                for i in (rec.items if self.written else []) if i.overridden],
            # no roster of the batch's school here holds them (a walk-in of a school whose roster
            # was not imported): the card's name, no student number or department (a roster
            # always gives a department); said, not guessed. From the record: a rebuild says the same
            "off_roster": [
                {"id_number": mask_id(i.id_number) if masked else i.id_number,
                 "name": mask_name(i.name) if masked else i.name, "school_code": rec.school_code}
                for i in ([*rec.items, *(c for c in rec.corrections if c.has_photo)]
                          if self.written else []) if not i.department],
            "recovered": self.recovered,
            "completed": [c.summary() for c in self.completed],
        }

    def summary(self) -> dict[str, Any]:
        """A finished earlier batch, in a line: which, where, how many photos."""
        return {"batch_id": self.record.batch_id, "path": str(self.written.path) if self.written else None,
                "zip": str(self.written.zip_path) if self.written and self.written.zip_path else None,
                "photos": len(self.record.items),
                "report": str(self.report_path) if self.report_path else None}


def skip_json(s: Skipped, *, masked: bool = True) -> dict[str, Any]:
    params: dict[str, Any] = {"detail": s.detail}
    if s.reason == "already_exported":
        params["batch"] = s.detail
    elif s.reason == "unpaid":
        paid, _, fee = s.detail.partition("/")
        params.update(paid=paid, fee=fee)
    zh, en = both(f"exports.skip.{s.reason}", **params)
    return {"id_number": mask_id(s.id_number) if masked else s.id_number,
            "name": mask_name(s.name) if masked else s.name, "reason": s.reason, "detail": s.detail,
            "message_zh": zh, "message_en": en}


def read_image(store: Store) -> Callable[[str], bytes]:
    """Image bytes by hash; the writer hashes what it writes, so no second hashing here."""
    images = store.images

    def read(sha: str) -> bytes:
        try:
            return read_bytes(images.path(sha))
        except FileNotFoundError:
            raise NotFoundError("store.image_missing", sha=sha) from None
    return read


def load_record(store: Store, batch_id: str) -> BatchRecord:
    data = store.exports.load_record(batch_id)
    if not data:
        raise NotFoundError("exports.unknown_batch", batch=batch_id)
    return BatchRecord.from_json(data)


def build_batch(store: Store, profile: BatchProfile, out: Path, filters: Filters, *,
                operator: str | None, school_code: str | None = None,
                progress: Progress | None = None, cancel: threading.Event | None = None,
                now: int | None = None, throttle_s: float = 0, wait_s: float = DEFAULT_WAIT_S,
                on_wait: Callable[[Holder], None] | None = None) -> BuildResult:
    """Finish any batch left pending, then select what is due, write the batch and record it.

    An empty selection writes nothing. A second build waits for the first (up to ``wait_s``).
    """
    out = Path(out)
    key = ensure_station_key(store.data_dir)
    with export_lock(store.data_dir, wait_s=wait_s, on_wait=on_wait, cancel=cancel):
        require_sound(store, "exports.unsound")   # the batch is signed: no row edited behind our back
        completed = [_complete(store, pending, out, key, operator) for pending in store.exports.pending()]
        recovered = recover_partials(out, store.exports.is_recorded)
        selected_at = store.exports.watermark()
        snap = load_snapshot(store)
        present = set(store.images)             # one walk of the image folder, not a stat per person
        chosen = select(snap, profile, filters, image_exists=present.__contains__)
        record = BatchRecord(
            batch_id=str(ULID()), created_ms=now if now is not None else now_ms(), profile=profile.name,
            school_code=filters.school_code or snap.school_code or school_code or profile.school_code,
            station_id=snap.station_id, items=chosen.items, skipped=chosen.skipped,
            filters=filters.to_json(), utc_offset_hours=filters.utc_offset_hours,
            corrections=chosen.corrections, fee_cents=filters.fee_cents)
        if record.empty:
            return BuildResult(record, None, recovered, completed=completed)

        rendered: list[str] = []

        def prepare() -> None:          # on this thread while the photos copy: the record's JSON
            rendered.append(render_record(record.to_json()))

        def commit(final: Path, flushed: Callable[[], None]) -> None:
            listed = [ListedCorrection(c.capture_id, c.id_number, c.correction, c.replaces_batch)
                      for c in record.corrections]
            store.exports.record(record.batch_id, [i.capture_id for i in record.items],
                                 profile=profile.name, operator=operator,
                                 record=rendered[0] if rendered else record.to_json(),
                                 folder=final.name, out_dir=out.resolve(), make_zip=bool(profile.upload_zip),
                                 selected_at=selected_at, corrections=listed, before_commit=flushed)

        written = write_batch(record, profile, out, read_image(store), key,
                              progress=progress, cancel=cancel, on_commit=commit,
                              is_recorded=store.exports.is_recorded, throttle_s=throttle_s,
                              while_copying=prepare)
        result = BuildResult(record, written, recovered, completed=completed)
        _write_report(result, store.data_dir)
        _remember(store, result)
        store.exports.finish(record.batch_id, operator, written.path)
    return result


def _complete(store: Store, pending: PendingBatch, out: Path, key: StationKey,
              operator: str | None) -> BuildResult:
    """Finish a batch recorded by a build that died: its folder, zip and report, from its record.

    The folder is finished where that build was writing when that folder still exists, else in
    ``out``. A complete hidden folder is renamed into place; otherwise the batch is written again
    from its record (the same bytes).
    """
    record = load_record(store, pending.batch_id)
    profile = load_batch_profile(record.profile)
    target = pending.out_dir if pending.out_dir.is_dir() else out
    recover_partials(target, store.exports.is_recorded)
    final = target / pending.folder
    if final.is_dir():
        written = _adopt(final, record, profile)
    else:
        written = write_batch(record, profile, target, read_image(store), key,
                              is_recorded=store.exports.is_recorded)
    result = BuildResult(record, written, rebuilt=True)
    _write_report(result, store.data_dir)
    _remember(store, result)
    store.exports.finish(record.batch_id, operator, written.path)
    return result


def _adopt(folder: Path, record: BatchRecord, profile: BatchProfile) -> WriteResult:
    """A complete batch folder already in place (renamed before its builder died)."""
    from station.export.layout import zip_name

    manifest = folder / profile.json_name
    photos = sum(p.stat().st_size for p in folder.rglob("*.jpg"))
    name = zip_name(record, profile)
    sha = hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else ""
    return WriteResult(folder, folder / name if name else None, len(record.items), photos, sha)


PRIVATE_REPORTS = "export-reports"


def _remember(store: Store, result: BuildResult) -> None:
    """The batch folder and the report beside it are the station's to remove at a purge
    (station.store.written): recorded with the captures they hold, once both are on disk."""
    from station.store import written

    if result.written is None:
        return
    record = result.record
    captures = [i.capture_id for i in record.items] + [c.capture_id for c in record.corrections]
    written.record(store, written.BATCH, result.written.path, captures=captures)
    if result.report_path is not None:
        written.record(store, written.REPORT, result.report_path, captures=captures)


def _write_report(result: BuildResult, data_dir: Path) -> None:
    """Two reports of who is in the batch and who is not, with the reason.

    ``<batch>.report.json`` beside the batch goes wherever the batch goes (a USB stick): people
    outside the batch appear there masked. The same report with their ID numbers and names in
    full stays in the data folder (``export-reports/``, owner-only) for the technician who has to
    find them. Both are rewritten identically by a rebuild.
    """
    from station.export.layout import render_json
    from station.fsio import atomic_write
    from station.paths import ensure_private_dir

    if result.written is None:
        return
    folder = result.written.path
    for masked, path in ((True, folder.with_name(folder.name + ".report.json")),
                         (False, ensure_private_dir(Path(data_dir) / PRIVATE_REPORTS) / f"{folder.name}.report.json")):
        data = result.to_json(masked=masked)
        for transient in ("recovered", "rebuilt", "report", "private_report", "completed"):
            data.pop(transient, None)
        data["path"] = folder.name
        data["zip"] = result.written.zip_path.name if result.written.zip_path else None
        atomic_write(path, render_json(data))
        if masked:
            result.report_path = path
        else:
            result.private_report_path = path


def rebuild_batch(store: Store, profile: BatchProfile, out: Path, batch_id: str, *,
                  progress: Progress | None = None,
                  cancel: threading.Event | None = None, operator: str | None = None,
                  wait_s: float = DEFAULT_WAIT_S, on_wait: Callable[[Holder], None] | None = None) -> BuildResult:
    """Finish a pending batch, or write an earlier one again from its record: the same bytes,
    nothing new recorded."""
    out = Path(out)
    key = ensure_station_key(store.data_dir)
    with export_lock(store.data_dir, wait_s=wait_s, on_wait=on_wait, cancel=cancel):
        require_sound(store, "exports.unsound")
        pending = store.exports.is_pending(batch_id)
        if pending is not None:
            return _complete(store, pending, out, key, operator)
        record = load_record(store, batch_id)
        written = write_batch(record, profile, out, read_image(store), key,
                              progress=progress, cancel=cancel, is_recorded=store.exports.is_recorded)
        result = BuildResult(record, written, rebuilt=True)
        _write_report(result, store.data_dir)
        _remember(store, result)
    return result
