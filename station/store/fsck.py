"""Store integrity: SQLite's own check, the keyed seals, images of every kind, leftovers, modes.

Findings are errors (the store is not sound: exit 1), warnings (something to fix: exit 1) or
notices (what a running process may be doing right now, e.g. an image stored a moment before its
capture is recorded: exit 0). fsck changes nothing; it opens the store read-only, so it also works
on a read-only medium.
"""

from __future__ import annotations

import sqlite3
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.i18n import Words, both

if TYPE_CHECKING:
    from station.store.core import Store

MAX_SQLITE_LINES = 20


@dataclass(frozen=True)
class Finding:
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    severity: str = "error"  # "error", "warning" or "notice"

    @property
    def fails(self) -> bool:
        return self.severity != "notice"

    def to_json(self) -> dict[str, Any]:
        words = dict(self.params)
        if "kind" in words:  # "capture"/"crop" in the message's own language
            words["kind"] = Words((f"fsck.kind.{words['kind']}",))
        zh, en = both(f"fsck.{self.code}", **words)
        return {"code": self.code, "severity": self.severity, **self.params,
                "message_zh": zh, "message_en": en}


def corrupt(path: Path, detail: str) -> list[Finding]:
    """The findings for a database SQLite cannot even open."""
    return [Finding("not_a_database", {"path": str(path), "detail": detail})]


def fsck(store: Store) -> list[Finding]:
    findings = _sqlite_findings(store)
    if any(f.code == "sqlite" for f in findings):
        # A damaged file can answer anything; what follows would be noise or would crash.
        return findings
    findings += _image_findings(store)
    findings += _seal_findings(store)
    findings += _export_index_findings(store)
    findings += _audit_findings(store)
    findings += _leftover_findings(store)
    findings += _mode_findings(store)
    return findings


def _sqlite_findings(store: Store) -> list[Finding]:
    out = []
    try:
        lines = [r[0] for r in store.conn.execute(f"PRAGMA integrity_check({MAX_SQLITE_LINES})")]
        if lines != ["ok"]:
            out += [Finding("sqlite", {"detail": line}) for line in lines]
            return out
        for r in store.conn.execute("PRAGMA foreign_key_check"):
            out.append(Finding("foreign_key", {"table": r[0], "rowid": r[1], "parent": r[2]}))
    except sqlite3.DatabaseError as exc:
        out.append(Finding("sqlite", {"detail": str(exc)}))
    return out


def _image_findings(store: Store) -> list[Finding]:
    from station.store.images import image_references, orphans
    from station.store.purge import purged_images

    out = []
    checked: dict[str, bool | None] = {}
    purged = purged_images(store)
    for sha in sorted(purged):
        if store.images.exists(sha):
            out.append(Finding("purged_image_present", {"sha": sha}, "warning"))
    for ref in image_references(store.conn):
        if ref.sha in purged:
            continue
        if ref.sha not in checked:
            checked[ref.sha] = (store.images.verify(ref.sha) if store.images.exists(ref.sha)
                                else None)
        ok = checked[ref.sha]
        if ok is None:
            out.append(Finding("image_missing", {"sha": ref.sha, "kind": ref.kind,
                                                 "table": ref.table, "id": ref.row_id}))
        elif not ok:
            out.append(Finding("image_altered", {"sha": ref.sha, "kind": ref.kind,
                                                 "table": ref.table, "id": ref.row_id}))
    old, young = orphans(store)
    out += [Finding("orphan_image", {"sha": sha}, "warning") for sha in old]
    out += [Finding("image_in_flight", {"sha": sha}, "notice") for sha in young]
    stored = set(store.images)
    root = store.images.root
    if root.is_dir():
        for sub in root.iterdir():
            for f in (sub.iterdir() if sub.is_dir() else [sub]):
                if f.name not in stored and not _is_fsio_temp(f.name):
                    out.append(Finding("stray_file", {"path": str(f)}, "warning"))
    return out


def _seal_findings(store: Store) -> list[Finding]:
    from station.store.seals import SealProblem

    try:
        problems = store.seals.verify()
    except sqlite3.OperationalError:          # a store from before seals, opened read-only
        problems = [SealProblem("unsealed_store")]
    out = []
    for p in problems:
        severity = "warning" if p.code == "unsealed_store" else "error"
        out.append(Finding(p.code, {"table": p.table or "", "id": p.row_id or "",
                                    "n": p.n if p.n is not None else "",
                                    "count": p.count if p.count is not None else ""},
                           severity))
    return out


def _export_index_findings(store: Store) -> list[Finding]:
    """The index of exported captures must say what the sealed batch rows list, no more, no less:
    a capture dropped from it would be exported again (surgical: export's ledger, store/exports.py)."""
    from station.store.exports import index_mismatches

    try:
        missing, stray = index_mismatches(store.conn)
    except sqlite3.OperationalError:          # a store from before the index, opened read-only
        return []
    return ([Finding("export_unindexed", {"batch": b, "capture": c}) for b, c in missing]
            + [Finding("export_index_stray", {"batch": b, "capture": c}) for b, c in stray])


def _audit_findings(store: Store) -> list[Finding]:
    codes = {"audit.altered": "audit_altered", "audit.broken_link": "audit_broken_link",
             "audit.missing_tail": "audit_missing_tail"}
    return [Finding(codes[p.code], {"station": p.station_id, "seq": p.seq, "id": p.audit_id})
            for p in store.audit.verify()]


def _leftover_findings(store: Store) -> list[Finding]:
    """Temporary copies a killed process left (the next writing command removes them)."""
    from station.store.scratch import leftovers

    found = leftovers(store.data_dir)
    out = [Finding("leftover_copy", {"path": p}, "warning") for p in found.scratch]
    out += [Finding("leftover_output", {"path": p}, "warning") for p in found.outputs]
    out += [Finding("leftover_temp", {"path": p}, "warning") for p in found.temp_files]
    return out


def _is_fsio_temp(name: str) -> bool:
    from station.store.scratch import _FSIO_TMP

    return bool(_FSIO_TMP.match(name))


def private_paths(store: Store) -> list[Path]:
    """Folders and files holding personal data, which must be private (0700 / 0600)."""
    data = store.data_dir
    paths = [data, store.path, store.images.root, data / "logs", data / "keys", data / "tmp"]
    for sibling in ("-wal", "-shm"):
        paths.append(store.path.with_name(store.path.name + sibling))
    logs = data / "logs"
    if logs.is_dir():
        paths += sorted(p for p in logs.iterdir() if p.is_file())
    keys = data / "keys"
    if keys.is_dir():
        paths += sorted(p for p in keys.iterdir() if p.is_file() and p.suffix != ".pub")
    return paths


def _mode_findings(store: Store) -> list[Finding]:
    out = []
    for path in private_paths(store):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            out.append(Finding("permissions", {"path": str(path), "mode": oct(mode),
                                               "expected": "0700" if path.is_dir() else "0600"},
                               "warning"))
    return out


def summary(store: Store) -> dict[str, Any]:
    from station.store.images import image_references

    conn = store.conn
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('meta', 'seals')")]
    rows = sum(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables)
    refs = image_references(conn)
    return {"rows": rows, "images": sum(1 for _ in store.images),
            "captures": len({r.sha for r in refs if r.kind == "capture"}),
            "crops": len({r.sha for r in refs if r.kind == "crop"})}
