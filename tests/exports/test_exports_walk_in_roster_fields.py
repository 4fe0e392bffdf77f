"""A walk-in's batch rows and report rows carry what the roster it was matched on says.

A 10674 student at the 10674 walk-in desk of a 10673 station is matched on 10674's roster
(``roster import --school-code 10674``); their name, student number and department come from that
roster in the 10674 batch, its corrections list and the daily report, as the station's own
students' come from its own roster. A walk-in of a school without a roster here keeps the card's
name and no student number or department, and the build says so (``off_roster``).
"""

from __future__ import annotations

import json
from pathlib import Path

from station.privacy import mask_id, mask_name

ADDRESS = "云南省昆明市一二一大街"


def _rows(n: int) -> list[dict]:
    from station.sim.roster import demo_roster

    return [r for r in demo_roster()
            if r["学习方式"] != "非全日制" and r["入学年份"] in (2014, 2015, "2014", "2015")][:n]


def _import(station, tmp_path: Path, name: str, rows: list[dict], school: str | None = None) -> None:
    from station.sim.roster import roster_csv

    (tmp_path / name).write_bytes(roster_csv(rows))
    args = ["roster", "import", str(tmp_path / name), "--json"]
    r = station.as_op("sup", *args, *(["--school-code", school] if school else []))
    assert r.returncode == 0, r.stdout + r.stderr


def _ingest(station, tmp_path: Path, row: dict, n: int, school: str):
    import cv2

    from station.sim.portrait import render
    from station.sim.roster import identity_for

    identity = identity_for(row).to_json()
    (tmp_path / f"id{n}.json").write_text(json.dumps(identity, ensure_ascii=False), "utf-8")
    frame, _ = render(1024, 1365, seed=n, shirt=(30 + 20 * n, 40, 60))
    cv2.imwrite(str(tmp_path / f"p{n}.jpg"), frame)
    r = station.as_op("sup", "ingest", "--identity", str(tmp_path / f"id{n}.json"), "--image",
                      str(tmp_path / f"p{n}.jpg"), "--vouch", "--paid", "--walk-in", school,
                      "--address", ADDRESS, "--json")
    assert r.returncode == 0 and r.json()["accepted"], r.stdout + r.stderr


def _build(station, tmp_path: Path, school: str) -> dict:
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--school-code", school,
                      "--json")
    assert r.returncode == 0, r.stderr
    return r.json()


def _pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _csv_rows(batch: Path, name: str = "manifest.csv") -> list[dict]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO((batch / name).read_bytes().decode("gbk"))))


def test_a_walk_ins_batch_and_report_rows_carry_its_schools_roster_fields(station, tmp_path):
    rows = _rows(3)
    _import(station, tmp_path, "home.csv", rows[:1])
    _import(station, tmp_path, "10674.csv", rows[1:], school="10674")
    walk = rows[1]
    _ingest(station, tmp_path, walk, 1, "10674")

    doc = _build(station, tmp_path, "10674")
    assert doc["photos"] == 1
    batch = Path(doc["path"])
    item = json.loads((batch / "manifest.json").read_text("utf-8"))["items"][0]
    assert (item["id_number"], item["name"], item["student_no"], item["department"], item["school_code"]) == (
        walk["身份证号"], walk["姓名"], walk["学号"], walk["培养单位"], "10674")
    [line] = _csv_rows(batch)
    assert (line["学号"], line["院系"], line["学校代码"]) == (walk["学号"], walk["培养单位"], "10674")

    r = station.as_op("tech", "report", "daily", "--format", "json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    walk_rows = [d for s in report["slots"] for d in s["departments"] if d["school_code"] == "10674"]
    assert [(d["department"], d["unexpected_today"]) for d in walk_rows] == [(walk["培养单位"], 1)]
    r = station.as_op("tech", "report", "daily", "--format", "csv")
    assert r.returncode == 0, r.stderr
    lines = [x.split(",") for x in r.stdout.lstrip("\ufeff").splitlines()]
    dept, school = lines[0].index("院系"), lines[0].index("学校代码")
    assert [(x[dept], x[school]) for x in lines if "10674" in x] == [(walk["培养单位"], "10674")]


def test_a_re_import_of_the_walk_in_schools_roster_after_upload_is_listed_not_rewritten(station, tmp_path):
    """As for the station's own roster: the uploaded batch stays as it was sent; the change goes
    into the next batch of that school's corrections.csv, old → new, once."""
    rows = _rows(2)
    _import(station, tmp_path, "10674.csv", rows, school="10674")
    walk = rows[0]
    _ingest(station, tmp_path, walk, 1, "10674")
    built = _build(station, tmp_path, "10674")
    first = Path(built["path"])
    sent = (first / "manifest.csv").read_bytes()

    changed = [{**rows[0], "培养单位": "化学科学与工程学院", "学号": "X2014000001"}, rows[1]]
    _import(station, tmp_path, "10674-v2.csv", changed, school="10674")
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["corrections"] == 0           # the home school's batch is not told

    doc = _build(station, tmp_path, "10674")
    assert (doc["photos"], doc["corrections"]) == (0, 1)
    batch = Path(doc["path"])
    [fix] = json.loads((batch / "manifest.json").read_text("utf-8"))["corrections"]
    assert fix["replaces_batch"] == built["batch_id"]
    assert (fix["department"], fix["student_no"], fix["correction"]) == (
        "化学科学与工程学院", "X2014000001", "record")
    assert sorted((c["field"], c["old"], c["new"]) for c in fix["changes"]) == [
        ("department", walk["培养单位"], "化学科学与工程学院"),
        ("student_no", walk["学号"], "X2014000001")]
    [line] = _csv_rows(batch, "corrections.csv")
    assert line["院系"] == "化学科学与工程学院" and line["学校代码"] == "10674"
    assert (first / "manifest.csv").read_bytes() == sent        # the uploaded batch is not rewritten
    assert _build(station, tmp_path, "10674")["corrections"] == 0   # listed once


def test_a_correction_of_a_walk_in_applies_over_its_schools_roster(station, tmp_path):
    rows = _rows(1)
    _import(station, tmp_path, "10674.csv", rows, school="10674")
    _ingest(station, tmp_path, rows[0], 1, "10674")
    r = station.as_op("tech", "correct", rows[0]["身份证号"], "--field", "department", "--value",
                      "数学与统计学院", "--reason", "学生本人更正", "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["old_value"] == rows[0]["培养单位"]      # what the batch would have said
    item = json.loads((Path(_build(station, tmp_path, "10674")["path"]) / "manifest.json")
                      .read_text("utf-8"))["items"][0]
    assert (item["department"], item["student_no"]) == ("数学与统计学院", rows[0]["学号"])


def test_a_walk_in_of_a_school_without_a_roster_here_keeps_the_cards_name_only(station, tmp_path):
    rows = _rows(2)
    _import(station, tmp_path, "10674.csv", rows[:1], school="10674")
    _ingest(station, tmp_path, rows[1], 2, "10676")           # no 10676 roster imported
    doc = _build(station, tmp_path, "10676")
    item = json.loads((Path(doc["path"]) / "manifest.json").read_text("utf-8"))["items"][0]
    assert (item["name"], item["student_no"], item["department"]) == (rows[1]["姓名"], "", "")
    # … and the build says so, masked as everywhere in its output and public report
    said = [{"id_number": mask_id(rows[1]["身份证号"]), "name": mask_name(rows[1]["姓名"]), "school_code": "10676"}]
    assert doc["off_roster"] == said
    report = json.loads(Path(doc["report"]).read_text("utf-8"))
    assert report["off_roster"] == said
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "again"), "--batch", doc["batch_id"])
    assert r.returncode == 0, r.stderr                 # a rebuild from the record says the same
    assert f"{mask_id(rows[1]['身份证号'])} {mask_name(rows[1]['姓名'])} 不在本站已导入的学校 10676 名单上" in r.stdout
    assert "学号、院系为空" in r.stdout
    r = station.as_op("tech", "--lang", "en", "export", "build", "--out", str(tmp_path / "en"), "--batch",
                      doc["batch_id"])
    assert "is on no roster of school 10676 imported here" in r.stdout, r.stdout + r.stderr

    _ingest(station, tmp_path, rows[0], 1, "10674")          # on 10674's roster: nothing to say
    assert _build(station, tmp_path, "10674")["off_roster"] == []

    r = station.as_op("tech", "report", "daily", "--format", "json")    # the report says so too
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    rows_by_school = {d["school_code"]: d for s in report["slots"] for d in s["departments"]}
    assert (rows_by_school["10676"]["department"], rows_by_school["10676"]["off_roster"]) == ("", 1)
    assert (rows_by_school["10674"]["department"], rows_by_school["10674"]["off_roster"]) == (rows[0]["培养单位"], 0)
    assert report["totals"]["off_roster"] == 1
    pdf = tmp_path / "daily.pdf"
    r = station.as_op("tech", "report", "daily", "--format", "pdf", "--out", str(pdf))
    assert r.returncode == 0, r.stderr
    assert "未导入该校名单）的当日拍摄 1 人" in _pdf_text(pdf)


def test_a_schools_roster_imported_after_its_walk_ins_went_out_is_listed_once(station, tmp_path):
    """Walk-ins uploaded without a roster of their school (or by a release that did not read it)
    went out with no student number or department: importing the roster later lists them once
    in that school's next corrections.csv (empty → the roster's), the uploaded batch untouched."""
    rows = _rows(1)
    _ingest(station, tmp_path, rows[0], 1, "10676")
    built = _build(station, tmp_path, "10676")
    assert built["photos"] == 1 and len(built["off_roster"]) == 1
    _import(station, tmp_path, "10676.csv", rows, school="10676")
    doc = _build(station, tmp_path, "10676")
    assert (doc["photos"], doc["corrections"], doc["off_roster"]) == (0, 1, [])
    [fix] = json.loads((Path(doc["path"]) / "manifest.json").read_text("utf-8"))["corrections"]
    assert fix["replaces_batch"] == built["batch_id"]
    assert sorted((c["field"], c["old"], c["new"]) for c in fix["changes"]) == [
        ("department", "", rows[0]["培养单位"]), ("student_no", "", rows[0]["学号"])]
    assert _build(station, tmp_path, "10676")["corrections"] == 0


def test_a_walk_in_whose_id_number_is_corrected_keeps_its_schools_roster_fields(station, tmp_path):
    """Its roster entry stays under the number it was imported with; the person it names is the
    one the correction moved to the new number."""
    rows = _rows(2)
    _import(station, tmp_path, "10674.csv", rows[:1], school="10674")
    _ingest(station, tmp_path, rows[0], 1, "10674")
    new = rows[1]["身份证号"]
    r = station.as_op("sup", "correct", rows[0]["身份证号"], "--field", "id_number", "--value", new,
                      "--reason", "证件号码录入有误", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    item = json.loads((Path(_build(station, tmp_path, "10674")["path"]) / "manifest.json")
                      .read_text("utf-8"))["items"][0]
    assert (item["id_number"], item["student_no"], item["department"]) == (
        new, rows[0]["学号"], rows[0]["培养单位"])
