import sqlite3
from pathlib import Path

import pytest

from station.errors import IntegrityError
from station.store import migrations, open_store
from station.store.core import DB_NAME

FIXTURE_V1 = Path(__file__).with_name("fixtures") / "store_v1.sql"


def _db_at(path: Path, version: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.migrate(conn, target=version)
    assert migrations.current_version(conn) == version
    conn.close()


def test_fresh_store_is_latest_with_wal_and_foreign_keys(tmp_path):
    store = open_store(tmp_path / "d")
    assert migrations.current_version(store.conn) == migrations.LATEST
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert (store.path.stat().st_mode & 0o777) == 0o600
    assert ((tmp_path / "d").stat().st_mode & 0o777) == 0o700
    store.close()


@pytest.mark.parametrize("start", range(0, migrations.LATEST))
def test_upgrade_from_every_earlier_version(tmp_path, start):
    data = tmp_path / "d"
    data.mkdir()
    _db_at(data / DB_NAME, start)
    store = open_store(data)
    assert migrations.current_version(store.conn) == migrations.LATEST
    # the result has the same schema as a fresh store
    fresh = open_store(tmp_path / "fresh")
    schema = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 1, 2"
    assert store.conn.execute(schema).fetchall() == fresh.conn.execute(schema).fetchall()
    store.close()
    fresh.close()


def test_frozen_v1_store_upgrades_and_keeps_its_facts(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    conn = sqlite3.connect(data / DB_NAME)
    conn.executescript(FIXTURE_V1.read_text())
    conn.close()
    store = open_store(data)
    assert migrations.current_version(store.conn) == migrations.LATEST
    assert store.station_id == "old1"
    entry = store.roster.get("530102199201011234")
    assert entry is not None and entry.name == "李四" and entry.eligible
    assert entry.earlier_uncaptured is False  # new column got its default
    state = store.person_state("530102199201011234")
    assert state.accepted_capture_id == "01BX5ZZKBKACTAV9WEVGEMMVS1"
    assert state.exported is False
    # new facts continue the station's sequence and clock after the old ones
    with store.transaction():
        stamp = store.stamps()[0]
    assert stamp.seq == 5 and stamp.hlc > "1508889600000-000003-old1"
    store.close()


def test_failed_migration_leaves_old_version(tmp_path, monkeypatch):
    data = tmp_path / "d"
    data.mkdir()
    _db_at(data / DB_NAME, 1)
    broken = migrations.Migration(2, "broken", migrations.V2 + "\nCREATE TABLE captures (x);\n")
    monkeypatch.setattr(migrations, "MIGRATIONS", [migrations.MIGRATIONS[0], broken])
    with pytest.raises(sqlite3.OperationalError):
        open_store(data)
    conn = sqlite3.connect(data / DB_NAME)
    assert migrations.current_version(conn) == 1
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'imports'").fetchone()[0] == 0
    conn.close()


def test_newer_store_is_refused(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    conn = sqlite3.connect(data / DB_NAME)
    conn.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    conn.close()
    with pytest.raises(IntegrityError):
        open_store(data)


def test_rosters_per_school_keep_every_earlier_row_as_the_home_schools(tmp_path):
    """v11 (rosters per school): a store of v10 with roster rows of its own and merged from another
    station upgrades in one transaction; no row is rewritten (same values, same seals), and every
    earlier row is on the home school's roster (``meta.school_code``), none on another school's."""
    data = tmp_path / "d"
    data.mkdir()
    _db_at(data / DB_NAME, 10)
    conn = sqlite3.connect(data / DB_NAME, isolation_level=None)
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("station_id", "st1"), ("school_code", "10673")])
    rows = [("01J00000000000000000000001", "st1", 1, "1780000000000-000000-st1", "530102199201011234", "李四", 1),
            ("01J00000000000000000000002", "st2", 1, "1780000000001-000000-st2", "530102199201011234", "李肆", 1),
            ("01J00000000000000000000003", "st2", 2, "1780000000002-000000-st2", "530102199301011236", "王五", 0)]
    conn.executemany("INSERT INTO roster_entries (id, station_id, seq, hlc, id_number, name, eligible) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    before = conn.execute("SELECT * FROM roster_entries ORDER BY id").fetchall()
    conn.close()
    store = open_store(data)
    assert migrations.current_version(store.conn) == migrations.LATEST
    after = [tuple(r)[:len(before[0])] for r in store.conn.execute("SELECT * FROM roster_entries ORDER BY id")]
    assert after == [tuple(r) for r in before]                       # nothing rewritten, nothing lost
    assert {r[0] for r in store.conn.execute("SELECT school_code FROM roster_entries")} == {None}
    assert store.roster.count() == 2 and store.roster.get("530102199201011234").name == "李肆"   # latest
    assert store.roster.get("530102199201011234").school_code == "10673"
    assert store.roster.get("530102199201011234", school="10674") is None
    assert store.roster.schools() == {"10673": 2}
    store.close()
