"""A station bundle: a consistent snapshot of the store plus every image it references (sync.md §4).

The database is copied with ``VACUUM INTO`` (a consistent snapshot even while the desk is writing),
images are added by their SHA-256 and verified on the way, and ``bundle.json`` lists the checksum of
every member; it is signed with the station's key. The bundle is written to a temporary file and
renamed, so a half-written bundle never exists under its name.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.keys import encode_signature, ensure_station_key

if TYPE_CHECKING:
    from station.store.core import Store

FORMAT = "capture-station-bundle/1"
MANIFEST = "bundle.json"
SIGNATURE = "bundle.json.sig"
PUBLIC_KEY = "station.pub"
DB_MEMBER = "station.sqlite3"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


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


def fact_tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Tables carrying the merge columns (id, station_id, seq, hlc), in dependency-safe order."""
    from station.store.facts import FACT_TABLES

    names = [r[0] for r in conn.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' ORDER BY name")]
    merge = []
    for name in names:
        cols = {r[1] for r in conn.execute(f'PRAGMA {schema}.table_info("{name}")')}
        if {"id", "station_id", "seq", "hlc"} <= cols:
            merge.append(name)
    order = {t: i for i, t in enumerate(FACT_TABLES)}
    return sorted(merge, key=lambda t: (order.get(t, len(order)), t))


def referenced_images(conn: sqlite3.Connection) -> list[str]:
    shas = {r[0] for r in conn.execute("SELECT image_sha256 FROM captures")}
    for (camera,) in conn.execute("SELECT camera FROM captures"):
        try:
            crop = json.loads(camera or "{}").get("crop_sha256")
        except ValueError:
            crop = None
        if crop:
            shas.add(crop)
    return sorted(shas)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create_bundle(store: Store, out: Path, operator: str | None = None) -> BundleResult:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    key = ensure_station_key(store.data_dir)
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=out.parent) as tmp:
        snap = Path(tmp) / DB_MEMBER
        # Audited before the snapshot, so the bundle holds exactly what the station holds.
        store.audit.append(operator, "bundle", store.station_id, {"file": out.name})
        store.conn.execute("VACUUM INTO ?", (str(snap),))
        conn = sqlite3.connect(snap)
        try:
            rows = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in fact_tables(conn)}
            shas = referenced_images(conn)
            max_hlc = max((conn.execute(f'SELECT MAX(hlc) FROM "{t}"').fetchone()[0] or "" for t in rows), default="")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
        db_bytes = snap.read_bytes()
        members: dict[str, str] = {DB_MEMBER: _sha(db_bytes)}
        tmp_zip = Path(tmp) / "bundle.zip"
        with zipfile.ZipFile(tmp_zip, "w") as zf:
            zf.writestr(zipfile.ZipInfo(DB_MEMBER, ZIP_TIME), db_bytes, compress_type=zipfile.ZIP_DEFLATED)
            for sha in shas:
                data = store.images.get(sha)          # verified: a bad image stops the bundle
                zf.writestr(zipfile.ZipInfo(f"images/{sha}", ZIP_TIME), data)
                members[f"images/{sha}"] = sha
            manifest = {"format": FORMAT, "station_id": store.station_id, "schema_version": version,
                        "school_code": store.meta("school_code"), "rows": rows, "max_hlc": max_hlc,
                        "members": members, "signing_key": key.fingerprint()}
            body = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
            zf.writestr(zipfile.ZipInfo(MANIFEST, ZIP_TIME), body)
            zf.writestr(zipfile.ZipInfo(SIGNATURE, ZIP_TIME), encode_signature(key.sign(body)))
            zf.writestr(zipfile.ZipInfo(PUBLIC_KEY, ZIP_TIME), key.public_pem())
        with tmp_zip.open("rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_zip, 0o600)
        os.replace(tmp_zip, out)
    fd = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    return BundleResult(out, store.station_id or "", rows, len(shas), digest)
