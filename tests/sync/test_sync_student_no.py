"""A student number arriving from another station (bundle merge; the hub's pull shares the same
check, ``merge.check_staged``) is held to the form roster import and `station correct` hold it to:
it names exported photos and prints. A bundle leaving a person with a path for a student number
is refused whole; once the station corrects it, the next bundle merges."""

from __future__ import annotations

import sqlite3


def refused_merge(cli, kit, master, station, bundle) -> dict:
    """``bundle`` of ``station`` merged at ``master``: refused whole (exit 2, the master as it
    was); the refusal as the JSON names it."""
    from station.sync.bundle import create_bundle

    create_bundle(station, bundle)
    before = kit.master_state(master)
    r = cli(master, "--lang", "en", "merge", bundle, "--json", op="sup")
    assert r.returncode == 2, r.stdout
    [refused] = r.json()["refused"]
    assert refused["reason"] == "student_no"
    assert kit.master_state(master) == before
    return refused


def test_a_bundle_with_a_path_for_a_student_number_is_refused_until_corrected(
        tmp_path, make_station, idn, enrol, cli, kit):
    from station.store import open_store
    from station.sync.bundle import create_bundle

    make_station(tmp_path / "m", "master", [])
    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    enrol(tmp_path / "m", tmp_path / "a")
    with open_store(tmp_path / "a") as store:     # a store written before the rule, or by hand
        store.insert("roster_entries", {"id_number": idn(1), "name": "张一", "eligible": 1,
                                        "student_no": "../../etc/x", "department": "物理"})
        refused = refused_merge(cli, kit, tmp_path / "m", store, tmp_path / "a1.zip")
    assert "roster_entries" in refused["message_en"] and "“../../etc/x” cannot be used" in refused["message_en"]
    assert "学号“../../etc/x”不可用" in refused["message_zh"]

    fixed = cli(tmp_path / "a", "correct", idn(1), "--field", "student_no", "--value", "2020000001",
                "--reason", "学号录错", op="sup")
    assert fixed.returncode == 0, fixed.stderr
    with open_store(tmp_path / "a") as store:
        create_bundle(store, tmp_path / "a2.zip")
    ok = cli(tmp_path / "m", "merge", tmp_path / "a2.zip", "--json", op="sup")
    assert ok.returncode == 0, ok.stderr
    conn = sqlite3.connect(tmp_path / "m" / "station.sqlite3")
    try:
        assert conn.execute("SELECT new_value FROM corrections WHERE field = 'student_no'").fetchall() == [
            ("2020000001",)]
    finally:
        conn.close()


def test_a_correction_to_a_bad_student_number_is_refused_in_a_bundle(tmp_path, make_station, idn,
                                                                     enrol, cli, kit):
    """A correction row (the latest fact) that sets a bad number is refused like a roster row."""
    from station.store import open_store

    make_station(tmp_path / "m", "master", [])
    make_station(tmp_path / "a", "st-a", [(idn(2), "李二")], seed=2)
    enrol(tmp_path / "m", tmp_path / "a")
    with open_store(tmp_path / "a") as store:
        store.insert("roster_entries", {"id_number": idn(2), "name": "李二", "eligible": 1,
                                        "student_no": "2020000002", "department": "物理"})
        store.facts.record_correction("roster_entries", idn(2), "student_no", "2020000002", "a\\b",
                                      reason="by hand", operator="sup")
        refused = refused_merge(cli, kit, tmp_path / "m", store, tmp_path / "a.zip")
    assert "corrections" in refused["message_en"]
