"""Roster import defects found by the outside audit, each pinned on real files through the CLI."""

import datetime as dt
import json
from pathlib import Path

from station.domain import idnumber


def _idn(seq: int) -> str:
    return idnumber.make("530102", dt.date(1991, 5, 6), seq, True)


def _csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def test_in_service_written_in_category_or_degree_is_not_eligible(station_cli, tmp_path):
    """No 学习方式 column: 非全日制/在职 in 学生类别 or 学历层次 still means in-service."""
    by_category = _csv(tmp_path / "c.csv", [
        "学号,姓名,性别,身份证号,院系,学生类别,学制,年级",
        f"C1,非全甲,男,{_idn(1)},物理与天文学院,非全日制硕士研究生,3,2015",
        f"C2,全日乙,男,{_idn(2)},物理与天文学院,全日制硕士研究生,3,2015",
    ])
    r = station_cli("roster", "import", str(by_category), "--json")
    assert r.returncode == 0, r.stderr
    assert (r.json()["eligible"], r.json()["not_eligible"]) == (1, 1)
    by_degree = _csv(tmp_path / "d.csv", [
        "学号,姓名,性别,身份证号,培养单位,学历层次,学制,入学年份,学习方式",
        f"E6,在职乙,男,{_idn(3)},物理与天文学院,在职硕士,3,2015,",
    ])
    r = station_cli("roster", "import", str(by_degree), "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["not_eligible"] == 1
    for idn in (_idn(1), _idn(3)):
        shown = station_cli("roster", "show", idn, "--json")
        entry = json.loads(shown.stdout)["entry"]
        assert entry["eligible"] in (False, 0) and entry["eligibility_rule"] == "part_time"
    text = station_cli("--lang", "en", "roster", "show", _idn(3)).stdout
    assert "part-time" in text.lower() or "in-service" in text.lower(), text


HEADER = "学号,姓名,性别,身份证号,培养单位,学历层次,学制,入学年份,学习方式"


def _row(no: str, name: str, seq: int, department: str = "物理学院") -> str:
    return f"{no},{name},男,{_idn(seq)},{department},博士,3,2014,全日制"


def _refused(station_cli, path: Path) -> set[tuple[int, str]]:
    r = station_cli("--lang", "en", "roster", "import", str(path), "--dry-run", "--json")
    assert r.returncode == 2, r.stdout
    assert str(path) in r.stdout + r.stderr
    return {(e["line"], e["column"].split(" ")[0]) for e in json.loads(r.stdout or r.stderr)["errors"]}


def test_invisible_marks_in_names_are_refused_at_import(station_cli, tmp_path):
    """U+200F, U+200B, U+2060, U+00AD look like nothing on screen; the export refuses them."""
    f = _csv(tmp_path / "r.csv", [HEADER, _row("A1", "张三", 1), _row("A2", "李\u200f四", 2),
                                  _row("A3", "王\u200b五", 3), _row("A4", "赵\u2060六", 4),
                                  _row("A5", "孙\u00ad八", 5)])
    assert _refused(station_cli, f) == {(3, "姓名"), (4, "姓名"), (5, "姓名"), (6, "姓名")}


def test_line_breaks_and_formula_starts_are_refused_at_import(station_cli, tmp_path):
    """A newline inside a name, names or departments starting = + - @: exit 2, line and column."""
    f = _csv(tmp_path / "r.csv", [HEADER, _row("A1", "张三", 1), _row("A2", "=1+1", 2),
                                  _row("A3", "+1", 3), _row("A4", "@SUM(A1)", 4),
                                  _row("A5", "周九", 5, department="-2+3"), _row("A6", '"钱\n七"', 6)])
    assert _refused(station_cli, f) == {(3, "姓名"), (4, "姓名"), (5, "姓名"), (6, "培养单位"), (7, "姓名")}


def test_a_name_outside_the_export_encoding_is_imported_with_a_warning(station_cli, tmp_path):
    """刘䶮 is a real name; the CHSI manifest is GBK, which cannot hold 䶮: warn on the row."""
    f = _csv(tmp_path / "r.csv", [HEADER, _row("A1", "张三", 1), _row("A2", "刘䶮", 2)])
    r = station_cli("--lang", "en", "roster", "import", str(f), "--json")
    assert r.returncode == 0, r.stderr
    (warning,) = r.json()["warnings"]
    assert warning["code"] == "roster.not_encodable" and warning["line"] == 3
    assert "䶮" in warning["message_en"] and "GBK" in warning["message_en"]


def _far_xlsx(path: Path, far: str) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    ws.append(_row("A1", "张三", 1).split(","))
    ws[far] = "x"                    # openpyxl writes the one far cell only: a file of a few KB
    wb.save(path)
    return path


def test_an_xlsx_reaching_a_far_cell_is_refused_before_it_is_read(station_cli, tmp_path):
    """One cell at XFD1048576 made the reader ask for 512 GB and abort (exit 134): exit 2 now,
    naming the file and the limit, without reading the sheet."""
    for far, words in (("XFD1048576", "row 1048576 (limit 250000 rows)"),
                       ("XFD2", "column 16384 (limit 200 columns)"),
                       ("CV50000", "(limit 4000000)")):
        f = _far_xlsx(tmp_path / f"far_{far}.xlsx", far)
        assert f.stat().st_size < 20_000
        r = station_cli("--lang", "en", "roster", "import", str(f), "--dry-run")
        assert r.returncode == 2, (far, r.returncode, r.stderr[-300:])
        assert str(f) in r.stderr and words in r.stderr, r.stderr


def test_a_hidden_first_sheet_is_never_imported(station_cli, tmp_path):
    """Last year's list in a hidden first sheet: the visible sheet is read, and the report says
    which sheet was read and which hidden ones were not."""
    import sqlite3

    from openpyxl import Workbook

    wb = Workbook()
    old = wb.active
    old.title = "旧名单"
    old.append(HEADER.split(","))
    old.append(_row("OLD1", "旧生", 1).split(","))
    old.sheet_state = "hidden"
    new = wb.create_sheet("名单")
    new.append(HEADER.split(","))
    new.append(_row("NEW1", "新生", 2).split(","))
    wb.active = 1
    f = tmp_path / "hidden.xlsx"
    wb.save(f)
    r = station_cli("--lang", "en", "roster", "import", str(f), "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["sheet"] == "名单"
    assert [w["code"] for w in r.json()["warnings"]] == ["roster.sheets_hidden"]
    assert "旧名单" in r.json()["warnings"][0]["message_en"]
    conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
    assert [n for (n,) in conn.execute("SELECT name FROM roster_current")] == ["新生"]


def _same_named_sheets(path: Path, far: str | None = None) -> Path:
    """A hidden last-year sheet and the visible roster, both named 名单 in xl/workbook.xml (Excel
    never saves that; a hand-edited or generated file can). ``far``: a cell the hidden sheet holds."""
    import io
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    old = wb.active
    old.title = "旧名单"
    old.append(HEADER.split(","))
    old.append(_row("OLD1", "旧生", 1).split(","))
    if far:
        old[far] = "x"
    old.sheet_state = "hidden"
    new = wb.create_sheet("名单")
    new.append(HEADER.split(","))
    new.append(_row("NEW1", "新生", 2).split(","))
    wb.active = 1
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/workbook.xml":
                data = data.replace("旧名单".encode(), "名单".encode())
            out.writestr(name, data)
    return path


def test_two_sheets_of_one_name_are_refused_not_read_by_name(station_cli, tmp_path):
    """The visible sheet was checked, then the reader opened the first sheet of that name — the
    hidden one: last year's list was imported while the report said the visible sheet was read,
    and a far cell in the hidden sheet aborted the process (exit 134, 512 GB asked). Exit 2 now,
    naming the file and the sheet, and nothing stored."""
    import sqlite3

    for label, far in (("plain", None), ("far", "XFD1048576")):
        f = _same_named_sheets(tmp_path / f"dup_{label}.xlsx", far)
        r = station_cli("--lang", "en", "roster", "import", str(f), "--json")
        assert r.returncode == 2, (label, r.returncode, r.stdout[-300:], r.stderr[-300:])
        problem = json.loads(r.stdout)
        assert problem["error"] == "roster.xlsx_duplicate_sheet", problem
        assert problem["file"] == str(f) and "“名单”" in problem["message_en"], problem
        conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
        assert conn.execute("SELECT COUNT(*) FROM roster_current").fetchone() == (0,)
        conn.close()


def test_a_pinyin_name_column_never_replaces_the_name(station_cli, tmp_path):
    """姓名（拼音） before 姓名: the Chinese name is stored, the pinyin kept as extra data."""
    import sqlite3

    header = HEADER.replace("学号,姓名,", "学号,姓名（拼音）,姓名,")
    f = _csv(tmp_path / "r.csv", [header, _row("A1", "Zhang San,张三", 1)])
    r = station_cli("roster", "import", str(f), "--json")
    assert r.returncode == 0, r.stderr
    conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
    assert conn.execute("SELECT name, extra FROM roster_current").fetchone() == (
        "张三", '{"姓名（拼音）": "Zhang San"}')


def test_two_columns_for_one_field_are_refused_naming_both(station_cli, tmp_path):
    header = HEADER.replace("学号,姓名,", "学号,学生姓名,姓名,")
    f = _csv(tmp_path / "r.csv", [header, _row("A1", "张三,张叁", 1)])
    r = station_cli("--lang", "en", "roster", "import", str(f), "--dry-run", "--json")
    assert r.returncode == 2, r.stdout
    (error,) = json.loads(r.stdout or r.stderr)["errors"]
    assert error["code"] == "roster.duplicate_column" and error["line"] == 1
    assert "学生姓名 (B)" in error["message_en"] and "姓名 (C)" in error["message_en"]


def test_a_department_in_two_slots_is_accepted_and_overlap_is_a_warning(station_cli, tmp_path):
    head = "日期,校区,地点,开始时间,结束时间,培养单位,人数"
    apart = _csv(tmp_path / "a.csv", [head, "2030-10-25,呈贡,1403,08:00,09:00,物理学院,3",
                                      "2030-10-25,东陆,106,10:00,11:00,物理学院,2"])
    r = station_cli("schedule", "import", str(apart), "--dry-run", "--json")
    assert r.returncode == 0 and r.json()["warnings"] == [], r.stdout + r.stderr
    same_time = _csv(tmp_path / "b.csv", [head, "2030-10-25,呈贡,1403,08:00,09:00,物理学院,3",
                                          "2030-10-25,东陆,106,08:30,09:30,物理学院、化学学院,2"])
    r = station_cli("--lang", "en", "schedule", "import", str(same_time), "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    (warning,) = r.json()["warnings"]
    assert warning["code"] == "schedule.department_overlap" and (warning["other_line"], warning["line"]) == (2, 3)
    assert "物理学院" in warning["message_en"]


def test_one_department_in_many_rooms_at_once_is_one_warning_per_later_slot(station_cli, tmp_path):
    """Every overlapping pair of a department's slots was a warning: 600 rooms at 08:00 gave
    179,700 warnings, 2,000 took 74 s and 7 GB, 4,000 took 230 s and 24 GB — a mistaken or
    hostile schedule file took the laptop down. Each later slot is named once now, with the
    earlier one it overlaps; and a file of more rows than any schedule is refused, named."""
    head = "日期,校区,地点,开始时间,结束时间,培养单位,人数"
    rows = [head] + [f"2030-10-25,呈贡,R{i},08:00,09:00,物理学院,3" for i in range(600)]
    rows.append("2030-10-25,东陆,106,10:00,11:00,物理学院,2")          # apart: no warning
    r = station_cli("--lang", "en", "schedule", "import", str(_csv(tmp_path / "many.csv", rows)),
                    "--dry-run", "--json")
    assert r.returncode == 0, r.stderr[-300:]
    overlaps = [w for w in r.json()["warnings"] if w["code"] == "schedule.department_overlap"]
    assert len(overlaps) == 599
    assert [(w["other_line"], w["line"]) for w in overlaps[:2]] == [(2, 3), (2, 4)]
    from station.roster.schedule import MAX_SLOTS

    huge = [head] + [f"2030-10-25,呈贡,R{i},08:00,09:00,物理学院,3" for i in range(MAX_SLOTS + 1)]
    f = _csv(tmp_path / "huge.csv", huge)
    r = station_cli("--lang", "en", "schedule", "import", str(f), "--dry-run")
    assert r.returncode == 2 and str(f) in r.stderr
    assert f"more than the limit of {MAX_SLOTS}" in r.stderr, r.stderr[-300:]


def test_the_desk_and_the_report_read_one_clock_whatever_the_machine_zone(station_cli, tmp_path):
    """A slot running now at the station's UTC+8: `roster show` finds it on a machine left at UTC
    as on one at Asia/Shanghai, and `doctor` warns about the UTC machine only."""
    now8 = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    start = max(now8 - dt.timedelta(minutes=30), now8.replace(hour=0, minute=0))
    end = min(now8 + dt.timedelta(minutes=30), now8.replace(hour=23, minute=59))
    sched = _csv(tmp_path / "s.csv", ["日期,校区,地点,开始时间,结束时间,培养单位,人数",
                                      f"{now8.date()},呈贡,1403,{start:%H:%M},{end:%H:%M},物理学院,1"])
    assert station_cli("schedule", "import", str(sched)).returncode == 0
    assert station_cli("roster", "import", str(_csv(tmp_path / "r.csv", [HEADER, _row("A1", "张三", 1)]))
                       ).returncode == 0
    for tz in ("UTC", "Asia/Shanghai"):
        shown = station_cli("roster", "show", _idn(1), "--json", env={"TZ": tz})
        flags = [f["code"] for f in json.loads(shown.stdout)["flags"]]
        assert "wrong_slot" not in flags, (tz, flags)
        doctor = station_cli("doctor", "--json", env={"TZ": tz})
        (clock,) = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "clock"]
        assert clock["status"] == ("warn" if tz == "UTC" else "pass"), (tz, clock)
