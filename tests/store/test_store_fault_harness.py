"""The fault harness at CI size (bench/faults.py): SIGKILL roster import, ingest, export build,
bundle create and merge at random moments; after each kill and rerun, every invariant holds."""

from __future__ import annotations

import pytest

from bench import faults

pytestmark = pytest.mark.slow

CI_KILLS = 24


@pytest.mark.timeout(1500)
def test_random_kills_break_nothing(tmp_path):
    lines: list[str] = []
    figures = faults.run(kills=CI_KILLS, seed=20251129, disk_full_runs=2, root=tmp_path,
                         log=lines.append)
    report = figures.to_json()
    assert figures.kills >= CI_KILLS, report
    assert set(figures.by_op) >= {"roster", "ingest", "export", "bundle", "merge"} or \
        figures.kills < 3 * len(faults.OPS), report
    assert figures.violations == [], "\n".join(figures.violations)
    assert figures.disk_full_runs == 2 or figures.disk_full_skipped, report


def test_the_harness_sees_a_violation(tmp_path):
    """A harness that cannot fail proves nothing: a row edited behind the store's back, a file
    left on the stick and a capture exported twice are each reported."""
    import json
    import shutil
    import sqlite3

    from tests.exports.conftest import add_people, person

    data = tmp_path / "data"
    from station.store import open_store

    with open_store(data) as store, store.transaction():
        store.set_meta("station_id", "h1")
        store.operators.add("sup", "supervisor", "246810")
    add_people(data, [person(1), person(2)])
    before = faults.snapshot(data)
    conn = sqlite3.connect(data / "station.sqlite3")
    conn.execute("UPDATE payments SET amount_cents = 1 WHERE rowid = 1")
    capture = conn.execute("SELECT id FROM captures LIMIT 1").fetchone()[0]
    conn.execute("INSERT INTO exports (id, station_id, seq, hlc, batch_id, capture_ids) "
                 "VALUES ('e1', 'h1', 9001, '1', 'b1', '[]'), ('e2', 'h1', 9002, '2', 'b2', '[]')")
    conn.execute("INSERT INTO export_items (id, station_id, seq, hlc, export_id, capture_id) "
                 "VALUES ('i1', 'h1', 9003, '1', 'e1', ?), ('i2', 'h1', 9004, '2', 'e2', ?)",
                 (capture, capture))
    record = json.dumps({"record": {"items": [{"capture_id": capture, "kind": "new"}]}})
    conn.execute("INSERT INTO audit (id, station_id, seq, hlc, action, subject, details, prev_hash, "
                 "hash) VALUES ('a1', 'h1', 9005, '1', 'export', 'b1', ?, '', ''), "
                 "('a2', 'h1', 9006, '2', 'export', 'b2', ?, '', '')", (record, record))
    conn.commit()
    conn.close()
    assert faults.missing(before, faults.snapshot(data))
    assert "row_altered" in faults.fsck_problems(data, allow_leftovers=True)
    usb = tmp_path / "usb"
    usb.mkdir()
    assert faults.exported_twice(data, usb)
    (usb / ".bundle-x").mkdir()
    assert [p for p in faults.usb_files(usb) if faults.is_partial(p)] == [".bundle-x"]
    shutil.rmtree(usb)
