"""Sync fixtures: stations made in process through the store API, each with a few people, their
keys enrolled at a master, and a forger that re-packs and re-signs bundles like an attacker."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

PIN = "2468"


def jpeg(seed: int) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def make_station(data_dir, station_id: str, people: list[tuple[str, str]], seed: int = 0,
                 codes: dict[str, str] | None = None):
    """A station with a supervisor and technician; each (id_number, name) read, paid, captured, accepted
    (with ``codes[id_number]`` as its 图像采集码 when given)."""
    from station.domain.identity import Identity
    from station.keys import ensure_station_key
    from station.store import open_store

    store = open_store(data_dir)
    with store.transaction():
        store.set_meta("station_id", station_id)
        store.set_meta("school_code", "10673")
        sup = store.operators.add("sup", "supervisor", PIN)
        store.operators.add("tech", "technician", PIN, by=sup)
    ensure_station_key(data_dir)
    for i, (idn, name) in enumerate(people):
        ident = Identity(card_type="resident", name=name, gender="male", birth_date="2000-01-01", id_number=idn)
        read = store.facts.record_card_read(ident, reader="sim", operator="sup")
        store.facts.record_payment(idn, 3000, "wechat", operator="sup")
        raw, crop = store.images.put(jpeg(seed * 100 + i)), store.images.put(jpeg(seed * 100 + i + 50))
        cid = store.facts.record_capture(idn, raw, "IMG.JPG", {"crop_sha256": crop}, card_read_id=read, operator="sup",
                                         capture_code=(codes or {}).get(idn))
        store.facts.record_acceptance(cid, "accept", operator="sup")
    store.close()


def keyfile(data_dir) -> bytes:
    """What `station key export` writes for the station in ``data_dir``."""
    from station.keys import ensure_station_key, render_keyfile
    from station.store import open_store

    with open_store(data_dir) as store:
        return render_keyfile(store.station_id, ensure_station_key(data_dir).public_pem())


def enrol(master_dir, *station_dirs) -> None:
    """The supervisor enrols each station's key at the master (in process)."""
    from station.keys import parse_keyfile
    from station.store import open_store
    from station.sync.trust import TrustService

    with open_store(master_dir) as store:
        for d in station_dirs:
            TrustService(store).add(parse_keyfile(keyfile(d), str(d)), "sup")


def master_and_bundles(tmp) -> Path:
    """A master at ``tmp/m`` that enrolled the stations at ``tmp/a`` and ``tmp/b``, and their
    bundles ``tmp/a.zip`` and ``tmp/b.zip``: the master's folder."""
    from station.store import open_store
    from station.sync.bundle import create_bundle

    make_station(tmp / "m", "master", [])
    enrol(tmp / "m", tmp / "a", tmp / "b")
    for name in ("a", "b"):
        with open_store(tmp / name) as store:
            create_bundle(store, tmp / f"{name}.zip")
    return tmp / "m"


def idn(i: int) -> str:
    from station.domain import idnumber

    return idnumber.make("530102", dt.date(2001, 1, 1) + dt.timedelta(days=i), i % 50, male=True)


def canonical(data_dir, stations: set[str]) -> dict:
    """Every fact row that came from ``stations``, by table, sorted by key: what merge must keep."""
    from station.store import open_store
    from station.store.union import canonical_dump

    with open_store(data_dir) as store:
        return canonical_dump(store.conn, stations)


def master_state(data_dir) -> dict:
    """Everything a refused merge must leave exactly as it was: every fact row, waiting rows,
    meta, and every file of the data folder (logs and SQLite's own -wal/-shm aside)."""
    from station.store import open_store
    from station.store.union import canonical_dump

    with open_store(data_dir) as store:
        dump = canonical_dump(store.conn)
        pending = store.conn.execute("SELECT * FROM sync_pending ORDER BY target_table, row_id").fetchall()
        meta = store.conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
    files = {}
    root = Path(data_dir)
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and rel.parts[0] != "logs" and not p.name.endswith(("-wal", "-shm")):
            files[str(rel)] = p.stat().st_size if p.name.endswith(".sqlite3") else p.read_bytes()
    files.pop("station.sqlite3", None)          # its content is the dump above
    return {"dump": dump, "pending": [tuple(r) for r in pending], "meta": [tuple(r) for r in meta],
            "files": files}


def read_bundle(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def sign_with(data_dir, body: bytes) -> bytes:
    from station.keys import encode_signature, ensure_station_key

    return encode_signature(ensure_station_key(data_dir).sign(body))


def pack(out, manifest: dict, members: dict[str, bytes], signer_dir, signature: bytes | None = None) -> Path:
    """A bundle zip from parts, its manifest signed with the key of ``signer_dir`` (an attacker
    with an enrolled station's key can do exactly this)."""
    body = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if name.endswith("sqlite3") else 0)
        zf.writestr("bundle.json", body)
        zf.writestr("bundle.json.sig", signature if signature is not None else sign_with(signer_dir, body))
    return Path(out)


def describe_db(db: bytes, tmp: Path) -> tuple[dict, dict]:
    """Row counts and signed digests of a bundle database, as bundle create computes them."""
    from station.store import union
    from station.sync.digest import table_digest

    path = tmp / "describe.sqlite3"
    path.write_bytes(db)
    rows = union.SqliteRows(path)
    try:
        counts, digests = {}, {}
        for table in rows.tables():          # tables no station would write stay unlisted
            if table.replace("_", "").isalnum() and table.isascii() and table.islower():
                try:
                    digests[table], counts[table] = table_digest(table, rows.columns(table), rows.rows(table))
                except sqlite3.Error:
                    continue
    finally:
        rows.close()
        path.unlink()
    return counts, digests


def edit_db(db: bytes, tmp: Path, *sql: str) -> bytes:
    path = tmp / "edit.sqlite3"
    path.write_bytes(db)
    conn = sqlite3.connect(path)
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()
    data = path.read_bytes()
    path.unlink()
    return data


def forge(src, out, signer_dir, tmp: Path, *, manifest=None, db_sql=(), members=None) -> Path:
    """Re-pack bundle ``src`` with edits, counts/digests/checksums made consistent again, and sign
    it with ``signer_dir``'s key: the only thing that can stop it is the receiver's trust rules."""
    import hashlib

    parts = read_bundle(src)
    doc = json.loads(parts.pop("bundle.json"))
    parts.pop("bundle.json.sig")
    if db_sql:
        parts["station.sqlite3"] = edit_db(parts["station.sqlite3"], tmp, *db_sql)
        doc["rows"], doc["row_digests"] = describe_db(parts["station.sqlite3"], tmp)
    if members:
        parts.update(members)
    doc["members"] = {n: hashlib.sha256(d).hexdigest() if n == "station.sqlite3" else doc["members"].get(n, n[7:])
                      for n, d in parts.items()}
    from station.keys import ensure_station_key

    doc["signing_key"] = ensure_station_key(signer_dir).fingerprint()
    if manifest:
        doc.update(manifest)
    return pack(out, doc, parts, signer_dir)


@pytest.fixture(name="make_station")
def make_station_fixture():
    return make_station


@pytest.fixture(name="idn")
def idn_fixture():
    return idn


@pytest.fixture(name="canonical")
def canonical_fixture():
    return canonical


@pytest.fixture(name="enrol")
def enrol_fixture():
    return enrol


@pytest.fixture(name="master_and_bundles")
def master_and_bundles_fixture():
    return master_and_bundles


@pytest.fixture(name="cli")
def cli_fixture():
    """``cli(data_dir, *args, op=None)``: run `python -m station` as operator ``op`` in a subprocess."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]

    def run(data_dir, *args, op=None, env=None):
        full = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
        full.update(PYTHONPATH=str(root), STATION_DATA_DIR=str(data_dir), STATION_PIN=PIN, **(env or {}))
        prefix = ["--operator", op] if op else []
        proc = subprocess.run([sys.executable, "-m", "station", *prefix, *map(str, args)], cwd=root, env=full,
                              capture_output=True, text=True, timeout=300)
        proc.json = lambda: json.loads(proc.stdout)
        return proc

    return run


@pytest.fixture(name="kit")
def kit_fixture():
    """The helpers above, for tests that forge bundles or compare a master's whole state."""
    from types import SimpleNamespace

    return SimpleNamespace(master_state=master_state, read_bundle=read_bundle, pack=pack, forge=forge,
                           sign_with=sign_with, keyfile=keyfile, edit_db=edit_db, describe_db=describe_db,
                           jpeg=jpeg)
