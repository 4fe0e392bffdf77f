"""Schedule import and matching a card against roster, slot and earlier captures."""

import csv
import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest

from station.config import default_settings
from station.domain import idnumber
from station.errors import InputError
from station.roster import match
from station.roster.importer import ImportRejected, import_roster
from station.roster.schedule import import_schedule
from station.sim.roster import (
    SCHEDULE_CSV,
    demo_roster,
    identity_for,
    off_roster_identities,
    roster_csv,
    roster_xlsx,
)

DAY = dt.date(2017, 10, 25)  # a Wednesday


@pytest.fixture
def campaign(store, tmp_path):
    cfg = default_settings().roster
    import_schedule(store, SCHEDULE_CSV, cfg, "sup")
    roster = tmp_path / "roster.csv"
    roster.write_bytes(roster_csv(demo_roster()))
    import_roster(store, roster, cfg, "sup")
    return store, cfg


def test_reference_schedule_is_shipped_and_imported(campaign):
    store, _ = campaign
    slots = store.schedule.slots()
    assert [s.expected_count for s in slots] == [294, 354, 318, 311, 297, 285, 286, 294, 209]
    assert {(s.campus, s.room) for s in slots} == {("呈贡校区", "文汇楼一栋1403"), ("东陆校区", "南学楼106")}
    assert (slots[0].start, slots[3].end, slots[4].start, slots[-1].end) == ("08:00", "12:00", "14:00", "18:40")
    assert all(s.date == "2017-10-25" for s in slots)


def test_demo_roster_matches_the_schedule(campaign):
    store, _ = campaign
    rows = demo_roster()
    assert rows == demo_roster()  # deterministic
    assert all(idnumber.is_valid(r["身份证号"]) for r in rows)
    assert all(r["身份证号"].startswith(("53", "51", "42", "45", "52")) for r in rows)
    assert len({r["身份证号"] for r in rows}) == len(rows)
    for slot in store.schedule.slots():
        eligible = store.conn.execute(
            f"SELECT COUNT(*) FROM roster_current WHERE eligible = 1 AND department IN "
            f"({','.join('?' * len(slot.departments))})", slot.departments).fetchone()[0]
        assert eligible == slot.expected_count, slot.key
    rules = dict(store.conn.execute(
        "SELECT eligibility_rule, COUNT(*) FROM roster_current GROUP BY eligibility_rule"))
    assert rules["part_time"] == 9 and rules["not_graduating"] == 9
    assert rules["earlier_uncaptured"] > 0 and rules["phd_2014"] > 0


def test_schedule_reimport_changes_and_removes_slots(campaign, tmp_path):
    store, cfg = campaign
    with SCHEDULE_CSV.open(encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    changed = [lines[0], lines[1].replace(",294", ",300"), *lines[2:-1]]
    f = tmp_path / "s.csv"
    f.write_text("\n".join(changed) + "\n", encoding="utf-8")
    report = import_schedule(store, f, cfg, "sup")
    assert (report.updated, report.unchanged, report.removed) == (1, 7, 1)
    assert len(store.schedule.slots()) == 8
    assert store.schedule.slots()[0].expected_count == 300
    assert store.conn.execute("SELECT COUNT(*) FROM schedule_slots").fetchone()[0] == 10


@pytest.mark.parametrize("rows, code, line", [
    (["2017-10-25,呈贡校区,A,09:00,08:00,信息学院,1"], "schedule.end_before_start", 2),
    (["2017-13-25,呈贡校区,A,08:00,09:00,信息学院,1"], "roster.bad_date", 2),
    (["2017-10-25,呈贡校区,A,8点,09:00,信息学院,1"], "schedule.bad_time", 2),
    (["2017-10-25,呈贡校区,A,08:00,10:00,信息学院,1", "2017-10-25,呈贡校区,A,09:00,11:00,农学院,1"],
     "schedule.overlap", 3),
    (["2017-10-25,呈贡校区,A,08:00,09:00,,1"], "roster.empty_cell", 2),
    (["2017-10-25,呈贡校区,A,08:00,09:00,信息学院,很多"], "schedule.bad_count", 2),
])
def test_bad_schedule_is_refused_whole(campaign, tmp_path, rows, code, line):
    store, cfg = campaign
    before = store.conn.execute("SELECT COUNT(*) FROM schedule_slots").fetchone()[0]
    f = tmp_path / "s.csv"
    f.write_text("日期,校区,地点,开始时间,结束时间,培养单位,人数\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as info:
        import_schedule(store, f, cfg, "sup")
    assert (info.value.errors[0].code, info.value.errors[0].line) == (code, line)
    assert store.conn.execute("SELECT COUNT(*) FROM schedule_slots").fetchone()[0] == before


def test_schedule_with_time_range_column(store, tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("date,campus,room,time,departments,expected\n"
                 "2017/10/25,呈贡校区,1403,08:00–09:30,信息学院；农学院,20\n", encoding="utf-8")
    import_schedule(store, f, default_settings().roster, "sup")
    (slot,) = store.schedule.slots()
    assert (slot.start, slot.end, slot.departments) == ("08:00", "09:30", ("信息学院", "农学院"))


def test_missing_schedule_file(store, tmp_path):
    with pytest.raises(InputError):
        import_schedule(store, tmp_path / "nope.csv", default_settings().roster, "sup")


def _row(dept: str, rule: str | None = "master_3y_2015") -> dict:
    for r in demo_roster():
        if r["培养单位"] == dept and (rule is None or (r["入学年份"], r["学制"]) == ("2015", "3")):
            return r
    raise AssertionError(dept)


def test_match_in_slot_on_time(campaign):
    store, cfg = campaign
    person = identity_for(_row("信息学院"))
    m = match(store, person, dt.datetime(2017, 10, 25, 9, 30), settings=cfg)
    assert m.ok and m.eligible and m.department == "信息学院" and m.degree == "master"
    assert m.slot.start == "09:00" and [s.room for s in m.running] == ["文汇楼一栋1403"]
    assert m.to_json()["flags"] == []


def test_match_flags(campaign):
    store, cfg = campaign
    row = _row("法学院")
    person = identity_for(row)
    early = match(store, person, dt.datetime(2017, 10, 25, 9, 30), settings=cfg)
    assert early.codes == ["wrong_slot"]
    assert "15:00" in early.flag("wrong_slot").message_en and "南学楼106" in early.flag("wrong_slot").message_zh
    friday = match(store, person, dt.datetime(2017, 10, 27, 9, 30), settings=cfg)
    assert friday.makeup_day and friday.codes == []

    stranger = off_roster_identities(1)[0]
    assert match(store, stranger, dt.datetime(2017, 10, 25, 15, 0), settings=cfg).codes == ["not_on_roster"]

    in_service = next(r for r in demo_roster() if r["学习方式"] == "非全日制" and r["培养单位"] == "法学院")
    m = match(store, identity_for(in_service), dt.datetime(2017, 10, 25, 15, 0), settings=cfg)
    assert m.codes == ["not_eligible"] and "Part-time" in m.flag("not_eligible").message_en

    renamed = identity_for(row)
    renamed.name = row["姓名"] + "子"
    assert match(store, renamed, dt.datetime(2017, 10, 25, 15, 0), settings=cfg).codes == ["name_mismatch"]

    sha = store.images.put(b"photo")
    cap = store.facts.record_capture(person.id_number, sha, operator="p")
    store.facts.record_acceptance(cap, "accept", operator="p")
    done = match(store, person, dt.datetime(2017, 10, 25, 15, 0), settings=cfg)
    assert done.codes == ["already_captured"]
    details = done.flag("already_captured").details
    assert details["capture_id"] == cap and details["station_id"] == "st-a"
    assert "st-a" in done.flag("already_captured").message_en


def test_demo_files_cli_formats_import(station_cli, tmp_path):
    for fmt, name in (("csv", "roster.csv"), ("gbk", "roster-gbk.csv"), ("xlsx", "roster.xlsx")):
        out = tmp_path / fmt
        r = station_cli("roster", "demo-files", "--out", str(out), "--format", fmt, "--json", operator=None)
        assert r.returncode == 0, r.stderr
        assert Path(r.json()["roster"]).name == name
    assert (tmp_path / "gbk" / "roster-gbk.csv").read_bytes().decode("gbk").startswith("学号")
    assert station_cli("schedule", "import", str(tmp_path / "csv" / SCHEDULE_CSV.name)).returncode == 0
    r = station_cli("roster", "import", str(tmp_path / "xlsx" / "roster.xlsx"), "--json")
    assert r.returncode == 0 and r.json()["added"] == len(demo_roster()) and r.json()["warnings"] == []
    conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
    assert conn.execute("SELECT COUNT(*) FROM roster_current WHERE eligible = 1").fetchone()[0] == 2648


def test_xlsx_bytes_roundtrip(tmp_path):
    rows = demo_roster()[:5]
    (tmp_path / "r.xlsx").write_bytes(roster_xlsx(rows))
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "r.xlsx").worksheets[0]
    got = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert [g[3] for g in got] == [r["身份证号"] for r in rows]
    with SCHEDULE_CSV.open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 9


def test_roster_match_is_the_function_whatever_was_imported_first():
    import importlib

    import station.roster
    import station.roster.match  # noqa: F401  (the submodule of the same name)

    importlib.import_module("station.roster.match")
    assert callable(station.roster.match) and station.roster.match.__name__ == "match"
    from station.roster.match import match as direct

    assert direct is station.roster.match


def test_roster_show_cli(station_cli, tmp_path):
    rows = demo_roster()[:40]
    f = tmp_path / "r.csv"
    f.write_bytes(roster_csv(rows))
    assert station_cli("schedule", "import", str(SCHEDULE_CSV)).returncode == 0
    assert station_cli("roster", "import", str(f)).returncode == 0
    person = rows[0]  # 物理与天文学院, slot 08:00–09:00
    ok = station_cli("roster", "show", person["身份证号"], "--at", "2017-10-25T08:30", "--json")
    assert ok.returncode == 0, ok.stderr
    doc = ok.json()
    assert doc["entry"]["name"] == person["姓名"] and doc["slot"]["start"] == "08:00"
    assert doc["flags"] == [] and doc["state"]["captures"] == []
    late = station_cli("--lang", "en", "roster", "show", person["身份证号"], "--at", "2017-10-25T15:00")
    assert late.returncode == 1 and "Not this slot" in late.stdout
    assert person["身份证号"] not in late.stdout  # masked on screen
    assert "captures: 0" in late.stdout and "no accepted photo yet" in late.stdout
    words = station_cli("--lang", "zh", "roster", "show", person["身份证号"], "--at", "2017-10-25T08:30")
    assert "已采集 0 次" in words.stdout and "尚无通过的照片" in words.stdout and "未导出" in words.stdout
    assert not re.search(r"[a-z]+=|True|False", words.stdout), words.stdout
    stranger = off_roster_identities(1)[0].id_number
    missing = station_cli("roster", "show", stranger, "--json")
    assert missing.returncode == 1 and [f["code"] for f in missing.json()["flags"]] == ["not_on_roster"]


def test_a_control_character_in_one_cell_hides_no_other_rows_errors(campaign, tmp_path):
    """Every bad row is listed at once, in file order, the refused cell among them; the cell the
    control character was found in is named once, not again by the row's own checks."""
    store, cfg = campaign
    before = store.conn.execute("SELECT COUNT(*) FROM schedule_slots").fetchone()[0]
    f = tmp_path / "s.csv"
    f.write_text("日期,校区,地点,开始时间,结束时间,培养单位,人数\n"
                 "2017-10-26,呈贡校区,A,08:00,09:00,信息学院,很多\n"
                 "2017-10-26,呈\x1b[31m贡校区,A,10:00,11:00,农学院,1\n"
                 "2017-13-26,呈贡校区,A,12:00,13:00,农学院,1\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as info:
        import_schedule(store, f, cfg, "sup")
    assert [(e.line, e.column, e.code) for e in info.value.errors] == [
        (2, "人数 (G)", "schedule.bad_count"), (3, "校区 (B)", "privacy.control_character"),
        (4, "日期 (A)", "roster.bad_date")]
    assert store.conn.execute("SELECT COUNT(*) FROM schedule_slots").fetchone()[0] == before
