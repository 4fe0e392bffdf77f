"""Report and export defects found by the outside audit, pinned through the real command line."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone


def _today() -> str:
    return datetime.now(timezone(timedelta(hours=8))).date().isoformat()


def test_daily_report_csv_neutralises_formula_cells(station, person, tmp_path):
    """A department '@SUM(1+1)' and a missing student '=HYPERLINK(...)' reach the CSV as text."""
    from station.store import open_store

    today = _today()
    evil = '=HYPERLINK("http://evil.example/","点我")'
    with open_store(station.data_dir) as store:
        store.insert("schedule_slots", {"slot_key": "S1", "date": today, "campus": "呈贡", "room": "A101",
                                        "start": "00:00", "end": "23:59", "departments": ["@SUM(1+1)"],
                                        "expected_count": 1})
        store.insert("roster_entries", {"id_number": person(1)["id_number"], "name": evil,
                                        "student_no": "S1", "department": "@SUM(1+1)", "eligible": 1})
    out = tmp_path / "daily.csv"
    r = station.as_op("tech", "report", "daily", "--date", today, "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    cells = [c for row in rows for c in row]
    assert "'@SUM(1+1)" in cells and "'" + evil in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or c.startswith("-") and c != "-"]


def test_manifest_free_text_is_neutralised_the_same_way_the_verifier_reads_it():
    from station.export.layout import csv_cell

    assert csv_cell("override_reason", "=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert csv_cell("override_reason", "-3") == "-3" and csv_cell("name", "张三") == "张三"
