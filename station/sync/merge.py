"""Merging station bundles into the supervisor's store (sync.md §5–6): union by key, never overwrite.

A bundle whose checksums or signature fail is refused whole. Each fact row is inserted when its
ULID is new; the same ULID with different content is a conflict — the master keeps its row and the
bundle's row is recorded in the import's audit entry, nothing is overwritten. Re-importing a bundle
(same SHA-256) changes nothing. Afterwards the report lists what a supervisor must look at: the same
person accepted at two stations, the same ID number with different names.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.errors import IntegrityError, NotFoundError
from station.keys import verify_signature
from station.sync.bundle import DB_MEMBER, FORMAT, MANIFEST, PUBLIC_KEY, SIGNATURE, fact_tables

if TYPE_CHECKING:
    from station.store.core import Store

# Operators stay per station: merging them would let a PIN set elsewhere act on the master.
NOT_MERGED = frozenset({"operators"})


@dataclass
class MergeResult:
    bundle: str
    sha256: str
    station_id: str = ""
    already_imported: bool = False
    added: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    images_added: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "sha256": self.sha256, "station_id": self.station_id,
                "already_imported": self.already_imported, "added": self.added,
                "unchanged": self.unchanged, "conflicts": self.conflicts, "images_added": self.images_added}


def _read_bundle(path: Path) -> tuple[dict[str, Any], zipfile.ZipFile]:
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise NotFoundError("common.file_missing", path=str(path)) from None
    except zipfile.BadZipFile as exc:
        raise IntegrityError("sync.bad_bundle", path=str(path), error=str(exc)) from None
    try:
        body = zf.read(MANIFEST)
        manifest = json.loads(body)
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
        if not verify_signature(zf.read(PUBLIC_KEY), body, zf.read(SIGNATURE)):
            raise ValueError("signature does not match bundle.json")
        names = set(zf.namelist()) - {MANIFEST, SIGNATURE, PUBLIC_KEY}
        if names != set(manifest["members"]):
            raise ValueError("members differ from bundle.json")
        for name, sha in manifest["members"].items():
            if hashlib.sha256(zf.read(name)).hexdigest() != sha:
                raise ValueError(f"checksum of {name}")
    except (KeyError, ValueError) as exc:
        zf.close()
        raise IntegrityError("sync.bad_bundle", path=str(path), error=str(exc)) from None
    return manifest, zf


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f'PRAGMA {schema}.table_info("{table}")')]


def merge_bundle(store: Store, path: Path, operator: str | None = None) -> MergeResult:
    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    result = MergeResult(str(path), digest)
    conn = store.conn
    if conn.execute("SELECT 1 FROM imports WHERE kind = 'bundle' AND file_sha256 = ?", (digest,)).fetchone():
        result.already_imported = True
        return result
    manifest, zf = _read_bundle(path)
    result.station_id = manifest.get("station_id") or ""
    with zf, tempfile.TemporaryDirectory(prefix=".merge-", dir=store.data_dir) as tmp:
        zf.extract(DB_MEMBER, tmp)
        from station.store import open_store

        open_store(Path(tmp)).close()            # bring the bundle's schema up to ours
        for name in manifest["members"]:
            if name.startswith("images/"):
                sha = name.split("/", 1)[1]
                if not store.images.exists(sha):
                    store.images.put(zf.read(name))
                    result.images_added += 1
        conn.execute("ATTACH DATABASE ? AS b", (str(Path(tmp) / DB_MEMBER),))
        try:
            with store.transaction():
                conn.execute("PRAGMA defer_foreign_keys = ON")
                for table in fact_tables(conn, "b"):
                    if table not in fact_tables(conn, "main") or table in NOT_MERGED:
                        continue
                    _merge_table(conn, table, result)
                top = manifest.get("max_hlc")
                if top:
                    store.observe(top)
                store.insert("imports", {"kind": "bundle", "file_name": path.name, "file_sha256": digest,
                                         "rows": sum(manifest.get("rows", {}).values()),
                                         "added": sum(result.added.values()), "updated": 0,
                                         "unchanged": result.unchanged, "operator": operator})
                store.audit.append(operator, "merge", result.station_id,
                                   {"bundle": digest, "added": result.added, "conflicts": result.conflicts})
        finally:
            conn.execute("DETACH DATABASE b")
    return result


def _merge_table(conn: sqlite3.Connection, table: str, result: MergeResult) -> None:
    cols = [c for c in _columns(conn, "b", table) if c in set(_columns(conn, "main", table))]
    col_sql = ", ".join(f'"{c}"' for c in cols)
    differs = " OR ".join(f'NOT (m."{c}" IS b."{c}")' for c in cols)
    for row in conn.execute(f'SELECT b.* FROM b."{table}" b JOIN main."{table}" m ON m.id = b.id WHERE {differs}'):
        result.conflicts.append({"kind": "same_key_different_content", "table": table, "id": row["id"],
                                 "theirs": {c: row[c] for c in cols}})
    same = conn.execute(f'SELECT COUNT(*) FROM b."{table}" b JOIN main."{table}" m ON m.id = b.id').fetchone()[0]
    result.unchanged += same - sum(1 for c in result.conflicts if c.get("table") == table)
    new = conn.execute(f'SELECT COUNT(*) FROM b."{table}" WHERE id NOT IN (SELECT id FROM main."{table}")').fetchone()[0]
    cur = conn.execute(f'INSERT OR IGNORE INTO main."{table}" ({col_sql}) SELECT {col_sql} FROM b."{table}" '
                       f'WHERE id NOT IN (SELECT id FROM main."{table}") ORDER BY station_id, seq')
    if cur.rowcount:
        result.added[table] = cur.rowcount
    if cur.rowcount != new:                      # a (station, seq) pair already used by another row
        result.conflicts.append({"kind": "sequence_clash", "table": table, "rows": new - cur.rowcount})


def review(store: Store) -> list[dict[str, Any]]:
    """What a supervisor must decide after merges (sync.md §6), derived from the facts."""
    conn = store.conn
    out: list[dict[str, Any]] = []
    for r in conn.execute("SELECT id_number, GROUP_CONCAT(DISTINCT station_id) AS stations FROM accepted_captures "
                          "GROUP BY id_number HAVING COUNT(DISTINCT station_id) > 1"):
        out.append({"kind": "accepted_at_two_stations", "id_number": r["id_number"],
                    "stations": sorted(r["stations"].split(","))})
    for r in conn.execute("SELECT id_number, GROUP_CONCAT(DISTINCT name) AS names FROM card_reads "
                          "GROUP BY id_number HAVING COUNT(DISTINCT name) > 1"):
        out.append({"kind": "same_id_different_names", "id_number": r["id_number"],
                    "names": sorted(r["names"].split(","))})
    for r in conn.execute("SELECT target_table, target_id, field, COUNT(DISTINCT station_id) AS n FROM corrections "
                          "GROUP BY target_table, target_id, field HAVING n > 1"):
        out.append({"kind": "two_corrections", "table": r["target_table"], "id": r["target_id"], "field": r["field"]})
    return out
