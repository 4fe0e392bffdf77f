"""`station purge`: a finished campaign's personal data and photos go once its batches are
confirmed uploaded; counts and the (masked) audit trail stay, and the keyed seals still hold."""

from __future__ import annotations

import sqlite3

import pytest

from tests.exports.conftest import add_people, person

from .conftest import PIN, SUPERVISOR


@pytest.fixture
def campaign(station_cli, tmp_path):
    """Four people exported in two batches; one more accepted but never exported."""
    data = station_cli.data_dir
    people = [person(i) for i in range(5)]
    add_people(data, people[:2])
    first = station_cli("export", "build", "--out", str(tmp_path / "out"), "--json").json()
    add_people(data, people[2:4])
    second = station_cli("export", "build", "--out", str(tmp_path / "out"), "--json").json()
    assert first["photos"] == 2 and second["photos"] == 2
    return station_cli, people, first["batch_id"], second["batch_id"]


def _counts(data) -> dict[str, int]:
    conn = sqlite3.connect(data / "station.sqlite3")
    try:
        return {
            "people": conn.execute("SELECT COUNT(DISTINCT id_number) FROM captures").fetchone()[0],
            "paid": conn.execute("SELECT SUM(amount_cents) FROM payments").fetchone()[0],
            "accepted": conn.execute("SELECT COUNT(*) FROM accepted_captures").fetchone()[0],
            "exported": conn.execute("SELECT COUNT(*) FROM export_index").fetchone()[0],
            "audit": conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0],
        }
    finally:
        conn.close()


def test_purge_waits_for_confirmed_batches_then_masks_everything(campaign):
    run, people, first, second = campaign
    data = run.data_dir
    blocked = run("--lang", "en", "purge", "--json")
    assert blocked.returncode == 1
    assert {b["reason"] for b in blocked.json()["plan"]["blocked"]} == {"not_confirmed"}
    tech = run("export", "confirm", first, operator=None)
    assert tech.returncode == 2                                  # needs an operator
    assert run("export", "confirm", first, second, "--note", "回执 123").returncode == 0
    again = run("--lang", "en", "export", "confirm", first)
    assert again.returncode == 0 and "already" in again.stdout
    add_people(data, [person(9, decisions=["accept"])])         # accepted, never exported
    still = run("purge", "--json")
    assert still.returncode == 1
    assert [b["reason"] for b in still.json()["plan"]["blocked"]] == ["not_exported"]
    # the last one is exported and confirmed too: now the campaign can go
    last = run("export", "build", "--out", str(data.parent / "out"), "--json").json()
    assert run("export", "confirm", last["batch_id"]).returncode == 0
    before = _counts(data)
    photo = run("purge", "--json", operator=SUPERVISOR, pin=PIN)
    assert photo.returncode == 0, photo.stderr
    result = photo.json()["result"]
    assert result["people"] == 5 and result["images_removed"] == 10
    after = _counts(data)
    assert {k: after[k] for k in ("people", "paid", "accepted", "exported")} == \
        {k: before[k] for k in ("people", "paid", "accepted", "exported")}
    assert after["audit"] > before["audit"]                      # the trail stays, and grows
    # no ID number, name or photo of anyone is left in the data folder, WAL included
    blob = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())
    for p in [*people[:4], person(9)]:
        assert p["id_number"].encode() not in blob
        assert p["name"].encode() not in blob
    assert [f for f in (data / "images").rglob("*") if f.is_file()] == []
    check = run("fsck", "--json", operator=None)
    assert check.returncode == 0, check.stdout
    masked = sqlite3.connect(data / "station.sqlite3").execute(
        "SELECT DISTINCT id_number FROM captures").fetchall()
    assert all("#" in m[0] and "*" in m[0] for m in masked)


def test_a_purge_does_not_bless_an_edit(campaign):
    run, people, first, second = campaign
    assert run("export", "confirm", first, second).returncode == 0
    conn = sqlite3.connect(run.data_dir / "station.sqlite3")
    conn.execute("UPDATE payments SET amount_cents = 1 WHERE rowid = 1")
    conn.commit()
    conn.close()
    r = run("--lang", "en", "purge")
    assert r.returncode == 1 and "integrity" in r.stderr
    assert people[0]["id_number"] in str(sqlite3.connect(run.data_dir / "station.sqlite3")
                                          .execute("SELECT id_number FROM captures").fetchall())


def test_masked_rows_are_still_sealed(campaign):
    run, _, first, second = campaign
    assert run("export", "confirm", first, second).returncode == 0
    done = run("--lang", "en", "purge")
    assert done.returncode == 0
    assert "station campaign new" in done.stdout        # nobody left: how the next campaign begins
    conn = sqlite3.connect(run.data_dir / "station.sqlite3")
    conn.execute("UPDATE payments SET amount_cents = amount_cents + 1 WHERE rowid = 1")
    conn.commit()
    conn.close()
    check = run("fsck", "--json", operator=None)
    assert check.returncode == 1
    assert [p["code"] for p in check.json()["problems"]] == ["row_altered"]


def _blob(data) -> bytes:
    """Every byte of the data folder, the database and its WAL included."""
    return b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())


def test_purge_blanks_the_correction_trail_of_purged_people(station_cli, tmp_path):
    """A corrected name, student number, birth date or ID number is personal data like the
    record it corrected: after a purge the trail says that a correction of which field was made,
    by whom and when, and no value of it can be read back (the database, WAL and batch reports)."""
    import datetime as dt

    from station.domain import idnumber
    from station.privacy import mask_name
    from tests.exports.conftest import add_people, person

    run, data = station_cli, station_cli.data_dir
    people = [person(0, student_no="XS-2020-0000"), person(1, student_no="XS-2020-0001")]
    add_people(data, people)
    first = run("export", "build", "--out", str(tmp_path / "out"), "--json").json()["batch_id"]
    new_id = idnumber.make("530102", dt.date(1999, 9, 9), 41, male=True)
    for idn, fld, value in ((people[0]["id_number"], "name", "更正后的名字"),
                            (people[0]["id_number"], "student_no", "XS-NEW-0000"),
                            (people[0]["id_number"], "birth_date", "1999-12-31"),
                            (people[1]["id_number"], "id_number", new_id)):
        r = run("correct", idn, "--field", fld, "--value", value, "--reason", "学生本人核对")
        assert r.returncode == 0, r.stderr
    second = run("export", "build", "--out", str(tmp_path / "out"), "--json")
    assert second.returncode == 0, second.stderr
    assert run("export", "confirm", first, second.json()["batch_id"]).returncode == 0
    blob = _blob(data)
    secrets = [b"XS-NEW-0000", b"XS-2020-0000", "更正后的名字".encode(), b"1999-12-31", new_id.encode()]
    assert all(s in blob for s in secrets)                 # the values were there to be purged
    r = run("purge", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.json()["result"]["people"] == 2               # the re-keyed one counted once
    blob = _blob(data)
    for secret in (*secrets, *(p["id_number"].encode() for p in people)):
        assert secret not in blob, secret
    conn = sqlite3.connect(data / "station.sqlite3")
    rows = conn.execute("SELECT field, old_value, new_value, reason, operator, hlc FROM corrections "
                        "ORDER BY hlc").fetchall()
    conn.close()
    assert [r[0] for r in rows] == ["name", "student_no", "birth_date", "id_number"]
    assert all(r[4] == SUPERVISOR and r[5] and r[3] == "学生本人核对" for r in rows)   # who, when, why
    name, number, born, rekey = rows
    assert name[1:3] == (mask_name(people[0]["name"]), "更****字")   # masked like every name
    assert number[1:3] == (None, None) and born[2] is None and not born[1]   # (no birth date before)
    assert all("#" in v and "*" in v for v in rekey[1:3])  # pseudonyms, like every ID number
    check = run("fsck", "--json", operator=None)
    assert check.returncode == 0, check.stdout


def test_purge_scrubs_names_and_numbers_typed_into_free_text(station_cli, tmp_path):
    """A correction's reason and an upload confirmation's note are typed by an operator and can
    name anyone: after a purge the text stays (it says why) but no name, student number or ID
    number of a purged person can be read in it, and no full ID number of anyone else."""
    run, data = station_cli, station_cli.data_dir
    people = [person(0), person(1)]
    stranger = "110101199003077777"                       # ID-number-like, of nobody in the store
    add_people(data, people)
    p0, p1 = people
    reason = f"{p0['name']}本人({p0['id_number']}, 学号{p0['student_no']})要求；{p1['name']}作证，见{stranger}"
    r = run("correct", p0["id_number"], "--field", "department", "--value", "化学学院",
            "--reason", reason)
    assert r.returncode == 0, r.stderr
    from station.sim.roster import demo_roster, roster_csv

    named = tmp_path / f"{p0['name']}补录.csv"                       # a file named after a student
    named.write_bytes(roster_csv(demo_roster()[:1]))
    assert run("roster", "import", str(named)).returncode == 0
    batch = run("export", "build", "--out", str(tmp_path / "out"), "--json").json()["batch_id"]
    assert run("export", "confirm", batch, "--note", f"回执 {p1['name']} {p1['id_number']}").returncode == 0
    r = run("purge", "--json")
    assert r.returncode == 0, r.stderr
    blob = _blob(data)
    for p in people:
        for value in (p["id_number"], p["name"], p["student_no"]):
            assert value.encode() not in blob, value
    assert stranger.encode() not in blob
    conn = sqlite3.connect(data / "station.sqlite3")
    (kept,) = conn.execute("SELECT reason FROM corrections").fetchone()
    (note,) = conn.execute("SELECT note FROM upload_confirmations").fetchone()
    assert "本人(" in kept and "要求" in kept and "作证" in kept and "110***********7777" in kept
    assert note.startswith("回执 ") and "#" in note                 # the pseudonym, not the number
    assert run("fsck", "--json", operator=None).returncode == 0
    again = run("purge", "--json")                                   # nothing left to do
    assert again.returncode == 0 and again.json()["plan"]["people"] == 0


def test_purge_masks_purged_people_in_the_station_log(campaign):
    """Lines already in the log (an older release's, a library's) can name a person: a purge
    masks purged people's names and numbers there too, and drops fontTools' glyph-name lines."""
    run, people, first, second = campaign
    log = run.data_dir / "logs" / "station.log"
    p0 = people[0]
    glyphs = ", ".join(f"'uni{ord(ch):04X}'" for ch in p0["name"])
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"2026-06-01 10:00:00,000 INFO station.desk: showing {p0['name']} {p0['student_no']}\n")
        fh.write(f"2026-06-01 10:00:01,000 INFO fontTools.subset: Glyph names: [{glyphs}]\n")
        fh.write(f"2026-06-01 10:00:02,000 WARNING station.x: raw {people[1]['id_number']}\n")
    assert run("export", "confirm", first, second).returncode == 0
    assert run("purge").returncode == 0
    text = log.read_text("utf-8")
    assert "INFO station.desk: showing" in text and "fontTools" not in text
    for p in people[:2]:
        assert p["name"] not in text and p["id_number"] not in text and p["student_no"] not in text
    assert oct(log.stat().st_mode & 0o777) == "0o600"
