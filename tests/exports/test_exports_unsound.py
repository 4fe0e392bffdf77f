"""A batch is signed with the station's key: a record edited behind the station's back (sqlite3 on
the laptop: the name a student's photo goes out under) must not leave in a signed manifest, as
`bundle create` and `sync push` already refuse (the keyed seals catch it)."""

from __future__ import annotations

import sqlite3


def test_export_build_refuses_a_store_whose_seals_do_not_hold(station, add_people, person, tmp_path):
    [p] = [person(0)]
    add_people(station.data_dir, [p])
    conn = sqlite3.connect(station.data_dir / "station.sqlite3")
    with conn:
        conn.execute("UPDATE roster_entries SET name = '篡改者' WHERE id_number = ?", (p["id_number"],))
    conn.close()
    out = tmp_path / "batches"
    r = station.as_op("tech", "export", "build", "--out", str(out))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "station fsck" in r.stderr and "roster_entries" in r.stderr and "批次" in r.stderr
    assert not out.exists() or not any(out.iterdir())                 # nothing written, nothing signed
    r = station.as_op("tech", "--lang", "en", "export", "build", "--out", str(out), "--json")
    assert r.returncode == 1
    doc = r.json()
    assert doc["error"] == "exports.unsound" and "no batch was written" in doc["message_en"]
    assert not out.exists() or not any(out.iterdir())
