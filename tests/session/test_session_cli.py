"""`station ingest` and `station simulate` as scripts use them: real processes, real store,
real roster, real checks on rendered portraits."""

from __future__ import annotations

import json
import shutil

import pytest

from station.sim import demo

SUP = {"STATION_OPERATOR": demo.DEMO_SUPERVISOR, "STATION_PIN": demo.DEMO_SUPERVISOR_PIN}
PHO = {"STATION_OPERATOR": demo.DEMO_PHOTOGRAPHER, "STATION_PIN": demo.DEMO_PHOTOGRAPHER_PIN}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A demo station (roster + schedule) and two photos: one good, one blurred."""
    import cv2

    from station.sim.portrait import render

    base = tmp_path_factory.mktemp("ingest")
    setup = demo.prepare(base / "data", people=4)
    good, _ = render(1200, 1600)
    blurred, _ = render(1200, 1600, blur=6.0)
    cv2.imwrite(str(base / "good.jpg"), good)
    cv2.imwrite(str(base / "blurred.jpg"), blurred)
    return base, setup


@pytest.fixture
def station(prepared, run_station, tmp_path):
    base, setup = prepared
    shutil.copytree(base / "data", run_station.data_dir)

    def identity_file(person, name="id.json"):
        path = tmp_path / name
        path.write_text(json.dumps(person.to_json(), ensure_ascii=False), encoding="utf-8")
        return str(path)

    return run_station, setup, identity_file, base


def accepted(data_dir, id_number):
    from station.store import open_store

    store = open_store(data_dir)
    try:
        return store.person_state(id_number)
    finally:
        store.close()


def test_ingest_stores_a_good_photo_for_a_roster_person(station):
    run, setup, identity_file, base = station
    person = setup.eligible[0]
    r = run("ingest", "--identity", identity_file(person), "--image", str(base / "good.jpg"),
            "--paid", "--reference", "4200000001", "--json", env=PHO)
    assert r.returncode == 0, r.stderr
    out = r.json()
    assert out["accepted"] is True and out["passed"] is True
    assert person.id_number not in r.stdout          # masked in the output
    state = accepted(run.data_dir, person.id_number)
    assert state.accepted_capture_id == out["capture_id"]
    assert state.paid_cents == 3000 and state.payments[0]["reference"] == "4200000001"


def test_ingest_refuses_a_failing_photo_unless_a_supervisor_forces(station):
    run, setup, identity_file, base = station
    person = setup.eligible[1]
    args = ("ingest", "--identity", identity_file(person), "--image", str(base / "blurred.jpg"))
    r = run(*args, "--json", env=PHO)
    assert r.returncode == 1, r.stderr
    assert any(c["name"] == "sharpness" and c["status"] == "fail" for c in r.json()["checks"])
    assert accepted(run.data_dir, person.id_number).accepted_capture_id is None
    r = run(*args, "--force", "--reason", "judged fine", env=PHO)  # a photographer may not force
    assert r.returncode == 2 and "--force" in r.stderr
    r = run("--lang", "en", *args, "--force", env=SUP)  # an override says why (it is audited)
    assert r.returncode == 2 and "--reason" in r.stderr, r.stderr
    assert accepted(run.data_dir, person.id_number).accepted_capture_id is None
    r = run(*args, "--force", "--reason", "judged fine", "--json", env=SUP)
    assert r.returncode == 0, r.stderr
    assert r.json()["override_by"] == demo.DEMO_SUPERVISOR
    state = accepted(run.data_dir, person.id_number)
    assert [c["decision"] for c in state.captures] == ["accept", "reject"]
    assert state.captures[0]["override_by"] == demo.DEMO_SUPERVISOR


def test_force_on_an_uncroppable_photo_names_the_file_in_each_language(station):
    """`ingest --force` on a frame with no face to crop: refused (nothing accepted), and the
    reason names the photo file, with ``message_en`` in English and ``message_zh`` in Chinese."""
    import cv2
    import numpy as np

    run, setup, identity_file, base = station
    person = setup.eligible[3]
    empty = base / "空背景-无人.jpg"
    frame = np.zeros((1600, 1200, 3), np.uint8)
    frame[:] = (200, 120, 40)                      # the blue backdrop, nobody in front of it
    cv2.imwrite(str(empty), frame)
    r = run("ingest", "--identity", identity_file(person), "--image", str(empty), "--force",
            "--reason", "judged fine", "--json", env=SUP)
    assert r.returncode == 2, (r.stdout, r.stderr)
    err = r.json()
    assert err["error"] == "session.no_crop"
    assert empty.name in err["message_zh"] and empty.name in err["message_en"]
    assert "image " not in err["message_en"] and "不能生成" not in err["message_en"]
    assert "cannot be made" in err["message_en"] and "不能生成" in err["message_zh"]
    r = run("ingest", "--identity", identity_file(person), "--image", str(empty), "--force",
            "--reason", "judged fine", env=SUP)
    assert r.returncode == 2 and empty.name in r.stderr, r.stderr
    assert accepted(run.data_dir, person.id_number).accepted_capture_id is None


def test_another_name_under_a_roster_number_needs_a_supervisor_and_takes_no_fee(station):
    """Two different cards are two people: a card with the roster's number but another name is
    blocked (not photographed under the roster's name) and does not inherit the fee on record."""
    import dataclasses

    run, setup, identity_file, base = station
    person = setup.eligible[2]
    r = run("ingest", "--identity", identity_file(person), "--image", str(base / "good.jpg"),
            "--paid", "--reference", "4200000002", "--json", env=PHO)
    assert r.returncode == 0, r.stderr
    other = dataclasses.replace(person, name="赵六")
    r = run("ingest", "--identity", identity_file(other, "other.json"), "--image",
            str(base / "good.jpg"), "--json", env=PHO)
    assert r.returncode == 1, r.stderr
    assert "name_mismatch" in r.json()["refused"]
    state = accepted(run.data_dir, person.id_number)
    assert len(state.captures) == 1 and len(state.payments) == 1

def test_ingest_refuses_people_not_on_the_roster(station):
    run, setup, identity_file, base = station
    stranger = setup.off_roster[0]
    r = run("ingest", "--identity", identity_file(stranger), "--image", str(base / "good.jpg"),
            "--json", env=PHO)
    assert r.returncode == 1
    assert "not_on_roster" in r.json()["refused"]
    assert accepted(run.data_dir, stranger.id_number).captures == []


def test_ingest_bad_input_names_the_file(station):
    run, setup, identity_file, base = station
    r = run("ingest", "--identity", identity_file(setup.eligible[2]), "--image",
            str(base / "missing.jpg"), env=PHO)
    assert r.returncode == 2 and "missing.jpg" in r.stderr
    bad = base / "broken.json"
    bad.write_text('{"name": "x",', encoding="utf-8")
    r = run("ingest", "--identity", str(bad), "--image", str(base / "good.jpg"), env=PHO)
    assert r.returncode == 2 and "broken.json" in r.stderr


def test_ingest_walk_in_carries_school_code(station):
    run, setup, identity_file, base = station
    stranger = setup.off_roster[1]
    r = run("ingest", "--identity", identity_file(stranger), "--image", str(base / "good.jpg"),
            "--paid", "--walk-in", "10673", "--address", "云南省昆明市五华区翠湖北路2号", "--json",
            env=PHO)
    assert r.returncode == 0, r.stderr
    from station.store import open_store

    store = open_store(run.data_dir)
    try:
        row = store.conn.execute("SELECT school_code, capture_id FROM walk_ins").fetchone()
    finally:
        store.close()
    assert row[0] == "10673" and row[1] == r.json()["capture_id"]


def test_simulate_reports_the_contract_shape(run_station):
    r = run_station("simulate", "--students", "3", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    out = r.json()
    assert out["students"] == 3
    for key in ("median", "p95", "max"):
        assert out["per_student_software_ms"][key] > 0
    assert {"identify", "check_store", "camera_capture", "card_read"} <= set(out["stages_ms"])
    assert out["students_per_hour"] > 0 and out["peak_rss_mb"] > 0
    assert sum(out["outcomes"].values()) == 3


@pytest.mark.parametrize(("field", "value"), [
    ("birth_date", "1987/04/17"), ("valid_to", "2035-13-40"), ("valid_from", "yesterday"),
    ("card_serial", "00000000"), ("nationality", "China"), ("id_number", "53011119870417363")])
def test_ingest_refuses_an_identity_field_out_of_its_format_and_stores_nothing(station, field, value):
    """cli.md gives each identity field a form (dates YYYY-MM-DD, 18-character ID numbers, hex
    serials, alpha-3 nationalities): a typed file outside it is bad input (exit 2 naming the file
    and field), and no card read, capture or payment is written."""
    from station.store import open_store

    run, setup, identity_file, base = station
    person = setup.eligible[0]
    data = person.to_json()
    data[field] = value
    path = identity_file(person, "bad.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
    store = open_store(run.data_dir)
    try:
        before = store.db.execute("select count(*) from card_reads").fetchone()[0]
    finally:
        store.close()
    r = run("--lang", "en", "ingest", "--identity", path, "--image", str(base / "good.jpg"),
            "--paid", env=PHO)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "bad.json" in r.stderr and field in r.stderr and value in r.stderr
    store = open_store(run.data_dir)
    try:
        assert store.db.execute("select count(*) from card_reads").fetchone()[0] == before
        assert store.person_state(person.id_number).captures == []
    finally:
        store.close()


def test_ingest_takes_the_operator_after_the_command_too(station):
    run, setup, identity_file, base = station
    person = setup.eligible[0]
    env = {"STATION_PIN": demo.DEMO_PHOTOGRAPHER_PIN}
    r = run("ingest", "--identity", identity_file(person), "--image", str(base / "good.jpg"),
            "--operator", demo.DEMO_PHOTOGRAPHER, "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert r.json()["accepted"] is True


def test_ingest_refuses_a_file_that_is_no_image_and_stores_nothing(station, tmp_path):
    from station.store import open_store

    run, setup, identity_file, base = station
    person = setup.eligible[0]
    junk = tmp_path / "notes.jpg"
    junk.write_text("not a photo", encoding="utf-8")
    r = run("--lang", "en", "ingest", "--identity", identity_file(person), "--image", str(junk),
            env=PHO)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "notes.jpg" in r.stderr
    store = open_store(run.data_dir)
    try:
        assert store.person_state(person.id_number).captures == []
        assert store.db.execute("select count(*) from card_reads where id_number = ?",
                                [person.id_number]).fetchone()[0] == 0
    finally:
        store.close()
