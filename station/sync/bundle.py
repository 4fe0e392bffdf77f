"""A station bundle: this station's own facts and the images they reference, signed (sync.md §4).

Only rows this station recorded travel (rows merged from elsewhere came signed by their own
station and go to a master from there); operators and enrolled keys never leave the station.
The database is copied with ``VACUUM INTO`` (a consistent snapshot while the desk writes), pruned
and compacted — all inside the data folder's private scratch space, never next to the bundle — and
zipped with every referenced image (verified while copied). ``bundle.json`` lists the row counts
and row digests per table and the SHA-256 of every member, and is signed with the station key.
The finished zip is copied to the target as a hidden partial file and renamed, so a half-written
bundle never exists under its name; a partial left by a killed run is removed by the next one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station import faults
from station.errors import IntegrityError, NotFoundError
from station.fsio import fsync_dir
from station.keys import encode_signature, ensure_station_key
from station.store import campaign, union
from station.store.scratch import private_file, process_alive, scratch_dir
from station.store.seals import require_sound
from station.sync.archive import BLOCK, DB_MEMBER, IMAGE_PREFIX, MANIFEST, SIGNATURE, file_sha256
from station.sync.digest import table_digest
from station.sync.manifest import Manifest

if TYPE_CHECKING:
    from station.store.core import Store

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
PARTIAL = ".partial-"
_LEGACY_TEMP = re.compile(r"^\.bundle-[a-z0-9_]+$")


@dataclass
class BundleResult:
    path: Path
    station_id: str
    rows: dict[str, int]
    images: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "station_id": self.station_id, "rows": self.rows,
                "images": self.images, "sha256": self.sha256}


def sweep_target(folder: Path) -> list[Path]:
    """Remove partial bundles of killed runs (and the old layout's database copies) in ``folder``."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        name = entry.name
        if name.startswith(".") and PARTIAL in name and entry.is_file():
            owner = name.rsplit(PARTIAL, 1)[1]
            if not (owner.isdigit() and process_alive(int(owner))):
                entry.unlink(missing_ok=True)
                removed.append(entry)
        elif (_LEGACY_TEMP.match(name) and entry.is_dir() and not entry.is_symlink()
              and {p.name for p in entry.iterdir()} <= {DB_MEMBER, "bundle.zip"}):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _copy_image(store: Store, sha: str, zf: zipfile.ZipFile) -> None:
    """Add one stored image, verifying on the way that its bytes still hash to its name."""
    path = store.images.path(sha)
    info = zipfile.ZipInfo(IMAGE_PREFIX + sha, ZIP_TIME)
    h = hashlib.sha256()
    try:
        src = path.open("rb")
    except FileNotFoundError:
        raise NotFoundError("store.image_missing", sha=sha) from None
    with src, zf.open(info, "w") as dst:
        for block in iter(lambda: src.read(BLOCK), b""):
            h.update(block)
            dst.write(block)
    if h.hexdigest() != sha:
        raise IntegrityError("store.image_altered", sha=sha)


def _add_file(zf: zipfile.ZipFile, name: str, path: Path, compress: int) -> None:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = compress
    size = path.stat().st_size
    with path.open("rb") as src, zf.open(info, "w", force_zip64=size > (1 << 30)) as dst:
        shutil.copyfileobj(src, dst, BLOCK)


def _describe(db: Path, station_id: str) -> tuple[dict[str, int], dict[str, str], list[str], str, int]:
    """Counts, row digests, referenced images, newest clock and schema version of the snapshot."""
    rows = union.SqliteRows(db)
    try:
        counts: dict[str, int] = {}
        digests: dict[str, str] = {}
        tables = union.merged_tables(rows.conn)
        for table in tables:
            digests[table], counts[table] = table_digest(table, rows.columns(table), rows.rows(table))
        shas = sorted(union.image_references(rows.conn))
        return counts, digests, shas, union.max_hlc(rows.conn, tables), rows.schema_version()
    finally:
        rows.close()


def create_bundle(store: Store, out: Path, operator: str | None = None) -> BundleResult:
    out = Path(out)
    out.parent.mkdir(exist_ok=True)      # the last folder only: never a missing stick's mount point
    sweep_target(out.parent)
    station_id = store.station_id or ""
    require_sound(store)  # the station key must not vouch for rows changed behind its back
    key = ensure_station_key(store.data_dir)
    with scratch_dir(store.data_dir, "bundle") as tmp:
        # Audited before the snapshot, so the bundle holds exactly what the station holds.
        store.audit.append(operator, "bundle", station_id, {"file": out.name})
        full = private_file(tmp / "snapshot.sqlite3")
        union.snapshot_into(store.conn, full)
        faults.point("bundle.snapshot")
        union.prune_to_station(full, station_id)
        db = private_file(tmp / DB_MEMBER)
        union.compact_into(full, db)
        full.unlink()
        counts, digests, shas, top, version = _describe(db, station_id)
        members = {DB_MEMBER: file_sha256(db)}
        members.update({IMAGE_PREFIX + sha: sha for sha in shas})
        manifest = Manifest(station_id=station_id, schema_version=version, rows=counts,
                            row_digests=digests, members=members, max_hlc=top,
                            signing_key=key.fingerprint(), school_code=store.meta("school_code"),
                            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                            campaign=campaign.current(store))
        body = manifest.to_bytes()
        built = private_file(tmp / "bundle.zip")
        with zipfile.ZipFile(built, "w") as zf:
            _add_file(zf, DB_MEMBER, db, zipfile.ZIP_DEFLATED)
            for sha in shas:
                _copy_image(store, sha, zf)
            zf.writestr(zipfile.ZipInfo(MANIFEST, ZIP_TIME), body)
            zf.writestr(zipfile.ZipInfo(SIGNATURE, ZIP_TIME), encode_signature(key.sign(body)))
        digest = _publish(built, out)
    return BundleResult(out, station_id, counts, len(shas), digest)


def _publish(built: Path, out: Path) -> str:
    """Copy the finished bundle to ``out`` (a hidden partial file, fsync, rename); its SHA-256."""
    partial = out.parent / f".{out.name}{PARTIAL}{os.getpid()}"
    h = hashlib.sha256()
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as dst, built.open("rb") as src:
            for block in iter(lambda: src.read(BLOCK), b""):
                h.update(block)
                dst.write(block)
            dst.flush()
            os.fsync(dst.fileno())
        faults.point("bundle.publish")
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fsync_dir(out.parent)
    return h.hexdigest()
