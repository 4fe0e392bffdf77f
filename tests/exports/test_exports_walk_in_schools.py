"""Friday walk-ins of several schools: each school's batch holds that school's photos only.

A capture belongs to the walk-in school it was taken for, else to the school its station was set
up for (``station init``), else to this store's school; a batch is one school's (exports/*.toml
have no setting that mixes them), and its report lists only that school's people.
"""

from __future__ import annotations

from pathlib import Path

from station.privacy import mask_id


def _walk_in(data_dir, capture_id: str, id_number: str, school: str) -> None:
    from station.store import open_store

    with open_store(data_dir) as store:
        store.insert("walk_ins", {"id_number": id_number, "capture_id": capture_id,
                                  "school_code": school, "mailing_address": "云南省昆明市一二一大街",
                                  "operator": "photo"})


def _manifest_schools(batch: Path) -> set[str]:
    import json

    doc = json.loads((batch / "manifest.json").read_text("utf-8"))
    return {item["school_code"] for item in doc["items"]}


def test_a_walk_in_schools_batch_holds_only_that_schools_photos(station, add_people, person, tmp_path):
    home = [person(0), person(1)]                      # the station's own school (10673), regular desk
    walk = person(2, on_roster=False)                  # a 10674 student at the Friday walk-in desk
    ids = add_people(station.data_dir, [*home, walk])
    _walk_in(station.data_dir, ids[2], walk["id_number"], "10674")
    from station.store import open_store
    with open_store(station.data_dir) as store:        # on the roster, never captured
        store.insert("roster_entries", {"id_number": person(3)["id_number"], "name": "未到者",
                                        "student_no": "2020000003", "department": "物理学院", "eligible": 1})

    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--school-code", "10674",
                      "--json")
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert doc["photos"] == 1
    batch = Path(doc["path"])
    assert [p.name for p in (batch / "upload").iterdir()] == [f"{walk['id_number']}.jpg"]
    assert _manifest_schools(batch) == {"10674"}
    # 10673's people are not this batch's business: no "not captured yet" for the home roster
    reasons = {s["id_number"]: s["reason"] for s in doc["not_in_batch"]}
    assert mask_id(person(3)["id_number"]) not in reasons
    assert reasons == {}          # the home school's photos are not "walk-ins of another school"

    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json")
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert doc["photos"] == 2                          # the home school's two, never sent as 10674
    assert _manifest_schools(Path(doc["path"])) == {"10673"}
    reasons = {s["id_number"]: s["reason"] for s in doc["not_in_batch"]}
    assert reasons[mask_id(person(3)["id_number"])] == "not_captured"
    # the 10674 walk-in went out in its own batch above: not "export it with --school-code" again
    assert mask_id(walk["id_number"]) not in reasons


def test_a_malformed_school_code_is_refused_before_any_batch(station, add_people, person, tmp_path):
    """``--school-code`` names the batch's school: five ASCII digits, or exit 2 and nothing written
    (a batch for ``abc`` or full-width ``１０６７４`` would never reach a school)."""
    add_people(station.data_dir, [person(0)])
    for code in ("abc", "１０６７４", "106741"):
        r = station.as_op("tech", "--lang", "en", "export", "build", "--out", str(tmp_path / "o"),
                          "--school-code", code)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "--school-code" in r.stderr and "5 digits" in r.stderr
    assert not (tmp_path / "o").exists()


def test_the_daily_report_names_each_walk_in_schools_rows(station, add_people, person, tmp_path):
    """The Friday desk's day: the other school's walk-ins are their own row, under their school
    code (JSON and CSV), never counted into the home school's rows."""
    import csv
    import io

    ids = add_people(station.data_dir, [person(0), person(1, on_roster=False, department=""),
                                        person(2, on_roster=False, department="")])
    _walk_in(station.data_dir, ids[1], person(1)["id_number"], "10674")
    _walk_in(station.data_dir, ids[2], person(2)["id_number"], "10673")
    r = station.as_op("tech", "report", "daily", "--json")
    assert r.returncode == 0, r.stderr
    rows = [d for slot in r.json()["slots"] for d in slot["departments"]]
    by_school = {}
    for d in rows:
        by_school.setdefault(d["school_code"], []).append(d)
    assert sorted(by_school) == ["10673", "10674"]
    assert [d["captured"] for d in by_school["10674"]] == [1]
    assert sum(d["captured"] for d in by_school["10673"]) == 2
    out = tmp_path / "day.csv"
    r = station.as_op("tech", "report", "daily", "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    table = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    at = table[0].index("学校代码")
    assert sorted(row[at] for row in table[1:] if row[at]) == sorted(d["school_code"] for d in rows)


def test_the_daily_reports_pdf_names_each_rows_school_too(station, add_people, person, tmp_path):
    """The PDF of the day is the one the office prints: each row carries its school code (学校代码)
    as the JSON and CSV rows do, so a 10674 walk-in row is not read as the home school's."""
    import pypdfium2 as pdfium

    ids = add_people(station.data_dir, [person(0), person(1, on_roster=False, department="")])
    _walk_in(station.data_dir, ids[1], person(1)["id_number"], "10674")
    out = tmp_path / "day.pdf"
    r = station.as_op("tech", "report", "daily", "--format", "pdf", "--out", str(out))
    assert r.returncode == 0, r.stderr
    doc = pdfium.PdfDocument(str(out))
    try:
        lines = doc[0].get_textpage().get_text_range().splitlines()
    finally:
        doc.close()
    header = next(line.split() for line in lines if line.startswith("场次"))
    assert header[:3] == ["场次", "院系", "学校代码"]
    rows = [line.split() for line in lines if line.startswith("其他 / other")]
    schools = [[t for t in row[3:5] if len(t) == 5 and t.isdigit()] for row in rows]  # after the slot
    assert sorted(s for found in schools for s in found) == ["10673", "10674"]


def test_print_sheets_are_one_schools_too(station, add_people, person, tmp_path):
    """Sheets are cut and stuck on one school's diplomas, under its code: another school's walk-ins
    are printed with ``--school-code`` of theirs, never among the home school's."""
    ids = add_people(station.data_dir, [person(0), person(1), person(2, on_roster=False)])
    _walk_in(station.data_dir, ids[2], person(2)["id_number"], "10674")
    r = station.as_op("tech", "print", "sheets", "--out", str(tmp_path / "home.pdf"), "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["photos"] == 2
    r = station.as_op("tech", "print", "sheets", "--out", str(tmp_path / "other.pdf"), "--school-code", "10674",
                      "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["photos"] == 1


def test_a_walk_in_is_matched_on_its_own_schools_roster(station, tmp_path):
    """A 10674 student at the 10674 walk-in desk of a 10673 station, on 10674's roster imported
    there (`roster import --school-code 10674`): matched on that roster (not `home_roster`, which
    is for the station's own students), and what it says still holds (in-service: not eligible).
    The home school's roster is not theirs: 10674's students are not counted in its report."""
    import json

    import cv2

    from station.sim.portrait import render
    from station.sim.roster import demo_roster, identity_for, roster_csv

    rows = demo_roster()
    full = [r for r in rows if r["学习方式"] != "非全日制" and r["入学年份"] in (2014, 2015, "2014", "2015")][:3]
    part = next(r for r in rows if r["学习方式"] == "非全日制")
    (tmp_path / "home.csv").write_bytes(roster_csv(full[:1]))
    (tmp_path / "10674.csv").write_bytes(roster_csv([*full[1:], part]))
    assert station.as_op("sup", "roster", "import", str(tmp_path / "home.csv")).returncode == 0
    r = station.as_op("sup", "roster", "import", str(tmp_path / "10674.csv"), "--school-code", "10674", "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["school_code"] == "10674" and r.json()["added"] == 3

    def ingest(row, n):
        identity = identity_for(row).to_json()
        (tmp_path / f"id{n}.json").write_text(json.dumps(identity, ensure_ascii=False), "utf-8")
        frame, _ = render(1024, 1365, seed=n, shirt=(30 + 20 * n, 40, 60))
        cv2.imwrite(str(tmp_path / f"p{n}.jpg"), frame)
        return station.as_op("sup", "ingest", "--identity", str(tmp_path / f"id{n}.json"), "--image",
                             str(tmp_path / f"p{n}.jpg"), "--vouch", "--paid", "--walk-in", "10674",
                             "--address", "云南省昆明市一二一大街", "--json")

    r = ingest(full[1], 1)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.json()["flags"] == ["walk_in"] and r.json()["accepted"]
    r = ingest(part, 2)
    assert r.returncode == 1 and r.json()["refused"] == ["not_eligible"]
    r = ingest(full[0], 3)                             # the station's own student at 10674's desk
    assert r.returncode == 1 and r.json()["refused"] == ["home_roster"]
    doc = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json").json()
    missing = {s["id_number"] for s in doc["not_in_batch"] if s["reason"] == "not_captured"}
    assert missing == {mask_id(full[0]["身份证号"])}     # the home roster's one; not 10674's people


def test_a_student_on_another_walk_in_schools_roster_is_stopped(station, tmp_path):
    """A Friday session mixes schools: a 10674 student (on 10674's roster, imported here) at the
    10676 desk, or at the station's own school's walk-in desk, was taken as a stranger (no roster
    of that school holds them: not_on_roster, waived) — an in-service master whom 10674's roster
    calls not eligible was photographed, and any of them went out in the wrong school's batch.
    Now the desk says whose roster holds them (``other_roster``: check the school; a supervisor
    approves if it really is this one)."""
    import json

    import cv2

    from station.sim.portrait import render
    from station.sim.roster import demo_roster, identity_for, roster_csv

    rows = demo_roster()
    full = next(r for r in rows if r["学习方式"] != "非全日制" and r["入学年份"] in (2014, "2014"))
    part = next(r for r in rows if r["学习方式"] == "非全日制")
    (tmp_path / "10674.csv").write_bytes(roster_csv([full, part]))
    r = station.as_op("sup", "roster", "import", str(tmp_path / "10674.csv"), "--school-code", "10674")
    assert r.returncode == 0, r.stderr
    frame, _ = render(1024, 1365, seed=1, shirt=(50, 40, 60))
    cv2.imwrite(str(tmp_path / "p.jpg"), frame)

    def ingest(row, school, lang="zh", *extra):
        (tmp_path / "id.json").write_text(json.dumps(identity_for(row).to_json(), ensure_ascii=False), "utf-8")
        return station.as_op("sup", "--lang", lang, "ingest", "--identity", str(tmp_path / "id.json"), "--image",
                             str(tmp_path / "p.jpg"), "--vouch", "--paid", "--walk-in", school,
                             "--address", "云南省昆明市一二一大街", *(extra or ("--json",)))

    for row in (full, part):
        for school in ("10676", "10673"):
            r = ingest(row, school)
            assert r.returncode == 1, (school, r.stdout + r.stderr)
            assert "other_roster" in r.json()["refused"], r.stdout
    r = ingest(part, "10676", "en", "--paid")
    assert r.returncode == 1 and "on another school's roster" in r.stdout + r.stderr, r.stdout + r.stderr
    from station.store import open_store
    with open_store(station.data_dir) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM accepted_captures").fetchone()[0] == 0
    r = ingest(full, "10674")                          # at its own school's desk: taken
    assert r.returncode == 0 and r.json()["flags"] == ["walk_in"], r.stdout + r.stderr


def test_a_code_two_students_carry_keeps_both_out_whichever_batch_comes_first(station, add_people, person,
                                                                             tmp_path):
    """After a merge one 图像采集码 may name a home student and a 10674 walk-in (or two students of
    two departments). Neither goes out until it is put right, README says; but a batch saw only
    its own items and what was uploaded: 10674's batch (or one department's) sent its student's
    photo under the code, and the other student's photo was left out only later. Every person's
    current accepted photo counts, as ``conflicts list`` counts them."""
    from station.privacy import mask_id

    code_mode = {"STATION__SESSION__MODE": "code"}
    people = [person(0, capture_code="Xq7mA2kP9zR4tB1c"), person(1, capture_code="Lw3nE8vH5yU6oI0d"),
              person(2, capture_code="xQ7Ma2Kp9Zr4Tb1C"),
              person(3, capture_code="lw3ne8vh5yu6oi0d", department="物理学院")]
    ids = add_people(station.data_dir, people)
    _walk_in(station.data_dir, ids[2], people[2]["id_number"], "10674")     # 0 (10673) and 2 (10674)
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--school-code", "10674",
                      "--json", env=code_mode)
    assert r.returncode == 0, r.stderr
    assert r.json()["photos"] == 0, r.stdout
    assert {s["id_number"]: s["reason"] for s in r.json()["not_in_batch"]} == {
        mask_id(people[2]["id_number"]): "code_clash"}
    # 1 (化学学院) and 3 (物理学院) share the other code: one department's batch
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--department",
                      people[1]["department"], "--json", env=code_mode)
    assert r.returncode == 0, r.stderr
    reasons = {s["id_number"]: s["reason"] for s in r.json()["not_in_batch"]}
    assert reasons.get(mask_id(people[1]["id_number"])) == "code_clash", r.stdout
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json", env=code_mode)
    assert r.returncode == 0, r.stderr
    assert r.json()["photos"] == 0, r.stdout
    assert {s["id_number"]: s["reason"] for s in r.json()["not_in_batch"]} == {
        **{mask_id(p["id_number"]): "code_clash" for p in (people[0], people[1], people[3])},
        mask_id(people[2]["id_number"]): "other_school"}



def test_a_school_code_typed_in_full_width_is_named_as_such(station, roster_people, tmp_path):
    """A Chinese input method in full-width mode types １０６７４. School codes are five ASCII
    digits (a batch under another code never reaches its school), but `--walk-in` called it a
    school "not configured" and advised adding "１０６７４ = ..." to station.toml — a key no
    command could ever match. Every option now says the same: the code is invalid, five
    half-width digits; and nothing is recorded."""
    full = "".join(chr(ord(c) + 0xFEE0) for c in "10674")
    (_identity, id_file, image), = roster_people(1)
    for lang, words in (("zh", "半角"), ("en", "half-width")):
        r = station.as_op("sup", "--lang", lang, "ingest", "--identity", str(id_file), "--image", str(image),
                          "--paid", "--vouch", "--walk-in", full, "--address", "云南省昆明市一二一大街")
        assert r.returncode == 2, r.stdout + r.stderr
        assert r.stderr.startswith("--walk-in: ") and words in r.stderr, r.stderr
        assert "station.toml" not in r.stderr, r.stderr
        r = station.as_op("tech", "--lang", lang, "export", "build", "--out", str(tmp_path / "o"),
                          "--school-code", full)
        assert r.returncode == 2 and words in r.stderr, r.stderr
    from station.store import open_store
    with open_store(station.data_dir) as store:
        for table in ("card_reads", "payments", "captures"):
            assert store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table
