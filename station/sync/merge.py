"""Merging station bundles into the supervisor's store (sync.md §5–6): checked, then union by key.

A bundle is merged only when everything holds; otherwise it is refused whole, in words, and the
store is untouched (``BundleRefused``, exit 2):

1. the zip is read within limits (``station.sync.archive``), the manifest is signed by the key
   enrolled for the station it names, which is not this station, and is of the campaign that
   enrolment is pinned to — not a bundle of an earlier season (``verify_manifest``);
2. the members are exactly those listed, each streamed to private scratch space and hashed;
   every image's bytes hash to its name (``verify_image``);
3. the database is SQLite, not newer than ours, and every row of every table carries the
   manifest's station id, with the signed counts and digests (``verify_rows``); every image the
   rows refer to is in the bundle or already here;
4. then images are adopted and, in one transaction, each table is united by key. A row whose key
   is already here with other content is kept aside (``merge_clashes``: a conflict to decide,
   nothing overwritten); a new row reusing a (station, sequence) already taken means the station's
   store was re-created or altered, and the whole bundle is refused rather than dropping rows.

Re-merging the same bundle file changes nothing.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station import faults, reasons
from station.errors import NotFoundError
from station.fsio import sync_filesystem
from station.store import clock, union
from station.store import trust as trust_table
from station.store.scratch import scratch_dir
from station.sync.archive import (
    DB_MEMBER,
    DEFAULT_LIMITS,
    MANIFEST,
    SIGNATURE,
    BundleArchive,
    Limits,
    file_sha256,
)
from station.sync.errors import BundleRefused
from station.sync.manifest import Manifest
from station.sync.trust import TrustService
from station.sync.verify import (
    Trust,
    pin_campaign_of,
    verify_image,
    verify_manifest,
    verify_objects,
    verify_rows,
    verify_student_numbers,
)

if TYPE_CHECKING:
    from station.store.core import Store

# A station clock further ahead than this is reported, the master's clock does not follow it, and
# the rows stamped beyond it wait (``union.union_table``) instead of outranking everything here.
MAX_CLOCK_LEAD_MS = 24 * 3600 * 1000


@dataclass
class MergeResult:
    bundle: str
    sha256: str
    station_id: str = ""
    already_imported: bool = False
    added: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    pending: int = 0                              # rows waiting for a parent from another bundle
    released: dict[str, int] = field(default_factory=dict)   # earlier waiting rows now merged
    clashes: int = 0                              # rows whose key was taken by other content
    images_added: int = 0
    clock_lead_hours: float = 0.0                 # how far the station's clock is ahead of ours
    ahead: int = 0                                # rows held back: stamped beyond the allowed lead

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "sha256": self.sha256, "station_id": self.station_id,
                "already_imported": self.already_imported, "added": self.added,
                "unchanged": self.unchanged, "pending": self.pending, "released": self.released,
                "clashes": self.clashes, "images_added": self.images_added,
                "clock_lead_hours": self.clock_lead_hours, "ahead": self.ahead}


def merge_bundle(store: Store, path: Path, operator: str | None = None, *,
                 trust: Trust | None = None, limits: Limits = DEFAULT_LIMITS) -> MergeResult:
    path = Path(path)
    source = str(path)
    try:
        if not stat.S_ISREG(path.stat().st_mode):      # a folder, /dev/zero, a pipe: never read on
            raise BundleRefused("not_a_file", source)
        digest = file_sha256(path)
    except FileNotFoundError:
        raise NotFoundError("common.file_missing", path=source) from None
    except OSError as exc:
        raise BundleRefused("unreadable", source, detail=reasons.of_os(exc)) from None
    result = MergeResult(source, digest)
    if union.bundle_imported(store.conn, digest, store.station_id):
        result.already_imported = True
        return result
    trust = trust if trust is not None else TrustService(store)
    with scratch_dir(store.data_dir, "merge") as tmp, BundleArchive(path, limits) as archive:
        manifest = verify_manifest(archive.read_small(MANIFEST), archive.read_small(SIGNATURE),
                                   trust, store.station_id, source)
        result.station_id = manifest.station_id
        archive.check_names(set(manifest.members))
        archive.check_room(store.data_dir)
        db = tmp / DB_MEMBER
        if archive.extract(DB_MEMBER, db) != manifest.members[DB_MEMBER]:
            raise BundleRefused("checksum", source, DB_MEMBER)
        staged = tmp / "images"
        staged.mkdir(mode=0o700)
        for sha, member in sorted(manifest.images.items()):
            verify_image(manifest, sha, archive.extract(member, staged / sha), source)
        _check_database(store, db, manifest, source)
        faults.point("merge.staged")
        apply_verified(store, db, staged, manifest, path.name, operator, result, source)
    return result


def _check_database(store: Store, db: Path, manifest: Manifest, source: str) -> None:
    """Step 3: a SQLite file of the manifest's station only, then brought to our schema."""
    try:
        rows = union.SqliteRows(db)
        try:
            problem = rows.quick_check()
            if problem != "ok":
                raise BundleRefused("damaged_database", source, DB_MEMBER, detail=problem)
            verify_rows(manifest, rows, source)
            verify_objects(rows.unexpected_objects(), source, DB_MEMBER)
        finally:
            rows.close()
        check_staged(store, db, manifest, source)
    except sqlite3.DatabaseError as exc:
        reason = "not_sqlite" if "not a database" in str(exc) else "damaged_database"
        raise BundleRefused(reason, source, DB_MEMBER, detail=str(exc)[:200]) from None
    except ValueError as exc:          # a table or column name no station writes
        raise BundleRefused("damaged_database", source, DB_MEMBER, detail=str(exc)[:200]) from None


def check_staged(store: Store, db: Path, manifest: Manifest, source: str) -> None:
    """Every image the verified rows in ``db`` refer to is the manifest's or already here, and
    every student number they leave a person with is usable; then the file is brought to our schema. Raises ``sqlite3.DatabaseError``/``ValueError`` on a damaged
    file (the caller words them)."""
    rows = union.SqliteRows(db)
    try:
        missing = sorted(sha for sha in union.image_references(rows.conn)
                         if sha not in manifest.images and not _have_image(store, sha))
        verify_student_numbers(union.student_number_facts(rows.conn),
                               union.student_number_facts(store.conn), source, DB_MEMBER)
    finally:
        rows.close()
    if missing:
        raise BundleRefused("missing_image", source, sha=missing[0][:64], count=len(missing))
    from station.store.migrations import migrate

    conn = union.open_private(db)
    try:
        migrate(conn)
    finally:
        conn.close()


def apply_verified(store: Store, db: Path, staged_images: Path, manifest: Manifest, name: str,
                   operator: str | None, result: MergeResult, source: str,
                   kind: str = "bundle") -> None:
    """Steps 4 (sync.md §5), shared by every road another station's data takes — a bundle, or a
    push pulled from the PostgreSQL hub (``station.hub.pull``, ``kind="hub"``): ``db`` is a SQLite
    file of the manifest's station whose rows were verified against the signed manifest and brought
    to our schema (``check_staged``), ``staged_images`` holds its verified images. Refusals come
    before anything is written; then images are adopted and the tables united in one transaction,
    recorded in the import log under ``result.sha256`` (so doing it again changes nothing)."""
    lead = _clock_lead(manifest, source)
    result.clock_lead_hours = round(lead / 3_600_000, 1) if lead > MAX_CLOCK_LEAD_MS else 0.0
    with union.attached(store.conn, db):
        _refuse_sequence_clash(store, manifest, source)
    result.images_added = _adopt_images(store, staged_images)
    faults.point("merge.adopted")
    _apply(store, db, manifest, name, operator, result, kind)


def _have_image(store: Store, sha: str) -> bool:
    try:
        return bool(store.images.verify(sha))
    except NotFoundError:                     # not even a SHA-256
        return False


def _clock_lead(manifest: Manifest, source: str) -> int:
    """Milliseconds by which the station's newest stamp is ahead of our wall clock (0 if not)."""
    if not manifest.max_hlc:
        return 0
    try:
        remote = clock.HLC.decode(manifest.max_hlc)
    except ValueError:
        raise BundleRefused("manifest_field", source, "bundle.json", field="max_hlc",
                            problem=_words("not_clock")) from None
    return max(0, remote.wall_ms - clock.now_ms())


def _words(problem: str) -> Any:
    from station.i18n import Words

    return Words((f"sync.problem.{problem}",))


def _adopt_images(store: Store, staged: Path) -> int:
    """Move verified images from scratch into the image store (same file system: a rename), then
    make their bytes and names durable at once, before any row that refers to them is committed."""
    added = 0
    for path in sorted(staged.iterdir()):
        sha = path.name
        if _have_image(store, sha):
            continue
        target = store.images.path(sha)
        for folder in (store.images.root, target.parent):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)
        os.replace(path, target)
        added += 1
    if added:
        sync_filesystem(store.images.root)
    return added


def _tables(store: Store) -> list[str]:
    """Tables of the attached bundle that this store merges, parents first."""
    ours = set(union.merged_tables(store.conn))
    return [t for t in union.merged_tables(store.conn, union.BUNDLE_SCHEMA) if t in ours]


def _record_clash(store: Store, table: str, row: dict[str, Any], digest: str) -> int:
    """Keep a version set aside for its key (the smaller one, ``union.version_order``), in the
    name of the station whose row it is; 1 if it was not recorded before."""
    text = union.encode_row(row)
    if union.clash_recorded(store.conn, table, str(row["id"]), text, store.station_id):
        return 0
    store.insert("merge_clashes", {"target_table": table, "target_id": row["id"],
                                   "origin_station": str(row.get("station_id") or ""),
                                   "bundle_sha256": digest, "theirs": text})
    return 1


def _refuse_sequence_clash(store: Store, manifest: Manifest, source: str) -> None:
    """A new row taking a (station, sequence) already used: the station's store was re-created or
    altered. Inserting would drop rows, so the whole bundle is refused."""
    for table in _tables(store):
        clash = union.sequence_clash(store.conn, table)
        if clash is not None:
            raise BundleRefused("sequence_clash", source, station=manifest.station_id, table=table,
                                seq=clash[0])


def _apply(store: Store, db: Path, manifest: Manifest, file_name: str, operator: str | None,
           result: MergeResult, kind: str) -> None:
    conn = store.conn
    digest = result.sha256
    # Rows stamped further ahead of our clock than the allowed lead wait (they would outrank
    # every later fact here, a supervisor's decision included) until our clock catches up.
    not_after = clock.now_ms() + MAX_CLOCK_LEAD_MS
    with union.attached(conn, db), store.transaction():
        if union.bundle_imported(conn, digest, store.station_id, kind):       # another merge of the same file won the race
            result.already_imported = True
            return
        _refuse_sequence_clash(store, manifest, result.bundle)   # again: another merge may have run
        for table in _tables(store):
            done = union.union_table(conn, table, digest, not_after)
            # the bundle's signature vouched for these bytes; the master's seal now covers them
            present = union.present_ids(conn, table, done.added_ids)
            store.seals.seal(table, present)
            if done.added:
                result.added[table] = done.added
            result.unchanged += done.unchanged
            result.pending += done.pending
            result.ahead += done.ahead
            for theirs in done.clashes:
                result.clashes += _record_clash(store, table, theirs, digest)
        released = union.release_pending(conn, not_after)
        result.released = released.counts
        for table, row_id in released.inserted:
            store.seals.seal(table, [row_id])
        if released.replaced:
            store.seals.reseal(released.replaced)     # the greater version of a clashing key
        for table, row in released.clashes:
            result.clashes += _record_clash(store, table, row, digest)
        if manifest.max_hlc and not result.clock_lead_hours:
            store.observe(manifest.max_hlc)
        campaign = pin_campaign_of(manifest, trust_table.by_station(store, manifest.station_id))
        if campaign is not None:          # enrolled before campaigns: from now on, this one only
            trust_table.pin_campaign(store, manifest.station_id, campaign)
            store.audit.append(operator, "trust.campaign", manifest.station_id,
                               {"campaign": campaign, "from": kind})
        store.insert("imports", {"kind": kind, "file_name": file_name, "file_sha256": digest,
                                 "rows": sum(manifest.rows.values()),
                                 "added": sum(result.added.values()), "updated": 0,
                                 "unchanged": result.unchanged, "operator": operator})
        store.audit.append(operator, "merge" if kind == "bundle" else f"merge.{kind}",
                           manifest.station_id, {"bundle": digest, "added": result.added, "pending": result.pending,
                            "clashes": result.clashes, "images": result.images_added})
        faults.point("merge.applied")
