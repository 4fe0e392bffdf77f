"""Writing a batch folder atomically: all in a hidden temporary folder, then one rename.

An interrupted export (Ctrl-C, a crash, SIGKILL, a full disk) leaves at most a hidden
``.NAME.partial-*`` folder that no one takes for a batch; the next export removes it. The store
records the batch (``on_commit``) after every byte is on disk and just before the rename, so a batch
folder that exists is always complete and always recorded.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import re
import shutil
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from station.errors import IntegrityError, StationError, UsageError
from station.export import layout
from station.export.profile import BatchProfile
from station.export.record import BatchRecord, local_zone
from station.fsio import fsync_dir
from station.keys import StationKey, encode_signature

PARTIAL_MARK = ".station-partial"
WRITER_THREADS = 4
Progress = Callable[[int, int, str], None]


class ExportCancelled(StationError):
    exit_code = 130


@dataclass
class WriteResult:
    path: Path
    zip_path: Path | None
    photos: int
    bytes: int
    manifest_sha256: str


def _syncfs(path: Path) -> None:
    """Flush the filesystem holding ``path`` once, instead of one fsync per photo."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


def _write(path: Path, data: bytes, mtime: float) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.utime(path, (mtime, mtime))


_PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?P<pid>\d+)$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        if not match or not entry.is_dir() or _alive(int(match["pid"])):
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


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ExportCancelled("exports.cancelled")


def write_batch(record: BatchRecord, profile: BatchProfile, out: Path, read_image: Callable[[str], bytes],
                key: StationKey, *, make_zip: bool = False, progress: Progress | None = None,
                cancel: threading.Event | None = None,
                on_commit: Callable[[Path], None] | None = None,
                is_recorded: Callable[[str], bool] | None = None, throttle_s: float = 0) -> WriteResult:
    """Render ``record`` into ``out/<folder>`` (and ``out/<folder>.zip``) or leave nothing."""
    if not record.items:
        raise UsageError("exports.empty_batch")
    rows = layout.manifest_rows(record, profile)           # validates every name before any write
    name = layout.folder_name(record, profile)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    final = out / name
    final_zip = out / f"{name}.zip" if make_zip else None
    recover_partials(out, is_recorded)
    if final.exists() or (final_zip is not None and final_zip.exists()):
        raise UsageError("exports.batch_exists", path=str(final))
    tmp = out / f".{name}.partial-{os.getpid()}"
    tmp_zip = out / f".{name}.zip.partial" if make_zip else None
    mtime = record.created_ms / 1000
    total = len(rows) + 4
    committed = False
    try:
        tmp.mkdir(mode=0o700)
        (tmp / PARTIAL_MARK).touch()
        photos_dir = tmp / profile.photos_folder if profile.photos_folder else tmp
        photos_dir.mkdir(mode=0o700, exist_ok=True)
        total_bytes = _copy_photos(rows, photos_dir, read_image, mtime, total, progress, cancel, throttle_s)
        sums: dict[str, str] = {row["path"]: row["sha256"] for row in rows}   # each verified on write
        _check_cancel(cancel)
        csv_bytes = layout.manifest_csv(rows, profile)
        csv_sha = hashlib.sha256(csv_bytes).hexdigest()
        json_bytes = layout.manifest_json(record, profile, rows, csv_sha, key.fingerprint())
        signature = encode_signature(key.sign(json_bytes))
        public = key.public_pem()
        for file_name, data in ((profile.csv_name, csv_bytes), (profile.json_name, json_bytes),
                                (profile.signature_name, signature), (profile.public_key_name, public)):
            _write(tmp / file_name, data, mtime)
            sums[file_name] = hashlib.sha256(data).hexdigest()
        _write(tmp / profile.checksums_name, layout.checksums(sums), mtime)
        if progress is not None:
            progress(len(rows) + 2, total, "manifest")
        if tmp_zip is not None:
            _check_cancel(cancel)
            write_zip(tmp, name, tmp_zip, record)
            if progress is not None:
                progress(len(rows) + 3, total, "zip")
        (tmp / PARTIAL_MARK).unlink()
        for folder in (photos_dir, tmp):
            os.utime(folder, (mtime, mtime))
        _syncfs(tmp)
        _check_cancel(cancel)
        if on_commit is not None:
            on_commit(final)
        committed = True
        os.rename(tmp, final)
        if tmp_zip is not None and final_zip is not None:
            os.rename(tmp_zip, final_zip)
        fsync_dir(out)
    except BaseException:
        if committed and tmp.exists():
            raise   # recorded and complete: the next export renames it into place
        shutil.rmtree(tmp, ignore_errors=True)
        if tmp_zip is not None:
            with contextlib.suppress(OSError):
                tmp_zip.unlink()
        raise
    if progress is not None:
        progress(total, total, "done")
    return WriteResult(final, final_zip, len(rows), total_bytes, hashlib.sha256(json_bytes).hexdigest())


def _copy_photos(rows: list[dict[str, Any]], folder: Path, read_image: Callable[[str], bytes], mtime: float,
                 total: int, progress: Progress | None, cancel: threading.Event | None,
                 throttle_s: float) -> int:
    """Read, verify and write every photo; a few threads overlap the file system's per-file cost.

    File creation dominates (not hashing): threads keep the disk busy while Python waits. The
    first failure, a cancel or Ctrl-C stops the rest before the caller removes the folder.
    """
    stop = threading.Event()

    def copy_one(row: dict[str, Any]) -> int:
        if stop.is_set():
            return 0
        _check_cancel(cancel)
        data = read_image(row["sha256"])
        digest = hashlib.sha256(data).hexdigest()
        if digest != row["sha256"]:
            raise IntegrityError("exports.image_hash", capture=row["capture_id"], expected=row["sha256"],
                                 actual=digest)
        _write(folder / row["file_name"], data, mtime)
        row["bytes"] = len(data)
        if throttle_s:
            time.sleep(throttle_s)
        return len(data)

    written = 0
    pool = ThreadPoolExecutor(max_workers=WRITER_THREADS, thread_name_prefix="export")
    try:
        futures = [pool.submit(copy_one, row) for row in rows]
        for done, future in enumerate(as_completed(futures), start=1):
            written += future.result()
            _check_cancel(cancel)
            if progress is not None and (done % 25 == 0 or done == len(rows)):
                progress(done, total, "photos")
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
    return written


def write_zip(folder: Path, name: str, target: Path, record: BatchRecord) -> None:
    """A zip whose bytes depend only on the files: sorted entries, fixed times and modes."""
    stamp = datetime.fromtimestamp(record.created_ms / 1000, tz=local_zone(record.utc_offset_hours))
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != PARTIAL_MARK)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
        for path in files:
            rel = path.relative_to(folder).as_posix()
            info = zipfile.ZipInfo(f"{name}/{rel}", date_time=date_time)
            info.create_system = 3
            info.external_attr = (0o100644 << 16)
            info.compress_type = zipfile.ZIP_STORED if rel.endswith(".jpg") else zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
        fh.flush()
        os.fsync(fh.fileno())
