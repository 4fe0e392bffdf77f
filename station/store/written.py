"""What the station wrote outside its data folder, so that a purge can remove exactly that.

Batch folders (photos, manifests, the upload zip), the masked report beside each, print sheets,
daily reports (the missing students' names and student numbers) and bundles hold personal data wherever the operator pointed ``--out`` (a USB stick, a share).
Each is recorded in ``written_paths`` (this station's own bookkeeping: never merged, never
bundled) when it is finished: its absolute path, its kind, whom it holds (``covers``: capture ids,
photo hashes, or everyone) and the size and modification time of every file the station put
there (a folder's file names keyed with the seal key: a batch's photos are named by ID number).
That record is the manifest a purge goes by; nothing is written into the folders themselves (a
batch folder must hold only what ``export verify`` expects).

A purge records its intent in its own transaction (``purge_id`` on every item whose people are all
purged) and only then removes files, one item at a time, each outcome stored as it is reached: a
power loss leaves items still marked for removal, and the next ``station purge`` (with or without
people left to purge) carries on. An item is left alone, and reported, when its path is now a
symlink or resolves somewhere else, when a file was changed since the station wrote it (size or
time), when a file in the folder was not written by the station (the folder then stays with it),
or when its folder cannot be reached (a USB stick not mounted: the item stays marked and is tried
again by the next purge). Every removal run is an audit entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station import faults
from station.privacy import scrub
from station.store.clock import now_ms

if TYPE_CHECKING:
    from station.store.core import Store

BATCH, REPORT, SHEETS, BUNDLE = "batch", "batch_report", "print_sheets", "bundle"
DAILY = "daily_report"      # `report daily --out`: the missing students' names and numbers
# outcomes of one item's removal
REMOVED, UNREACHABLE, SYMLINK, MOVED, CHANGED, FOREIGN = (
    "removed", "unreachable", "symlink", "moved", "changed", "foreign")
DONE = frozenset({REMOVED, FOREIGN})   # nothing the station wrote is left


def _stat(path: Path) -> list[int]:
    st = path.lstat()
    return [st.st_size, st.st_mtime_ns]


def _keyed(key: bytes, rel: str) -> str:
    """A file's name inside a recorded folder, as recorded: keyed, since a batch's photos are named
    by ID number and this record outlives the purge."""
    return hmac.new(key, b"written/" + rel.encode("utf-8", "surrogateescape"),
                    hashlib.sha256).hexdigest()[:32]


def _key(store: Store) -> bytes:
    key = store.seals.load_key()
    return key if key is not None else (store.station_id or "station").encode()


def record(store: Store, kind: str, path: Path, *, captures: list[str] | None = None,
           images: list[str] | None = None) -> None:
    """Remember ``path`` (a file, or a folder and every regular file in it now) as written by the
    station, holding the people of ``captures`` or ``images`` (neither: everyone)."""
    path = Path(os.path.realpath(path))
    if path.is_dir():
        key = _key(store)
        files = {_keyed(key, p.relative_to(path).as_posix()): _stat(p) for p in sorted(path.rglob("*"))
                 if p.is_file() and not p.is_symlink()}
    elif path.is_file():
        files = {"": _stat(path)}
    else:
        return
    covers: dict[str, Any] = ({"captures": sorted(captures)} if captures is not None
                              else {"images": sorted(images)} if images is not None else {"all": True})
    with store.transaction():
        store.conn.execute(
            "INSERT INTO written_paths (path, kind, covers, files, recorded_ms) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET kind = excluded.kind, covers = excluded.covers, "
            "files = excluded.files, recorded_ms = excluded.recorded_ms, purge_id = NULL, "
            "removed_ms = NULL, outcome = NULL",
            (str(path), kind, json.dumps(covers, sort_keys=True), json.dumps(files, sort_keys=True),
             now_ms()))


def _people(store: Store, covers: dict[str, Any]) -> set[str] | None:
    """The ID numbers an item holds; None: everyone."""
    conn = store.conn
    if "captures" in covers:
        ids = list(covers["captures"])
        return {r[0] for chunk in _chunks(ids) for r in conn.execute(
            f"SELECT id_number FROM captures WHERE id IN ({','.join('?' * len(chunk))})", chunk)}
    if "images" in covers:
        shas = list(covers["images"])
        return {r[0] for chunk in _chunks(shas) for r in conn.execute(
            f"SELECT id_number FROM captures WHERE image_sha256 IN ({','.join('?' * len(chunk))}) "
            f"OR json_extract(camera, '$.crop_sha256') IN ({','.join('?' * len(chunk))})",
            [*chunk, *chunk])}
    return None


def _chunks(values: list[str], size: int = 400) -> list[list[str]]:
    return [values[i:i + size] for i in range(0, len(values), size)] or [[]]


def mark_for_purge(store: Store, scope: set[str], everyone: set[str], purge_id: str) -> int:
    """Inside the purge's transaction, before masking: every item not yet removed whose people are
    all purged (``scope``, or purged before: a pseudonym) is marked with ``purge_id``; an item
    holding everyone only when nobody in ``everyone`` is left unpurged. Returns how many."""
    marked = 0
    rest = {n for n in everyone if n not in scope and "#" not in n}
    for path, covers in store.conn.execute(
            "SELECT path, covers FROM written_paths WHERE purge_id IS NULL AND removed_ms IS NULL"
            ).fetchall():
        try:
            held = _people(store, json.loads(covers or "{}"))
        except ValueError:
            continue
        due = not rest if held is None else all(n in scope or "#" in n for n in held)
        if due:
            store.conn.execute("UPDATE written_paths SET purge_id = ? WHERE path = ?", (purge_id, path))
            marked += 1
    return marked


@dataclass
class Outcome:
    path: str
    kind: str
    status: str
    left: list[str] = field(default_factory=list)    # files left in place (changed or foreign)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "status": self.status, "left": self.left[:20]}


def _inside(root: Path, candidate: Path) -> bool:
    real = os.path.realpath(candidate)
    return real == str(root) or real.startswith(str(root) + os.sep)


def _remove_one(path: Path, files: dict[str, list[int]], key: bytes) -> Outcome:
    if os.path.islink(path):
        return Outcome(str(path), "", SYMLINK)
    if not os.path.lexists(path):
        # the folder it was written to is gone too: not mounted (a USB stick), try again later
        return Outcome(str(path), "", REMOVED if path.parent.is_dir() else UNREACHABLE)
    if os.path.realpath(path) != str(path):
        return Outcome(str(path), "", MOVED)              # a parent became a symlink elsewhere
    if list(files) == [""]:                                # a single file
        if not path.is_file() or _stat(path) != files[""]:
            return Outcome(str(path), "", CHANGED, [path.name])
        path.unlink()
        return Outcome(str(path), "", REMOVED)
    if not path.is_dir():
        return Outcome(str(path), "", CHANGED, [path.name])
    left: list[str] = []
    foreign: list[str] = []
    # rglob does not descend into symlinked folders; a symlink itself is never the station's
    for target in sorted(path.rglob("*")):
        if target.is_dir() and not target.is_symlink():
            continue
        rel = target.relative_to(path).as_posix()
        stat = files.get(_keyed(key, rel))
        if stat is None or target.is_symlink() or not _inside(path, target):
            foreign.append(rel)
        elif not target.is_file() or _stat(target) != stat:
            left.append(rel)
        else:
            target.unlink()
    for folder in sorted((p for p in path.rglob("*") if p.is_dir() and not p.is_symlink()),
                         key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not any(path.iterdir()):
        path.rmdir()
    if left:
        return Outcome(str(path), "", CHANGED, left + foreign)
    return Outcome(str(path), "", FOREIGN if foreign else REMOVED, foreign)


def remove_marked(store: Store, operator: str | None) -> list[Outcome]:
    """Remove what purges marked and is not removed yet (idempotent: a re-run carries on). Each
    item's outcome is stored as soon as it is reached; the run is one audit entry."""
    rows = store.conn.execute(
        "SELECT path, kind, files FROM written_paths WHERE purge_id IS NOT NULL AND removed_ms IS NULL "
        "ORDER BY recorded_ms, path").fetchall()
    outcomes: list[Outcome] = []
    key = _key(store)
    for path, kind, files in rows:
        try:
            listed = json.loads(files or "{}")
        except ValueError:
            listed = {}
        try:
            out = _remove_one(Path(path), listed, key)
        except OSError as exc:
            out = Outcome(str(path), kind, UNREACHABLE, [type(exc).__name__])
        out.kind = kind
        out.left = [scrub(name) for name in out.left]      # photos are named by ID number
        outcomes.append(out)
        faults.point("purge.file_removed")    # crash tests: removed, its outcome not stored yet
        with store.transaction():
            store.conn.execute(
                "UPDATE written_paths SET outcome = ?, removed_ms = ?, files = CASE WHEN ? THEN '{}' "
                "ELSE files END WHERE path = ?",
                (out.status, now_ms() if out.status in DONE else None, out.status in DONE, path))
    if outcomes:
        with store.transaction():
            store.audit.append(operator, "purge.files", None, {
                "outcomes": [o.to_json() for o in outcomes],
                "removed": sum(o.status in DONE for o in outcomes),
                "left": sum(o.status not in DONE for o in outcomes)})
    return outcomes


def pending(store: Store) -> list[tuple[str, str, str | None]]:
    """Items marked for removal and not removed: (path, kind, last outcome)."""
    return [(r[0], r[1], r[2]) for r in store.conn.execute(
        "SELECT path, kind, outcome FROM written_paths WHERE purge_id IS NOT NULL AND removed_ms IS NULL "
        "ORDER BY recorded_ms, path")]


def hub_copies(store: Store) -> dict[str, Any]:
    """The hubs this station pushed its records to (``hub.push`` audit entries name them) and
    whether it pulled from one: their copies are the hub's, not files a purge here can remove."""
    conn = store.conn
    pushed = sorted({str(r[0]) for r in conn.execute(
        "SELECT DISTINCT subject FROM audit WHERE action = 'hub.push' AND subject IS NOT NULL")})
    pulled = conn.execute("SELECT 1 FROM audit WHERE action = 'merge.hub' LIMIT 1").fetchone() is not None
    return {"pushed_to": pushed, "pulled": pulled}
