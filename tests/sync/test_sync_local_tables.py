"""The master's bookkeeping never travels as facts (audit defect 3): a station that writes a
``merge_clashes`` row naming another station (or ``imports`` rows) into its signed bundle cannot
fake conflict items there; each master lists only the clashes it recorded itself."""

from __future__ import annotations

import json

CLASHES = ("CREATE TABLE IF NOT EXISTS merge_clashes (id TEXT PRIMARY KEY, station_id TEXT NOT NULL, "
           "seq INTEGER NOT NULL, hlc TEXT NOT NULL, target_table TEXT NOT NULL, target_id TEXT NOT NULL, "
           "origin_station TEXT NOT NULL, bundle_sha256 TEXT NOT NULL, theirs TEXT NOT NULL)")
IMPORTS = ("CREATE TABLE IF NOT EXISTS imports (id TEXT PRIMARY KEY, station_id TEXT NOT NULL, "
           "seq INTEGER NOT NULL, hlc TEXT NOT NULL, kind TEXT NOT NULL, file_name TEXT NOT NULL, "
           "file_sha256 TEXT NOT NULL, rows INTEGER NOT NULL, added INTEGER NOT NULL, "
           "updated INTEGER NOT NULL, unchanged INTEGER NOT NULL, operator TEXT)")


def test_bookkeeping_rows_in_a_bundle_are_not_merged(tmp_path, make_station, idn, enrol, kit):
    from station.store import open_store
    from station.sync.bundle import create_bundle
    from station.sync.conflicts import ConflictService
    from station.sync.merge import merge_bundle

    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    make_station(tmp_path / "b", "st-b", [(idn(3), "李三")], seed=2)
    make_station(tmp_path / "m", "master", [])
    enrol(tmp_path / "m", tmp_path / "a", tmp_path / "b")
    for name in ("a", "b"):
        with open_store(tmp_path / name) as store:
            create_bundle(store, tmp_path / f"{name}.zip")
    with open_store(tmp_path / "b") as store:
        b_acc = store.conn.execute("SELECT id, hlc FROM acceptances").fetchone()
    theirs = json.dumps({"id": b_acc[0], "station_id": "st-b", "hlc": b_acc[1], "decision": "reject"})
    kit.forge(tmp_path / "a.zip", tmp_path / "f.zip", tmp_path / "a", tmp_path, db_sql=[
        CLASHES, IMPORTS,
        "INSERT INTO merge_clashes VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZZ', 'st-a', 900, "
        f"'0000000000001-000000-st-a', 'acceptances', '{b_acc[0]}', 'st-b', '{'ab' * 32}', '{theirs}')",
        "INSERT INTO imports VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZY', 'st-a', 901, '0000000000001-000001-st-a', "
        f"'bundle', 'b.zip', '{'cd' * 32}', 1, 1, 0, 0, 'sup')"])
    with open_store(tmp_path / "m") as store:
        merge_bundle(store, tmp_path / "b.zip")
        result = merge_bundle(store, tmp_path / "f.zip")
        assert not result.already_imported and result.clashes == 0
        assert [i.kind for i in ConflictService(store).items()] == []        # no clash st-b never sent
        foreign = store.conn.execute("SELECT COUNT(*) FROM merge_clashes WHERE station_id != 'master'").fetchone()[0]
        assert foreign == 0
        assert store.conn.execute("SELECT COUNT(*) FROM imports WHERE station_id = 'st-a'").fetchone()[0] == 0

        # a store of an older version may hold such rows already: they are not listed either
        store.conn.execute("BEGIN")
        store.conn.execute(
            "INSERT INTO merge_clashes VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZX', 'st-a', 902, "
            f"'0000000000001-000002-st-a', 'acceptances', '{b_acc[0]}', 'st-b', '{'ab' * 32}', '{theirs}')")
        store.conn.execute("COMMIT")
        assert [i.kind for i in ConflictService(store).items()] == []


def test_bundles_carry_no_bookkeeping(tmp_path, make_station, idn, enrol):
    """A station's bundle holds its facts and decisions, not its import log or its clashes."""
    import sqlite3

    from station.store import open_store
    from station.sync.bundle import create_bundle
    from station.sync.merge import merge_bundle

    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    make_station(tmp_path / "m", "master", [])
    enrol(tmp_path / "m", tmp_path / "a")
    with open_store(tmp_path / "a") as store:
        create_bundle(store, tmp_path / "a.zip")
    with open_store(tmp_path / "m") as store:
        merge_bundle(store, tmp_path / "a.zip")
        create_bundle(store, tmp_path / "m.zip")
    import zipfile

    with zipfile.ZipFile(tmp_path / "m.zip") as zf:
        (tmp_path / "m.sqlite3").write_bytes(zf.read("station.sqlite3"))
    conn = sqlite3.connect(tmp_path / "m.sqlite3")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert "imports" not in names and "merge_clashes" not in names
    assert "conflict_decisions" in names
