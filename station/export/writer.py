"""Writing a batch folder atomically: all in a hidden temporary folder, then one rename.

An interrupted export (Ctrl-C, a crash, SIGKILL, a full disk) leaves at most a hidden
``.NAME.partial-*`` folder that no one takes for a batch; the next export removes it. The store
records the batch (``on_commit``) after every byte is on disk and just before the rename, so a batch
folder that exists is always complete and always recorded. The flush runs on its own thread while
the store prepares that record; the record commits only once the flush is done.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from station import faults
from station.errors import IntegrityError, StationError, UsageError
from station.export import layout
from station.export.profile import BatchProfile
from station.export.record import BatchRecord, local_zone
from station.export.storedzip import StoredZip
from station.fsio import fsync_dir, owner_token, sync_filesystem, token_alive
from station.keys import StationKey, encode_signature

PARTIAL_MARK = ".station-partial"
# Two copy threads: one file creation in flight while the other reads, hashes and writes. More
# only queue on the upload folder's lock: with 4 the kernel spent 2–4× the system time creating
# the same 3,000 files (measured: sys 0.7–2.9 s with 4, 0.3–0.45 s with 2; wall no better).
WRITER_THREADS = 2
Progress = Callable[[int, int, str], None]
# on_commit(final, flushed): record the batch; ``flushed()`` returns once every byte of the batch
# is on disk (or raises why not) and must be called before the record commits.
OnCommit = Callable[[Path, Callable[[], None]], None]


class ExportCancelled(StationError):
    exit_code = 130


@dataclass
class WriteResult:
    path: Path
    zip_path: Path | None
    photos: int
    bytes: int
    manifest_sha256: str


def _write(path: str | Path, data: bytes, mtime: float) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.utime(fd, (mtime, mtime))
    finally:
        os.close(fd)


# ``.NAME.partial-<owner token>``: the writer's pid and start time (station.fsio.owner_token), so a
# reused pid is not taken for a live export; names with a bare pid come from older versions.
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?P<owner>\d+(?:_\d+)?)$")


def _writing_elsewhere(owner: str) -> bool:
    """Whether another live process is writing that partial folder (this process's own are
    leftovers of an earlier attempt: only one export at a time runs here)."""
    return owner not in (owner_token(), str(os.getpid())) and token_alive(owner)


def recover_partials(out: Path, is_recorded: Callable[[str], bool] | None = None) -> dict[str, list[str]]:
    """Clean up after interrupted exports in ``out``.

    A partial folder whose batch the store already recorded was complete on disk (the store is
    told only after the final flush): it is renamed into place. Anything else is removed. Folders
    of an export still running in another process are left alone.
    """
    result: dict[str, list[str]] = {"removed": [], "completed": []}
    if not out.is_dir():
        return result
    for entry in sorted(out.iterdir()):
        match = _PARTIAL.match(entry.name)
        if entry.is_file() and entry.name.startswith(".") and entry.name.endswith(".zip.partial"):
            entry.unlink(missing_ok=True)
            result["removed"].append(entry.name)
            continue
        if not match or not entry.is_dir() or _writing_elsewhere(match["owner"]):
            continue
        batch_id = _partial_batch_id(entry)
        final = out / match["name"]
        if (batch_id and is_recorded is not None and is_recorded(batch_id)
                and not (entry / PARTIAL_MARK).exists() and not final.exists()):
            os.rename(entry, final)
            fsync_dir(out)
            result["completed"].append(final.name)
        else:
            shutil.rmtree(entry, ignore_errors=True)
            result["removed"].append(entry.name)
    return result


def _partial_batch_id(folder: Path) -> str | None:
    for candidate in folder.glob("*.json"):
        try:
            doc = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("format") == layout.FORMAT:
            return doc.get("batch_id")
    return None


@dataclass
class _Early:
    csv: bytes
    items: layout.JsonLines


def _render_early(rows: list[dict[str, Any]], profile: BatchProfile) -> _Early | None:
    """The manifest CSV and the JSON manifest's items, rendered before the photos are written —
    unless the profile shows file sizes (a ``bytes`` column), known only once they are."""
    if any(column.field == "bytes" for column in profile.columns):
        return None
    return _Early(layout.manifest_csv(rows, profile), layout.manifest_items(rows, profile))


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ExportCancelled("exports.cancelled")


def write_batch(record: BatchRecord, profile: BatchProfile, out: Path, read_image: Callable[[str], bytes],
                key: StationKey, *, progress: Progress | None = None,
                cancel: threading.Event | None = None,
                on_commit: OnCommit | None = None,
                is_recorded: Callable[[str], bool] | None = None, throttle_s: float = 0,
                while_copying: Callable[[], None] | None = None) -> WriteResult:
    """Render ``record`` into ``out/<folder>`` or leave nothing.

    The folder holds the upload folder (photos only) and its zip, and beside them the manifest,
    the corrections list (if any), SHA256SUMS and the signature. ``while_copying`` runs on the
    caller's thread while the copy threads write the photos (e.g. rendering what ``on_commit``
    will record).
    """
    if record.empty:
        raise UsageError("exports.empty_batch")
    rows = layout.manifest_rows(record, profile)           # validates every name before any write
    fixes = layout.correction_rows(record, profile)
    name = layout.folder_name(record, profile)
    zip_name = layout.zip_name(record, profile)
    out = Path(out)
    out.mkdir(exist_ok=True)       # the last folder only: never a missing stick's mount point
    final = out / name
    recover_partials(out, is_recorded)
    if final.exists():
        raise UsageError("exports.batch_exists", path=str(final))
    tmp = out / f".{name}.partial-{owner_token()}"
    mtime = record.created_ms / 1000
    fix_photos = [f for f in fixes if f["file_name"]]
    total = len(rows) + len(fix_photos) + 4
    committed = False
    feeder: ZipFeeder | None = None
    try:
        tmp.mkdir(mode=0o700)
        (tmp / PARTIAL_MARK).touch()
        upload = tmp / profile.photos_folder
        upload.mkdir(mode=0o700)
        if zip_name is not None:
            feeder = ZipFeeder(tmp / zip_name, [r["file_name"] for r in rows], record)
        copy = PhotoCopy(rows, upload, read_image, mtime, cancel, throttle_s, feeder)
        try:
            if progress is not None:
                progress(0, total, "photos")        # the copy has started
            # While the threads copy: what needs no photo on disk (the CSV, the manifest's items).
            early = _render_early(rows, profile)
            if while_copying is not None:
                while_copying()
            total_bytes = copy.wait(progress, total)
        except BaseException:
            copy.stop()
            raise
        finally:
            copy.close()
        sums: dict[str, str] = {row["path"]: row["sha256"] for row in rows}   # each verified on write
        if fix_photos:
            corrections = tmp / profile.corrections_folder
            corrections.mkdir(mode=0o700)
            total_bytes += _copy_photos(fix_photos, corrections, read_image, mtime, total, progress, cancel, 0)
            sums.update({row["path"]: row["sha256"] for row in fix_photos})
        faults.point("export.photos_written")
        _check_cancel(cancel)
        files: dict[str, str | None] = {"zip": zip_name, "zip_sha256": None}
        if feeder is not None and zip_name is not None:
            files["zip_sha256"] = sums[zip_name] = feeder.finish()
            feeder = None
            if progress is not None:
                progress(len(rows) + len(fix_photos) + 1, total, "zip")
        extra: list[tuple[str, bytes]] = []
        csv_bytes = early.csv if early is not None else layout.manifest_csv(rows, profile)
        files["csv_sha256"] = hashlib.sha256(csv_bytes).hexdigest()
        extra.append((profile.csv_name, csv_bytes))
        if fixes:
            fixes_csv = layout.corrections_csv(fixes, profile)
            files.update(corrections_csv=profile.corrections_csv,
                         corrections_csv_sha256=hashlib.sha256(fixes_csv).hexdigest(),
                         corrections=profile.corrections_folder if fix_photos else None)
            extra.append((profile.corrections_csv, fixes_csv))
        json_bytes = layout.manifest_json(record, profile, rows, fixes, files, key.fingerprint(),
                                          items=early.items if early is not None else None)
        extra += [(profile.json_name, json_bytes),
                  (profile.signature_name, encode_signature(key.sign(json_bytes))),
                  (profile.public_key_name, key.public_pem())]
        for file_name, data in extra:
            _write(tmp / file_name, data, mtime)
            sums[file_name] = hashlib.sha256(data).hexdigest()
        _write(tmp / profile.checksums_name, layout.checksums(sums), mtime)
        if progress is not None:
            progress(total - 1, total, "manifest")
        (tmp / PARTIAL_MARK).unlink()
        photo_folders = [upload] + ([tmp / profile.corrections_folder] if fix_photos else [])
        for folder in (*photo_folders, tmp):        # the batch folder last: its children touch it
            os.utime(folder, (mtime, mtime))
        _check_cancel(cancel)
        flush = BackgroundFlush(tmp)       # one flush for every file, not a fsync each

        def flushed() -> None:
            flush.wait()
            _check_cancel(cancel)

        try:
            if on_commit is not None:
                on_commit(final, flushed)   # the store prepares the record while the flush runs
            flushed()
        finally:
            flush.join()
        committed = True
        faults.point("export.recorded")
        os.rename(tmp, final)
        fsync_dir(out)
    except BaseException:
        if feeder is not None:
            feeder.abort()
        if committed and tmp.exists():
            raise   # recorded and complete: the next export renames it into place
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if progress is not None:
        progress(total, total, "done")
    return WriteResult(final, final / zip_name if zip_name else None, len(rows), total_bytes,
                       hashlib.sha256(json_bytes).hexdigest())


class BackgroundFlush:
    """The batch's one flush (``syncfs``) on its own thread: it mostly waits for the disk, and
    meanwhile the store can prepare the batch's record (rows, seals) under its write lock."""

    def __init__(self, path: Path) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(path,), name="export-flush", daemon=True)
        self.thread.start()

    def _run(self, path: Path) -> None:
        try:
            sync_filesystem(path)
        except BaseException as exc:  # raised by wait() in the writer's thread
            self.error = exc

    def wait(self) -> None:
        """Return once every byte written before the flush started is on disk, or raise why not."""
        self.join()
        if self.error is not None:
            raise self.error

    def join(self) -> None:
        self.thread.join()


def _copy_photos(rows: list[dict[str, Any]], folder: Path, read_image: Callable[[str], bytes], mtime: float,
                 total: int, progress: Progress | None, cancel: threading.Event | None,
                 throttle_s: float, sink: ZipFeeder | None = None) -> int:
    """Copy every photo of ``rows`` (see PhotoCopy) and wait for the last one: the bytes written."""
    copy = PhotoCopy(rows, folder, read_image, mtime, cancel, throttle_s, sink)
    try:
        return copy.wait(progress, total)
    finally:
        copy.close()


class PhotoCopy:
    """Reads, verifies and writes every photo, each read once: its bytes are hashed, written and
    handed to ``sink`` (the upload zip's writer) with their CRC-32 from the same buffer.

    A few threads take the photos in batch order (one shared index, no task object per photo:
    3,000 futures would cost the main thread more than it saves); file creation and the hashes
    run outside the GIL, so the threads keep the disk and both cores busy while the caller's
    thread renders the manifest. ``wait`` reports progress, watches for a cancel or Ctrl-C and
    raises the first failure; the rest stop before the caller removes the folder. Rows are not
    touched by the threads (the caller may read them meanwhile): sizes are set by ``wait``.
    """

    def __init__(self, rows: list[dict[str, Any]], folder: Path, read_image: Callable[[str], bytes],
                 mtime: float, cancel: threading.Event | None, throttle_s: float,
                 sink: ZipFeeder | None) -> None:
        self.rows, self.folder, self.read_image, self.mtime = rows, folder, read_image, mtime
        self.prefix = os.path.join(folder, "")      # plain strings in the per-photo loop
        self.cancel, self.throttle_s, self.sink = cancel, throttle_s, sink
        self.sizes = [0] * len(rows)
        self.cond = threading.Condition()
        self.next = 0
        self.done = 0
        self.error: BaseException | None = None
        self.stopped = False
        self.threads = [threading.Thread(target=self._run, name=f"export-{n}", daemon=True)
                        for n in range(min(WRITER_THREADS, len(rows)))]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        while True:
            with self.cond:
                if self.stopped or self.next >= len(self.rows):
                    return
                index = self.next
                self.next += 1
            try:
                _check_cancel(self.cancel)
                self.sizes[index] = self._copy_one(index, self.rows[index])
            except BaseException as exc:  # handed to the waiting thread, which raises it
                with self.cond:
                    if self.error is None:
                        self.error = exc
                    self.stopped = True
                    self.cond.notify_all()
                return
            with self.cond:
                self.done += 1
                if self.done % 25 == 0 or self.done == len(self.rows):
                    self.cond.notify_all()

    def _copy_one(self, index: int, row: dict[str, Any]) -> int:
        data = self.read_image(row["sha256"])
        digest = hashlib.sha256(data).hexdigest()
        if digest != row["sha256"]:
            raise IntegrityError("exports.image_hash", capture=row["capture_id"], expected=row["sha256"],
                                 actual=digest)
        _write(self.prefix + row["file_name"], data, self.mtime)
        if self.sink is not None:
            self.sink.put(index, data, zlib.crc32(data))
        if self.throttle_s:
            time.sleep(self.throttle_s)
        return len(data)

    def wait(self, progress: Progress | None, total: int) -> int:
        """Wait for the last photo (progress every 25): the bytes written. Each row gets its
        ``bytes``. On a failure, a cancel or Ctrl-C the copy stops and the reason is raised."""
        try:
            seen = reported = 0
            while True:
                with self.cond:
                    if self.done == seen and not self._over():
                        self.cond.wait(0.2)      # wakes for a cancel even when no photo finishes
                    seen, over = self.done, self._over()
                if progress is not None and seen != reported and (seen - reported >= 25 or over):
                    progress(seen, total, "photos")
                    reported = seen
                _check_cancel(self.cancel)
                if over:
                    break
            if self.error is not None:
                raise self.error
        except BaseException:
            self.stop()
            raise
        for row, size in zip(self.rows, self.sizes, strict=True):
            row["bytes"] = size
        return sum(self.sizes)

    def _over(self) -> bool:
        return self.error is not None or self.done == len(self.rows)

    def stop(self) -> None:
        """End the copy early (idempotent): the threads finish the photo in hand, then stop; copy
        threads waiting for the zip are released first."""
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        if self.sink is not None:
            self.sink.abort()

    def close(self) -> None:
        """Wait for the threads to end (after ``wait`` or ``stop``)."""
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        for thread in self.threads:
            thread.join()


class ZipFeeder:
    """Writes the upload zip on its own thread while the photos are being copied.

    Photos arrive from the copy threads in any order (``put``); the zip takes them in batch order,
    so it is the same bytes every time. The copy threads run at most ``WINDOW`` photos ahead of
    the zip, which bounds the memory held for it.
    """

    WINDOW = 256

    def __init__(self, target: Path, names: list[str], record: BatchRecord) -> None:
        stamp = datetime.fromtimestamp(record.created_ms / 1000, tz=local_zone(record.utc_offset_hours))
        self.archive = StoredZip(target, (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute,
                                          stamp.second))
        self.target = target
        self.mtime = record.created_ms / 1000
        self.names = names
        self.ready: dict[int, tuple[bytes, int]] = {}
        self.next = 0
        self.cond = threading.Condition()
        self.stopped = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="export-zip", daemon=True)
        self.thread.start()

    def put(self, index: int, data: bytes, crc: int) -> None:
        with self.cond:
            while index > self.next + self.WINDOW and not self.stopped:
                self.cond.wait()
            if self.error is not None:
                raise self.error
            self.ready[index] = (data, crc)
            self.cond.notify_all()

    def _run(self) -> None:
        try:
            for index, name in enumerate(self.names):
                with self.cond:
                    while index not in self.ready and not self.stopped:
                        self.cond.wait()
                    if self.stopped:
                        return
                    data, crc = self.ready.pop(index)
                    self.next = index + 1
                    self.cond.notify_all()
                self.archive.add(name, data, crc)
        except BaseException as exc:  # reported to the copy threads and to finish()
            with self.cond:
                self.error, self.stopped = exc, True
                self.cond.notify_all()

    def finish(self) -> str:
        """Wait for the last photo; the zip's SHA-256."""
        self.thread.join()
        if self.error is not None:
            self.archive.abort()
            raise self.error
        digest = self.archive.close()
        os.utime(self.target, (self.mtime, self.mtime))
        return digest

    def abort(self) -> None:
        """Stop (idempotent): the zip thread ends, waiting copy threads go on, the file is closed."""
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        self.thread.join()
        self.archive.abort()
