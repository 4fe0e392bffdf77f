"""Roster import through the real command line: encodings, formats, and all-or-nothing errors."""

import datetime as dt
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import Workbook

from station.domain import idnumber
from tests.conftest import run_station_cmd

ROOT = Path(__file__).resolve().parents[2]
HEADER = "学号,姓名,性别,身份证号,培养单位,学历层次,学制,入学年份,学习方式"


def _idn(seq: int, male: bool = True, born: dt.date = dt.date(1991, 5, 6)) -> str:
    return idnumber.make("530102", born, seq, male)


GOOD_ROWS = [
    f"22015010001,张三,男,{_idn(1)},物理与天文学院,硕士研究生,3,2015,全日制",
    f"22016010002,李四,女,{_idn(2, male=False)},物理与天文学院,硕士,2,2016,全日制",
    f"12014010003,王五,男,{_idn(3, born=dt.date(1988, 1, 2))},信息学院,博士研究生,3,2014,全日制",
    f"22015010004,赵六,男,{_idn(4)},信息学院,硕士研究生,3,2015,非全日制",
]


def _csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    text = "\r\n".join(lines) + "\r\n"
    if encoding == "utf-16-be-bom":          # Python's "utf-16" writes the machine's order (LE)
        path.write_bytes(b"\xfe\xff" + text.encode("utf-16-be"))
    else:
        path.write_bytes(text.encode(encoding))
    return path


def _raw(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _xlsx(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def _snapshot(data_dir: Path) -> dict:
    conn = sqlite3.connect(data_dir / "station.sqlite3")
    out = {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
           for t in ("roster_entries", "imports", "schedule_slots", "tombstones")}
    conn.close()
    return out


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-be-bom"])
def test_csv_encodings(station_cli, tmp_path, encoding):
    f = _csv(tmp_path / "r.csv", [HEADER, *GOOD_ROWS], encoding)
    r = station_cli("roster", "import", str(f), "--json")
    assert r.returncode == 0, r.stderr
    report = r.json()
    assert (report["rows"], report["added"], report["eligible"], report["not_eligible"]) == (4, 4, 3, 1)
    listed = station_cli("fsck", "--json", operator=None)
    assert listed.returncode == 0, listed.stdout
    conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
    names = dict(conn.execute("SELECT id_number, name FROM roster_current"))
    rules = dict(conn.execute("SELECT name, eligibility_rule FROM roster_current"))
    assert names[_idn(2, male=False)] == "李四"
    assert rules == {"张三": "master_3y_2015", "李四": "master_2y_2016", "王五": "phd_2014",
                     "赵六": "part_time"}


def test_xlsx_and_english_headers(station_cli, tmp_path):
    f = _xlsx(tmp_path / "r.xlsx", [
        ["Student No", "Name", "Gender", "ID Number", "Department", "Degree", "Program years",
         "Entry year", "Study mode", "Note"],
        [22015010001, "张三", "male", _idn(1), "物理与天文学院", "master", 3, 2015, "full-time", "x"],
        [12014010003, "王五", "M", _idn(3, born=dt.date(1988, 1, 2)), "信息学院", "PhD", 3,
         dt.datetime(2014, 9, 1), "", None],
    ])
    r = station_cli("roster", "import", str(f), "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["format"] == "xlsx" and r.json()["added"] == 2 and r.json()["eligible"] == 2
    conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
    extra, no = conn.execute("SELECT extra, student_no FROM roster_current WHERE name='张三'").fetchone()
    assert extra == '{"Note": "x"}' and no == "22015010001"


def test_reimport_updates_by_id_number_and_keeps_history(station_cli, tmp_path):
    first = _csv(tmp_path / "a.csv", [HEADER, *GOOD_ROWS])
    assert station_cli("roster", "import", str(first)).returncode == 0
    changed = [GOOD_ROWS[0].replace("张三", "张叁"), *GOOD_ROWS[1:]]
    second = _csv(tmp_path / "b.csv", [HEADER, *changed])
    dry = station_cli("roster", "import", str(second), "--dry-run", "--json").json()
    assert (dry["added"], dry["updated"], dry["unchanged"], dry["dry_run"]) == (0, 1, 3, True)
    r = station_cli("roster", "import", str(second), "--json")
    assert (r.json()["updated"], r.json()["unchanged"]) == (1, 3)
    conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
    history = [n for (n,) in conn.execute(
        "SELECT name FROM roster_entries WHERE id_number = ? ORDER BY hlc", (_idn(1),))]
    assert history == ["张三", "张叁"]
    assert conn.execute("SELECT name FROM roster_current WHERE id_number = ?",
                        (_idn(1),)).fetchone()[0] == "张叁"


def _bad_xlsx_formula(tmp_path):
    return _xlsx(tmp_path / "f.xlsx", [HEADER.split(","), GOOD_ROWS[0].split(","),
                                       ["22015010009", "=CONCAT(\"张\",\"九\")", "男", _idn(9),
                                        "信息学院", "硕士", "3", "2015", "全日制"]])


def _bad_xlsx_numeric_id(tmp_path):
    """Excel turns a typed 18-digit number into a float: its last digits are gone."""
    row = GOOD_ROWS[1].split(",")
    row[3] = int(row[3][:17] + "1")  # the cell holds a number, as Excel saves it
    return _xlsx(tmp_path / "n.xlsx", [HEADER.split(","), GOOD_ROWS[0].split(","), row])


BAD_FILES = {
    # name: (builder(tmp_path) -> path, expected line, text that must appear in the English error)
    "bad_bytes": (lambda p: _raw(p / "x.csv", "\r\n".join([HEADER, GOOD_ROWS[0]]).encode()
                                 + b"\r\n" + GOOD_ROWS[1].encode()[:-9] + b"\xff\xfe\r\n"),
                  3, "Cannot decode"),
    "mixed_encodings": (lambda p: _raw(p / "x.csv", ("\r\n".join([HEADER, *GOOD_ROWS[:3]]) + "\r\n").encode()
                                       + GOOD_ROWS[3].encode("gbk") + b"\r\n"),
                        5, "Cannot decode as UTF-8"),
    "utf16_check_digit": (lambda p: _csv(p / "x.csv", [HEADER, GOOD_ROWS[0],
                                                       GOOD_ROWS[1].replace(_idn(2, male=False),
                                                                            _idn(2, male=False)[:17] + "0")],
                                         "utf-16"), 3, "check digit"),
    "utf16_cut": (lambda p: _raw(p / "x.csv", ("\r\n".join([HEADER, *GOOD_ROWS]) + "\r\n").encode("utf-16")
                                 [:-1]), 5, "Cannot decode as UTF-16"),
    "missing_column": (lambda p: _csv(p / "x.csv", [HEADER.replace(",身份证号", ""),
                                                    "1,张三,男,物理与天文学院,硕士,3,2015,全日制"]),
                       1, "Required column missing: 身份证号"),
    "check_digit": (lambda p: _csv(p / "x.csv", [HEADER, GOOD_ROWS[0],
                                                 GOOD_ROWS[1].replace(_idn(2, male=False),
                                                                      _idn(2, male=False)[:17] + "0")]),
                    3, "check digit"),
    "duplicate_id": (lambda p: _csv(p / "x.csv", [HEADER, *GOOD_ROWS,
                                                  GOOD_ROWS[0].replace("22015010001", "22015010099")]),
                     6, "Same ID number as line 2"),
    "empty": (lambda p: _csv(p / "x.csv", [""]), None, "empty"),
    "header_only": (lambda p: _csv(p / "x.csv", [HEADER]), 1, "no data rows"),
    "huge_cell": (lambda p: _csv(p / "x.csv", [HEADER, GOOD_ROWS[0].replace("张三", "张" * 5000)]),
                  2, "Cell too long"),
    "formula": (_bad_xlsx_formula, 3, "formula"),
    "bad_date": (lambda p: _csv(p / "x.csv", [HEADER + ",出生日期",
                                              GOOD_ROWS[0] + ",1991-02-30"]), 2, "Date '1991-02-30'"),
    "gender_mismatch": (lambda p: _csv(p / "x.csv", [HEADER, GOOD_ROWS[0].replace(",男,", ",女,")]),
                        2, "does not match"),
    "bad_degree": (lambda p: _csv(p / "x.csv", [HEADER, GOOD_ROWS[0].replace("硕士研究生", "大专")]),
                   2, "Degree '大专'"),
    "bad_year": (lambda p: _csv(p / "x.csv", [HEADER, GOOD_ROWS[0].replace(",2015,", ",二零一五,")]),
                 2, "Year"),
    "not_xlsx": (lambda p: _raw(p / "x.xlsx", b"PK\x03\x04 not really a zip"),
                 None, "Cannot read the XLSX"),
    "xlsx_numeric_id": (_bad_xlsx_numeric_id, 3, "format the column as Text"),
    "legacy_xls": (lambda p: _raw(p / "x.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100),
                   None, ".xls"),
    "extra_cell": (lambda p: _csv(p / "x.csv", [HEADER, GOOD_ROWS[0] + ",stray"]), 2, "beyond the last"),
    "empty_required": (lambda p: _csv(p / "x.csv", [HEADER, GOOD_ROWS[0].replace(",张三,", ",,")]),
                       2, "Required cell is empty"),
}


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory):
    """A data dir after `station init` and a one-person import, made once and copied per test."""
    root = tmp_path_factory.mktemp("seeded")
    data = root / "data"
    env = {"STATION_PIN": "2468"}
    assert run_station_cmd(["init", "--station-id", "st-a", "--supervisor", "主管甲"], data,
                           env).returncode == 0
    seed = _csv(root / "seed.csv", [HEADER, GOOD_ROWS[3]])
    env["STATION_OPERATOR"] = "主管甲"
    assert run_station_cmd(["roster", "import", str(seed)], data, env).returncode == 0
    return data


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_malformed_file_is_refused_whole_and_changes_nothing(seeded_template, tmp_path, case):
    data = tmp_path / "data"
    shutil.copytree(seeded_template, data)

    def station_cli(*args):
        return run_station_cmd(list(args), data, {"STATION_OPERATOR": "主管甲", "STATION_PIN": "2468"})

    station_cli.data_dir = data
    before = _snapshot(station_cli.data_dir)
    assert len(before["roster_entries"]) == 1
    build, line, text = BAD_FILES[case]
    path = build(tmp_path)
    r = station_cli("--lang", "en", "roster", "import", str(path))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert text in r.stderr, r.stderr
    assert str(path) in r.stderr
    if line is not None:
        assert f"line {line}" in r.stderr, r.stderr
    assert _snapshot(station_cli.data_dir) == before
    j = station_cli("roster", "import", str(path), "--json")
    assert j.returncode == 2
    doc = j.json()
    assert doc["error"].startswith("roster.") or doc["error"].startswith("common.")
    if line is not None:
        lines = [e["line"] for e in doc.get("errors", [])] or [doc["line"]]
        assert line in lines
    assert _snapshot(station_cli.data_dir) == before


def test_every_bad_row_is_listed_with_line_and_column(station_cli, tmp_path):
    rows = [HEADER, GOOD_ROWS[0],
            GOOD_ROWS[1].replace(",女,", ",X,"),                    # line 3: gender
            GOOD_ROWS[2].replace(",3,2014,", ",3,20x4,"),           # line 4: year
            GOOD_ROWS[3].replace("全日制", "函授"),                  # line 5: study mode (非全日制 → 非函授)
            GOOD_ROWS[0].replace("22015010001", "2").replace(",3,", ",三十,")]  # line 6: years + dup
    f = _csv(tmp_path / "r.csv", rows)
    r = station_cli("roster", "import", str(f), "--json")
    assert r.returncode == 2
    errors = r.json()["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (3, "性别 (C)"), (4, "入学年份 (H)"), (5, "学习方式 (I)"), (6, "学制 (G)"), (6, "身份证号 (D)")]
    assert errors[-1]["code"] == "roster.duplicate_id" and "line 2" in errors[-1]["message_en"]
    assert all(e["message_zh"] and e["message_en"] for e in errors)
    human = station_cli("roster", "import", str(f))
    assert "第 3 行" in human.stderr and "第 5 行" in human.stderr


def test_sigkill_in_the_middle_of_an_import_leaves_the_store_as_it_was(station_cli, tmp_path):
    from station.sim.roster import demo_roster, roster_csv

    seed = _csv(tmp_path / "seed.csv", [HEADER, GOOD_ROWS[0]])
    assert station_cli("roster", "import", str(seed)).returncode == 0
    before = _snapshot(station_cli.data_dir)
    big = tmp_path / "big.csv"
    big.write_bytes(roster_csv(demo_roster()))
    marker = tmp_path / "paused"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    env.update(PYTHONPATH=str(ROOT), STATION_DATA_DIR=str(station_cli.data_dir),
               STATION_OPERATOR="主管甲", STATION_PIN="2468",
               STATION_FAULT_PAUSE="roster.import.written", STATION_FAULT_MARKER=str(marker))
    proc = subprocess.Popen([sys.executable, "-m", "station", "roster", "import", str(big)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # the rows are written inside the open transaction right now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _snapshot(station_cli.data_dir) == before
    fsck = station_cli("fsck", "--json", operator=None)
    assert fsck.returncode == 0, fsck.stdout
    again = station_cli("roster", "import", str(big), "--json")
    assert again.returncode == 0 and again.json()["added"] == len(demo_roster())


def test_unknown_department_is_a_warning(station_cli, tmp_path):
    from station.sim.roster import SCHEDULE_CSV

    assert station_cli("schedule", "import", str(SCHEDULE_CSV)).returncode == 0
    f = _csv(tmp_path / "r.csv", [HEADER, GOOD_ROWS[0], GOOD_ROWS[1].replace("物理与天文学院", "火星学院")])
    r = station_cli("roster", "import", str(f), "--json")
    assert r.returncode == 0
    warnings = r.json()["warnings"]
    assert [(w["code"], w["department"], w["count"]) for w in warnings] == [
        ("roster.unknown_department", "火星学院", 1)]


def test_a_capture_code_column_is_named_as_not_used(station_cli, tmp_path):
    """A school that put its students' 图像采集码 in the roster expects the desk to use them; the
    desk takes each code from the student's own QR code. The import says the column is not used."""
    f = _csv(tmp_path / "r.csv", [HEADER + ",图像采集码", GOOD_ROWS[0] + ",Xq7mA2kP9zR4tB1c"])
    r = station_cli("roster", "import", str(f), "--json")
    assert r.returncode == 0, r.stderr
    assert [(w["code"], w["column"]) for w in r.json()["warnings"]] == [("roster.capture_code_column", "图像采集码")]
    r = station_cli("--lang", "en", "roster", "import", str(f), "--dry-run")
    assert "图像采集码" in r.stdout + r.stderr and "not used" in r.stdout + r.stderr


def test_a_capture_code_column_is_not_kept(station_cli, tmp_path):
    """"The roster keeps no 图像采集码", the warning says; the codes went into the entries' extra
    columns all the same (the store held every student's encrypted code, and a roster re-imported
    with the column showed each unchanged student as updated)."""
    plain = _csv(tmp_path / "plain.csv", [HEADER, GOOD_ROWS[0]])
    assert station_cli("roster", "import", str(plain)).returncode == 0
    f = _csv(tmp_path / "r.csv", [HEADER + ",图像采集码", GOOD_ROWS[0] + ",Xq7mA2kP9zR4tB1c"])
    r = station_cli("roster", "import", str(f), "--json")
    assert r.returncode == 0, r.stderr
    assert (r.json()["updated"], r.json()["unchanged"]) == (0, 1), r.stdout
    for db in station_cli.data_dir.glob("station.sqlite3*"):       # the database and its WAL
        assert b"Xq7mA2kP9zR4tB1c" not in db.read_bytes(), db.name


def test_photographer_may_not_import(station_cli, tmp_path):
    assert station_cli("operator", "add", "拍照员", "--role", "photographer", stdin="1111\n").returncode == 0
    f = _csv(tmp_path / "r.csv", [HEADER, *GOOD_ROWS])
    r = station_cli("--lang", "en", "roster", "import", str(f), operator="拍照员", pin="1111")
    assert r.returncode == 2 and "may not import the roster" in r.stderr
    assert _snapshot(station_cli.data_dir)["roster_entries"] == []


def test_xlsx_whose_members_expand_too_far_is_refused_before_reading(tmp_path, monkeypatch):
    """A zip bomb is refused from the members' declared sizes, before anything is expanded."""
    import zipfile

    from station.errors import InputError
    from station.roster import tabular

    path = _xlsx(tmp_path / "bomb.xlsx", [HEADER.split(","), GOOD_ROWS[0].split(",")])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", b"\0" * (4 << 20))
    monkeypatch.setattr(tabular, "XLSX_MAX_EXPANDED", 2 << 20)
    with pytest.raises(InputError) as refused:
        tabular.read_xlsx(path)
    assert refused.value.key == "roster.xlsx_too_large"
    assert "expands to" in refused.value.messages[1] and str(path) in str(refused.value.to_json())


# Student numbers name exported photos and prints: a path, an option or a device name in one must
# be refused at import, with the file, line and column, and nothing imported. (Control characters
# are refused in every cell before the rows are read; `station correct` is tested for them.)
BAD_STUDENT_NOS = ["../../etc/x", "a/b", "a\\b", "..", "2015..01", ".hidden", "-rf", "2015 01",
                   "NUL", "学号01", "2015/"]


def test_student_numbers_with_path_characters_are_refused_at_import(station_cli, tmp_path):
    rows = [HEADER]
    for i, no in enumerate(BAD_STUDENT_NOS, start=1):
        rows.append(f"{no},张{i},男,{_idn(i)},物理与天文学院,硕士研究生,3,2015,全日制")
    f = _csv(tmp_path / "bad.csv", rows)
    before = _snapshot(station_cli.data_dir)
    r = station_cli("--lang", "en", "roster", "import", str(f), "--json")
    assert r.returncode == 2, r.stdout
    errors = r.json()["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (line, "学号 (A)") for line in range(2, 2 + len(BAD_STUDENT_NOS))], errors
    shape = [e for e in errors if e["code"] == "student_no.bad_form"]
    assert len(shape) == len(BAD_STUDENT_NOS) - 1          # and one Windows device name
    assert all("letters, digits, `-` and `_`" in e["message_en"] for e in shape)
    assert all("字母、数字" in e["message_zh"] for e in shape)
    assert {e["code"] for e in errors} == {"student_no.bad_form", "student_no.reserved"}
    assert _snapshot(station_cli.data_dir) == before
    human = station_cli("--lang", "en", "roster", "import", str(f))
    assert human.returncode == 2 and "bad.csv" in human.stderr
    assert "line 2, column 学号 (A): The student number “../../etc/x” cannot be used" in human.stderr


def test_real_student_number_shapes_still_import(station_cli, tmp_path):
    shapes = ["22015010001", "S2020001", "2020-BJ-001", "mba_2019_07", "２２０１５０１０００５"]
    rows = [HEADER] + [f"{no},张{i},男,{_idn(i)},物理与天文学院,硕士研究生,3,2015,全日制"
                       for i, no in enumerate(shapes, start=1)]
    r = station_cli("roster", "import", str(_csv(tmp_path / "ok.csv", rows)), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
    stored = sorted(n for (n,) in conn.execute("SELECT student_no FROM roster_current"))
    conn.close()           # full-width digits (typed in a Chinese input method) are kept as ASCII
    assert stored == sorted(["22015010001", "S2020001", "2020-BJ-001", "mba_2019_07", "22015010005"])


OTHER_SCHOOL_ROWS = [
    f"32015010011,钱七,男,{_idn(11)},机电工程学院,硕士研究生,3,2015,全日制",
    f"32015010001,张叁,男,{_idn(1)},机电工程学院,硕士研究生,3,2015,全日制",   # also on the home roster
]


def test_another_schools_roster_is_kept_apart_from_the_home_schools(station_cli, tmp_path):
    """A branch office imports 10674's roster for its walk-ins beside its own (10673): each is
    its own roster. The home school's roster, its re-imports, `roster show` and its reports are
    as before; `--school-code 10674` imports and looks up 10674's, and says whose it is."""
    home = _csv(tmp_path / "home.csv", [HEADER, *GOOD_ROWS])
    other = _csv(tmp_path / "other.csv", [HEADER, *OTHER_SCHOOL_ROWS])
    r = station_cli("roster", "import", str(home), "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["school_code"] == "10673"
    r = station_cli("--lang", "en", "roster", "import", str(other), "--school-code", "10674")
    assert r.returncode == 0, r.stderr
    assert "2 added" in r.stdout and "school 10674" in r.stdout
    again = station_cli("roster", "import", str(home), "--json").json()      # the home school's:
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 4)  # untouched by 10674's
    conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
    assert dict(conn.execute("SELECT id_number, name FROM roster_current")) == {
        _idn(1): "张三", _idn(2, male=False): "李四", _idn(3, born=dt.date(1988, 1, 2)): "王五", _idn(4): "赵六"}
    assert dict(conn.execute("SELECT id_number, name FROM roster_all_current WHERE school = '10674'")) == {
        _idn(11): "钱七", _idn(1): "张叁"}
    conn.close()
    shown = station_cli("--lang", "en", "roster", "show", _idn(11))
    assert shown.returncode == 1 and "Not on the roster" in shown.stdout      # not the home school's
    shown = station_cli("--lang", "en", "roster", "show", _idn(11), "--school-code", "10674", "--json")
    assert shown.json()["entry"]["name"] == "钱七" and shown.json()["entry"]["school_code"] == "10674"
    shown = station_cli("roster", "show", _idn(1))
    assert "张三" in shown.stdout and "学校代码 10673" in shown.stdout


@pytest.mark.parametrize("code, words", [("10675", "not configured"), ("１０６７４", "invalid"),
                                         ("1067", "invalid")])
def test_a_roster_under_a_bad_school_code_is_refused_and_changes_nothing(station_cli, tmp_path, code, words):
    assert station_cli("roster", "import", str(_csv(tmp_path / "h.csv", [HEADER, *GOOD_ROWS]))).returncode == 0
    before = _snapshot(station_cli.data_dir)
    other = _csv(tmp_path / "other.csv", [HEADER, *OTHER_SCHOOL_ROWS])
    r = station_cli("--lang", "en", "roster", "import", str(other), "--school-code", code)
    assert r.returncode == 2, r.stdout
    assert "--school-code" in r.stderr and words in r.stderr
    assert _snapshot(station_cli.data_dir) == before


def test_a_bad_row_in_another_schools_roster_names_its_line_and_changes_nothing(station_cli, tmp_path):
    assert station_cli("roster", "import", str(_csv(tmp_path / "h.csv", [HEADER, *GOOD_ROWS]))).returncode == 0
    before = _snapshot(station_cli.data_dir)
    bad = _csv(tmp_path / "other.csv", [HEADER, OTHER_SCHOOL_ROWS[0], OTHER_SCHOOL_ROWS[1].replace(",男,", ",X,")])
    r = station_cli("--lang", "en", "roster", "import", str(bad), "--school-code", "10674", "--json")
    assert r.returncode == 2
    assert [(e["line"], e["column"]) for e in r.json()["errors"]] == [(3, "性别 (C)")]
    assert "other.csv" in r.json()["message_en"]
    assert _snapshot(station_cli.data_dir) == before


def test_a_control_character_in_one_cell_hides_no_other_rows_errors(station_cli, tmp_path):
    """An invisible mark in one name used to stop the scan: the file was refused naming that one
    cell, and every other bad row came to light only after it was fixed and the file re-imported."""
    before = _snapshot(station_cli.data_dir)
    rows = [HEADER, GOOD_ROWS[0],
            GOOD_ROWS[1].replace("李四", "李\u200b四"),               # line 3: invisible mark
            GOOD_ROWS[2].replace(",3,2014,", ",3,20x4,"),           # line 4: year
            GOOD_ROWS[3].replace("赵六", "=HYPERLINK(1)")]           # line 5: formula
    f = _csv(tmp_path / "r.csv", rows)
    r = station_cli("roster", "import", str(f), "--json")
    assert r.returncode == 2
    assert [(e["line"], e["column"], e["code"]) for e in r.json()["errors"]] == [
        (3, "姓名 (B)", "privacy.control_character"), (4, "入学年份 (H)", "roster.bad_year"),
        (5, "姓名 (B)", "roster.formula_text")]
    assert _snapshot(station_cli.data_dir) == before


def test_a_folder_given_as_the_roster_is_named_a_folder_not_missing(station_cli, tmp_path):
    """`roster import DIR` said "file not found" of a folder that is there."""
    folder = tmp_path / "名单"
    folder.mkdir()
    for what in ("roster", "schedule"):
        r = station_cli(what, "import", str(folder), "--json")
        assert r.returncode == 2
        doc = r.json()
        assert doc["error"] == "common.file_is_folder" and doc["file"] == str(folder)
        assert "文件夹" in doc["message_zh"] and "folder" in doc["message_en"]


def test_full_width_id_numbers_import_as_the_number_and_are_duplicates_of_it(station_cli, tmp_path):
    fw = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    full = _idn(1).translate(fw)
    f = _csv(tmp_path / "r.csv", [HEADER, GOOD_ROWS[0].replace(_idn(1), full), GOOD_ROWS[1]])
    r = station_cli("roster", "import", str(f), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    shown = station_cli("roster", "show", _idn(1), "--json")
    assert shown.returncode in (0, 1) and _idn(1) in shown.stdout, shown.stderr
    dup = _csv(tmp_path / "d.csv", [HEADER, GOOD_ROWS[0], GOOD_ROWS[0].replace(_idn(1), full)])
    r = station_cli("roster", "import", str(dup), "--json")
    assert r.returncode == 2 and "roster.duplicate_id" in [e["code"] for e in r.json()["errors"]]


def test_zh_import_summary_has_no_space_before_full_width_brackets(station_cli, tmp_path):
    """"…不符合 0 人 （试运行：未写入）": a Latin space before a full-width bracket."""
    f = _csv(tmp_path / "r.csv", [HEADER, *GOOD_ROWS])
    r = station_cli("--lang", "zh", "roster", "import", str(f), "--dry-run")
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert "人（学校代码 10673 的名单）（试运行：未写入）" in first and " （" not in first, first
    en = station_cli("--lang", "en", "roster", "import", str(f), "--dry-run")
    assert "not eligible (roster of school 10673) (dry run: nothing written)" in en.stdout, en.stdout


def test_formula_cells_are_listed_with_every_other_error_in_file_order(station_cli, tmp_path):
    """A workbook with a formula stopped at the formulas: the number-typed ID and the bad row
    below came only on the next attempt. Every problem is listed at once, in file order."""
    formula = ["22015010009", "=CONCAT(\"张\",\"九\")", "男", _idn(9), "信息学院", "硕士", "3", "2015",
               "全日制"]
    numeric = GOOD_ROWS[1].split(",")
    numeric[3] = int(numeric[3][:17] + "1")
    degree = GOOD_ROWS[2].split(",")
    degree[5] = "大专"
    path = _xlsx(tmp_path / "all.xlsx", [HEADER.split(","), GOOD_ROWS[0].split(","), formula, numeric,
                                         degree, formula[:3] + [_idn(10)] + formula[4:]])
    before = _snapshot(station_cli.data_dir)
    r = station_cli("--lang", "en", "roster", "import", str(path), "--json")
    assert r.returncode == 2, r.stdout + r.stderr
    doc = r.json()
    assert doc["error"] == "roster.rejected", doc
    found = [(e["line"], e["column"], e["code"]) for e in doc["errors"]]
    assert found[:2] == [(3, "姓名 (B)", "roster.formula_cell"),
                         (4, "身份证号 (D)", "roster.id_number_numeric")], found
    assert [ln for ln, _c, _code in found] == sorted(ln for ln, _c, _code in found)
    assert {ln for ln, _c, _code in found} == {3, 4, 5, 6}, found
    assert (6, "姓名 (B)", "roster.formula_cell") in found
    text = station_cli("--lang", "zh", "roster", "import", str(path))
    assert text.returncode == 2 and "第 3 行" in text.stderr and "第 6 行" in text.stderr, text.stderr
    assert "选择性粘贴" in text.stderr and "文本" in text.stderr, text.stderr
    assert _snapshot(station_cli.data_dir) == before
