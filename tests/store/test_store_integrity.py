"""Integrity an editor of the database cannot recompute: keyed seals over every fact row, fsck of
every image kind, a damaged database refused in words.

The station under test is made through the command line the way a day at the desk makes it:
roster import, ingest of rendered portraits (real checks, real crops), export build.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from station.store import open_store
from station.store.audit import GENESIS, row_hash
from station.store.fsck import fsck
from station.store.seals import key_path

from .conftest import PIN, SUPERVISOR

FIXTURE_V1 = Path(__file__).with_name("fixtures") / "store_v1.sql"


@pytest.fixture(scope="module")
def exported_station(tmp_path_factory):
    """A station after a normal day: 2 people captured (frame + crop each), paid, exported."""
    import cv2

    from station.sim.portrait import render
    from station.sim.roster import demo_roster, identity_for, roster_csv
    from tests.conftest import run_station_cmd

    root = tmp_path_factory.mktemp("exported")
    data = root / "data"
    env = {"STATION_OPERATOR": SUPERVISOR, "STATION_PIN": PIN}

    def run(*args: str):
        r = run_station_cmd(["--lang", "en", *args], data_dir=data, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    run("init", "--station-id", "st-a", "--supervisor", SUPERVISOR)
    rows = [r for r in demo_roster() if r["学习方式"] != "非全日制"
            and r["入学年份"] in (2014, 2015, "2014", "2015")][:2]
    (root / "roster.csv").write_bytes(roster_csv(rows))
    run("roster", "import", str(root / "roster.csv"))
    for i, row in enumerate(rows):
        (root / f"id{i}.json").write_text(json.dumps(identity_for(row).to_json(),
                                                     ensure_ascii=False), "utf-8")
        frame, _ = render(1024, 1365, seed=i, shirt=(30 + 20 * i, 40, 60))
        cv2.imwrite(str(root / f"p{i}.jpg"), frame)
        run("ingest", "--identity", str(root / f"id{i}.json"), "--image", str(root / f"p{i}.jpg"),
            "--paid", "--vouch")
    built = run("export", "build", "--out", str(root / "out"), "--json").json()
    assert built["photos"] == 2
    return data


@pytest.fixture
def station(exported_station, tmp_path):
    """A private copy of the exported station (each test may damage its own)."""
    data = tmp_path / "data"
    shutil.copytree(exported_station, data)
    return data


def fsck_cli(data: Path):
    from tests.conftest import run_station_cmd

    return run_station_cmd(["--lang", "en", "fsck", "--json"], data_dir=data)


def raw(data: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(data / "station.sqlite3")
    conn.row_factory = sqlite3.Row
    return conn


def codes(result) -> list[str]:
    return sorted(p["code"] for p in result.json()["problems"])


def test_fsck_is_clean_after_capture_and_export(station):
    r = fsck_cli(station)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.json()
    assert out["ok"] is True and out["problems"] == []
    assert out["captures"] == 2 and out["crops"] == 2 and out["images"] == 4


def test_a_deleted_crop_is_reported(station):
    with raw(station) as conn:
        crop = json.loads(conn.execute("SELECT camera FROM captures LIMIT 1").fetchone()[0])["crop_sha256"]
    (station / "images" / crop[:2] / crop).unlink()
    r = fsck_cli(station)
    assert r.returncode == 1
    [problem] = r.json()["problems"]
    assert problem["code"] == "image_missing" and problem["kind"] == "crop"
    assert problem["sha"] == crop and "export crop" in problem["message_en"]


def test_an_edited_payment_amount_is_reported(station):
    with raw(station) as conn:
        conn.execute("UPDATE payments SET amount_cents = 1 WHERE rowid = 1")
    r = fsck_cli(station)
    assert r.returncode == 1
    assert codes(r) == ["row_altered"]
    assert r.json()["problems"][0]["table"] == "payments"


def test_audit_rows_rewritten_with_recomputed_hashes_are_reported(station):
    """The plain hash chain is recomputed by the forger and holds; the keyed seals do not."""
    conn = raw(station)
    conn.execute("UPDATE audit SET operator = 'someone else' WHERE action = 'payment.record'")
    prev = GENESIS
    for r in conn.execute("SELECT * FROM audit ORDER BY seq").fetchall():
        digest = row_hash(prev, dict(r))
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, r["id"]))
        prev = digest
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (prev,))
    conn.commit()
    conn.close()
    r = fsck_cli(station)
    assert r.returncode == 1
    found = set(codes(r))
    assert found == {"row_altered"}, found          # the unkeyed chain alone would pass
    assert all(p["table"] == "audit" for p in r.json()["problems"])


def test_deleted_and_slipped_in_rows_and_seals_are_reported(station):
    conn = raw(station)
    victim = conn.execute("SELECT id FROM payments LIMIT 1").fetchone()[0]
    conn.execute("DELETE FROM payments WHERE id = ?", (victim,))
    conn.execute("INSERT INTO payments (id, station_id, seq, hlc, id_number, amount_cents, method) "
                 "SELECT 'forged', station_id, 99999, hlc, id_number, 3000, 'wechat' FROM card_reads LIMIT 1")
    conn.commit()
    conn.close()
    r = fsck_cli(station)
    assert r.returncode == 1
    problems = {(p["code"], p.get("id")) for p in r.json()["problems"]}
    assert ("sealed_row_missing", victim) in problems and ("unsealed_row", "forged") in problems


@pytest.mark.parametrize("where", ["middle", "tail"])
def test_removing_seals_with_their_rows_breaks_the_chain(station, where):
    conn = raw(station)
    last = conn.execute("SELECT MAX(n) FROM seals").fetchone()[0]
    n = last // 2 if where == "middle" else last
    table, row_id = conn.execute("SELECT tbl, row_id FROM seals WHERE n = ?", (n,)).fetchone()
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(f'DELETE FROM "{table}" WHERE id = ?', (row_id,))
    conn.execute("DELETE FROM seals WHERE n = ?", (n,))
    conn.commit()
    conn.close()
    r = fsck_cli(station)
    assert r.returncode == 1
    assert ("seal_gap" if where == "middle" else "seal_head") in codes(r)


def test_a_missing_seal_key_stops_writes_and_is_reported(station):
    key_path(station).unlink()
    r = fsck_cli(station)
    assert r.returncode == 1 and codes(r) == ["seal_key_missing"]
    from tests.conftest import run_station_cmd

    write = run_station_cmd(["--lang", "en", "--operator", SUPERVISOR, "operator", "add", "x",
                             "--role", "photographer"], data_dir=station,
                            env={"STATION_PIN": PIN}, stdin="13572468\n")
    assert write.returncode != 0 and "seal key" in write.stderr and "Unexpected" not in write.stderr


def test_another_stations_key_is_told_apart(station, tmp_path):
    key_path(station).write_bytes(b"\x01" * 32)
    r = fsck_cli(station)
    assert r.returncode == 1 and codes(r) == ["seal_key_wrong"]


def test_a_store_from_before_seals_is_adopted_once_and_audited(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    conn = sqlite3.connect(data / "station.sqlite3")
    conn.executescript(FIXTURE_V1.read_text())
    conn.close()
    store = open_store(data)

    def seal_codes() -> set[str]:   # the frozen fixture has no image files: not the point here
        return {f.code for f in fsck(store)} - {"image_missing"}

    assert seal_codes() == {"unsealed_store"}         # nothing sealed before the first write
    store.audit.append(None, "touch", None, {})        # the first write adopts
    assert seal_codes() == set()
    adopt = [e for e in store.audit.entries() if e["action"] == "seal.adopt"]
    assert len(adopt) == 1 and adopt[0]["details"]["rows"] > 0
    store.close()
    conn = sqlite3.connect(data / "station.sqlite3")
    conn.execute("UPDATE roster_entries SET name = '王二'")
    conn.commit()
    conn.close()
    store = open_store(data)
    store.audit.append(None, "touch", None, {})   # an existing key never adopts again
    assert seal_codes() == {"row_altered"}
    store.close()


def test_merged_rows_are_sealed_by_the_master(tmp_path):
    """Rows taken in by merge verify on the master (sealed with its key when accepted)."""
    from station.keys import ensure_station_key, parse_keyfile, render_keyfile
    from station.sync.bundle import create_bundle
    from station.sync.merge import merge_bundle
    from station.sync.trust import TrustService

    from .conftest import initialise

    field = open_store(tmp_path / "field")
    initialise(field, "st-b")
    field.facts.record_payment("53010219920101123X", 3000, "wechat", operator=SUPERVISOR)
    create_bundle(field, tmp_path / "b.zip", operator=SUPERVISOR)
    keyfile = render_keyfile("st-b", ensure_station_key(tmp_path / "field").public_pem())
    field.close()
    master = open_store(tmp_path / "master")
    initialise(master, "st-m")
    TrustService(master).add(parse_keyfile(keyfile, "st-b.pem"), SUPERVISOR)   # enrolled once
    merge_bundle(master, tmp_path / "b.zip", operator=SUPERVISOR)
    assert master.conn.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 1
    assert fsck(master) == []
    master.conn.execute("UPDATE payments SET amount_cents = 30")
    assert [f.code for f in fsck(master)] == ["row_altered"]
    master.close()


def test_a_corrupt_database_is_reported_in_words_and_refused(station):
    from tests.conftest import run_station_cmd

    db = station / "station.sqlite3"
    with raw(station) as conn:                        # fold the WAL in, then damage the pages
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    for offset in range(4096 * 3, len(data) - 4096, 4096 * 2):
        data[offset + 100:offset + 400] = b"\x00\xff" * 150
    db.write_bytes(bytes(data))
    r = fsck_cli(station)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.json()["problems"] and "Unexpected" not in r.stderr
    env = {"STATION_OPERATOR": SUPERVISOR, "STATION_PIN": PIN}
    ingest = run_station_cmd(["--lang", "en", "roster", "import", "/dev/null"], data_dir=station,
                             env=env)
    assert ingest.returncode == 3, ingest.stderr
    assert "damaged" in ingest.stderr and "Unexpected" not in ingest.stderr


def test_a_file_that_is_not_a_database(station):
    (station / "station.sqlite3").write_bytes(b"this is not sqlite" * 500)
    for name in ("station.sqlite3-wal", "station.sqlite3-shm"):
        (station / name).unlink(missing_ok=True)
    r = fsck_cli(station)
    assert r.returncode == 1
    assert codes(r) == ["not_a_database"] and "Unexpected" not in r.stderr
