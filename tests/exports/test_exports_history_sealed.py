"""`station history` is what a supervisor shows a student who disputes a correction days later: a
trail line edited in the database behind the station's back (sqlite3: another value, another
reason) must not read as genuine. Each line whose keyed seal does not hold is marked, the command
says to run fsck, and exits 1."""

from __future__ import annotations

import sqlite3


def _edit(data_dir, sql: str, *params) -> None:
    conn = sqlite3.connect(data_dir / "station.sqlite3")
    with conn:
        conn.execute(sql, params)
    conn.close()


def test_history_marks_a_trail_line_edited_behind_the_stations_back(station, add_people, person):
    p = person(0)
    add_people(station.data_dir, [p])
    r = station.as_op("tech", "correct", p["id_number"], "--field", "name", "--value", "李四",
                      "--reason", "学生本人核对")
    assert r.returncode == 0, r.stderr
    r = station.as_op("tech", "history", p["id_number"])
    assert r.returncode == 0 and "封印" not in r.stdout, r.stdout + r.stderr
    _edit(station.data_dir, "UPDATE corrections SET new_value = '王五', reason = '本人要求'")
    r = station.as_op("tech", "history", p["id_number"])
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    [line] = [x for x in r.stdout.splitlines() if "王五" in x]
    assert "密钥封印不符" in line                               # the edited line itself is marked
    assert sum("密钥封印不符" in x for x in r.stdout.splitlines()) == 1   # and only it
    assert "station fsck" in r.stdout + r.stderr
    r = station.as_op("tech", "--lang", "en", "history", p["id_number"], "--json")
    assert r.returncode == 1
    doc = r.json()
    altered = [e for e in doc["events"] if e.get("altered")]
    assert [(e["kind"], e["new_value"]) for e in altered] == [("correction", "王五")]
    assert "station fsck" in r.stderr


def test_history_marks_a_row_slipped_in_without_a_seal(station, add_people, person):
    p = person(0)
    add_people(station.data_dir, [p])
    _edit(station.data_dir,
          "INSERT INTO payments (id, station_id, seq, hlc, id_number, amount_cents, method, operator) "
          "SELECT 'forged', station_id, seq + 1000, hlc, id_number, 0, 'cash', 'sup' FROM payments")
    r = station.as_op("tech", "--lang", "en", "history", p["id_number"])
    assert r.returncode == 1, r.stdout + r.stderr
    [line] = [x for x in r.stdout.splitlines() if "seal" in x]
    assert "  0.00 " in line                                    # the forged payment, not the real one
