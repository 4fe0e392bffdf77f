"""Rosters as school offices really send them, imported through the real command line."""

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from station.domain import idnumber
from station.roster import values

HEADER = ["学号", "姓名", "证件号码", "培养层次", "学习方式", "学院", "入学年份", "学制"]


def _idn(seq: int) -> str:
    return idnumber.make("110101", dt.date(1993, 7, 8), seq, True)


ROWS = [["22015001", "张三", _idn(1), "硕士", "全日制", "信息学院", "2015", "3"],
        ["22015002", "阿依古丽·买买提", _idn(2), "硕士", "全日制", "信息学院", "2015", "3"]]


def _import(station_cli, path: Path):
    return station_cli("roster", "import", str(path), "--json")


def test_a_workbook_with_a_title_and_merged_headings_above_the_header_imports(station_cli, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["2026届毕业研究生图像采集名单"])
    ws.merge_cells("A1:H1")
    ws.append(["基本信息", None, None, "学籍信息"])
    ws.merge_cells("A2:C2")
    ws.merge_cells("D2:H2")
    ws.append(HEADER)
    for row in ROWS:
        ws.append(row)
    ws.append([])
    ws.append([None] * 8)
    old = wb.create_sheet("2025届")
    old.sheet_state = "hidden"
    old.append(HEADER)
    wb.save(tmp_path / "roster.xlsx")
    r = _import(station_cli, tmp_path / "roster.xlsx")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["rows"] == 2 and report["added"] == 2
    title = next(w for w in report["warnings"] if w["code"] == "roster.title_rows")
    assert title["header_line"] == 3 and title["lines"] == "1、2"
    assert any(w["code"] == "roster.sheets_hidden" for w in report["warnings"])


def test_a_gbk_csv_with_a_title_line_imports_and_says_which_lines_were_skipped(station_cli, tmp_path):
    lines = ["2026届毕业生名单,,,,,,,", ",,,,,,,", ",".join(HEADER), *(",".join(r) for r in ROWS),
             ",,,,,,,", ""]
    path = tmp_path / "roster.csv"
    path.write_bytes("\r\n".join(lines).encode("gbk"))
    r = _import(station_cli, path)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["rows"] == 2 and report["encoding"] == "gb18030"
    assert [w["lines"] for w in report["warnings"] if w["code"] == "roster.title_rows"] == ["1"]


def test_a_file_without_an_id_column_still_names_what_is_missing_on_its_first_line(station_cli,
                                                                                  tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("标题\r\n姓名,学院\r\n张三,信息学院\r\n", encoding="utf-8")
    r = _import(station_cli, path)
    assert r.returncode != 0
    errors = json.loads(r.stdout or r.stderr)["errors"]
    assert {e["line"] for e in errors if e["code"] == "roster.missing_column"} == {1}


def _errors(station_cli, tmp_path: Path, ids: list[str], encoding: str = "gbk") -> list[dict]:
    lines = [",".join(HEADER)] + [",".join([f"2201500{i}", f"学生{i}", n, *ROWS[0][3:]])
                                  for i, n in enumerate(ids)]
    path = tmp_path / "roster.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    r = _import(station_cli, path)
    assert r.returncode == 2, r.stdout + r.stderr
    return json.loads(r.stdout)["errors"]


def test_an_id_number_excel_showed_in_scientific_notation_is_refused_as_a_number(station_cli,
                                                                                 tmp_path):
    errors = _errors(station_cli, tmp_path, ["1.10101E+17", "4.40301e+17", "1.10101199307E17"])
    assert [(e["line"], e["code"]) for e in errors] == [(2, "roster.id_number_numeric")] * 1 + [
        (3, "roster.id_number_numeric"), (4, "roster.id_number_numeric")]
    assert "Text" in errors[0]["message_en"] and "文本" in errors[0]["message_zh"]


def test_a_15_digit_number_is_named_an_old_first_generation_number(station_cli, tmp_path):
    errors = _errors(station_cli, tmp_path, ["110101930708001"])
    assert [e["code"] for e in errors] == ["id_number.old_15_digit"]
    assert "15 位" in errors[0]["message_zh"] and "18" in errors[0]["message_zh"]
    assert "15-digit" in errors[0]["message_en"]


def test_id_numbers_a_system_exported_as_spreadsheet_text_import_as_the_number(station_cli, tmp_path):
    lines = [",".join(HEADER),
             ",".join(["22015001", "张三", f'"=""{_idn(1)}"""', *ROWS[0][3:]]),   # ="1101…"
             ",".join(["22015002", "李四", f"'{_idn(2)}", *ROWS[0][3:]]),          # '1101…
             ",".join(["22015003", "王五", f'="{_idn(3)}"', *ROWS[0][3:]])]
    path = tmp_path / "roster.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    r = _import(station_cli, path)
    assert r.returncode == 0, r.stdout + r.stderr
    shown = station_cli("roster", "show", _idn(2), "--json")
    assert json.loads(shown.stdout)["entry"]["name"] == "李四"


def test_a_marked_number_is_still_checked_and_its_marks_never_join_two_numbers(station_cli, tmp_path):
    bad = _idn(1)[:-1] + ("0" if _idn(1)[-1] != "0" else "1")
    errors = _errors(station_cli, tmp_path, [f'="{bad}"', f"'{_idn(2)}", _idn(2)])
    assert [(e["line"], e["code"]) for e in errors] == [(2, "id_number.check_digit"),
                                                        (4, "roster.duplicate_id")]


def test_column_names_spaced_out_to_line_up_are_the_column(station_cli, tmp_path):
    header = ["学  号", "姓 名", "证件号码\u3000", " 培养层次", "学习方式", "学　院", "入学年份", "学制"]
    path = tmp_path / "roster.csv"
    path.write_bytes(("\r\n".join([",".join(header), *(",".join(r) for r in ROWS)]) + "\r\n")
                     .encode("utf-8-sig"))
    r = _import(station_cli, path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["rows"] == 2


def _eligibility(station_cli, number: str) -> bool:
    return json.loads(station_cli("roster", "show", number, "--json").stdout)["eligible"]


def test_a_peiyang_fangshi_column_of_dingxiang_beside_the_study_mode_is_not_a_clash(station_cli,
                                                                                  tmp_path):
    header = ["学号", "姓名", "证件号码", "培养层次", "学习形式", "培养方式", "学院", "入学年份", "学制"]
    rows = [["22015001", "张三", _idn(1), "硕士", "全日制", "非定向", "信息学院", "2015", "3"],
            ["22015002", "李四", _idn(2), "硕士", "非全日制", "定向", "信息学院", "2015", "3"]]
    path = tmp_path / "roster.csv"
    path.write_bytes(("\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n").encode("gbk"))
    r = _import(station_cli, path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _eligibility(station_cli, _idn(1)) and not _eligibility(station_cli, _idn(2))


def test_a_peiyang_fangshi_column_is_still_the_study_mode_when_it_is_the_only_one(station_cli,
                                                                                 tmp_path):
    header = ["学号", "姓名", "证件号码", "培养层次", "培养方式", "学院", "入学年份", "学制"]
    rows = [["22015001", "张三", _idn(1), "硕士", "全日制", "信息学院", "2015", "3"],
            ["22015002", "李四", _idn(2), "硕士", "非全日制", "信息学院", "2015", "3"]]
    path = tmp_path / "roster.csv"
    path.write_bytes(("\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n").encode("gbk"))
    assert _import(station_cli, path).returncode == 0
    assert _eligibility(station_cli, _idn(1)) and not _eligibility(station_cli, _idn(2))


def test_in_service_words_in_a_second_peiyang_fangshi_column_still_exclude(station_cli, tmp_path):
    header = ["学号", "姓名", "证件号码", "培养层次", "学习形式", "培养方式", "学院", "入学年份", "学制"]
    rows = [["22015001", "张三", _idn(1), "硕士", "", "在职", "信息学院", "2015", "3"]]
    path = tmp_path / "roster.csv"
    path.write_bytes(("\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n").encode("gbk"))
    assert _import(station_cli, path).returncode == 0
    assert not _eligibility(station_cli, _idn(1))


def test_a_department_merged_down_over_its_students_is_each_students_department(station_cli,
                                                                                tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["2026届毕业研究生名单"])
    ws.merge_cells("A1:H1")
    ws.append(HEADER)
    for i in range(1, 5):
        ws.append([f"2201500{i}", f"学生{i}", _idn(i), "硕士", "全日制",
                   "信息学院" if i == 1 else None, "2015", "3"])
    ws.merge_cells("F3:F6")
    wb.save(tmp_path / "roster.xlsx")
    r = _import(station_cli, tmp_path / "roster.xlsx")
    assert r.returncode == 0, r.stdout + r.stderr
    shown = json.loads(station_cli("roster", "show", _idn(4), "--json").stdout)
    assert shown["entry"]["department"] == "信息学院"


def test_merged_id_numbers_are_duplicates_not_one_person_for_many(station_cli, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["22015001", "张三", _idn(1), "硕士", "全日制", "信息学院", "2015", "3"])
    ws.append(["22015002", "李四", None, "硕士", "全日制", "信息学院", "2015", "3"])
    ws.merge_cells("C2:C3")
    wb.save(tmp_path / "roster.xlsx")
    r = _import(station_cli, tmp_path / "roster.xlsx")
    assert r.returncode == 2
    assert [e["code"] for e in json.loads(r.stdout)["errors"]] == ["roster.duplicate_id"]


def _precision_lost() -> str:
    """A number as Excel keeps it to 15 digits ("…000") whose check digit happens to pass."""
    for day in range(1, 29):
        for digit in "0123456789":
            first17 = f"110101199307{day:02d}{digit}00"
            if idnumber.check_digit(first17) == "0":
                return first17 + "0"
    raise AssertionError("none found")


def test_a_number_whose_last_three_digits_excel_zeroed_is_refused_where_the_file_shows_it(
        station_cli, tmp_path):
    lost = _precision_lost()
    failing = _idn(5)[:15] + "000"                  # the same damage, check digit wrong
    assert idnumber.is_valid(lost) and not idnumber.is_valid(failing)
    errors = _errors(station_cli, tmp_path, [lost, failing])
    assert [(e["line"], e["code"]) for e in errors] == [(2, "roster.id_number_zeroed"),
                                                        (3, "id_number.check_digit")]
    assert "000" in errors[0]["message_zh"] and "Text" in errors[0]["message_en"]


def test_a_real_number_ending_in_000_in_an_undamaged_file_imports(station_cli, tmp_path):
    lost = _precision_lost()
    path = tmp_path / "roster.csv"
    path.write_bytes(("\r\n".join([",".join(HEADER), ",".join(["22015001", "张三", lost,
                                                                 *ROWS[0][3:]])]) + "\r\n")
                     .encode("gbk"))
    r = _import(station_cli, path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["warnings"] == []


def test_rows_hidden_in_the_workbook_are_imported_and_named_in_a_warning(station_cli, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for i in range(1, 5):
        ws.append([f"2201500{i}", f"学生{i}", _idn(i), "硕士", "全日制", "信息学院", "2015", "3"])
    ws.row_dimensions[3].hidden = True
    ws.row_dimensions[5].hidden = True
    wb.save(tmp_path / "roster.xlsx")
    r = _import(station_cli, tmp_path / "roster.xlsx")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["rows"] == 4
    [hidden] = [w for w in report["warnings"] if w["code"] == "roster.hidden_rows"]
    assert hidden["lines"] == "3、5" and "隐藏" in hidden["message_zh"]


@pytest.mark.parametrize("mini", [False, True], ids=["stream", "mini_stream"])
def test_an_excel_97_2003_xls_roster_imports_like_an_xlsx(station_cli, tmp_path, mini):
    """An office's "Excel 97-2003 工作簿" (.xls) was refused ("save as .xlsx"). It is read like a
    workbook: the first visible sheet (last year's hidden list before it is not read, and
    named), a title above the header skipped, hidden rows read and named. A small workbook
    stream may sit in the compound file's mini stream (other writers than Excel do that)."""
    from tests.xlsfile import write_xls

    rows = [["2026届毕业研究生图像采集名单"], HEADER, *ROWS,
            ["22015003", "王五", _idn(3), "硕士", "全日制", "信息学院", 2015, 3]]
    path = write_xls(tmp_path / "名单.xls", rows, sheet="名单", before=[("2025届", [HEADER, ROWS[0]])],
                     hidden_sheets={"2025届"}, hidden_rows={4}, mini=mini)
    r = _import(station_cli, path)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert (report["format"], report["sheet"], report["rows"], report["added"]) == ("xls", "名单", 3, 3), report
    codes = {w["code"]: w for w in report["warnings"]}
    assert "2025届" in codes["roster.sheets_hidden"]["message_zh"]
    assert codes["roster.hidden_rows"]["lines"] == "5" and codes["roster.title_rows"]
    shown = station_cli("roster", "show", _idn(2), "--json")
    assert shown.json()["entry"]["name"] == "阿依古丽·买买提" and shown.json()["entry"]["entry_year"] == 2015


def test_an_xls_roster_lists_formula_cells_and_number_ids_with_their_lines(station_cli, tmp_path):
    from tests.xlsfile import write_xls

    rows = [HEADER, ROWS[0], ["22015002", "阿依古丽·买买提", float(_idn(2)[:17] + "1"), "硕士", "全日制",
                              "信息学院", "2015", "3"],
            ["22015003", "王五", _idn(3), "硕士", "全日制", "信息学院", "2015", 3]]
    path = write_xls(tmp_path / "名单.xls", rows, formulas={(3, 7): 3.0})
    before = station_cli("roster", "show", _idn(1), "--json").json()["entry"]
    r = station_cli("--lang", "en", "roster", "import", str(path), "--json")
    assert r.returncode == 2, r.stdout + r.stderr
    found = [(e["line"], e["column"], e["code"]) for e in json.loads(r.stdout)["errors"]]
    assert found == [(3, "证件号码 (C)", "roster.id_number_numeric"), (4, "学制 (H)", "roster.formula_cell")], found
    assert before is None and station_cli("roster", "show", _idn(1), "--json").json()["entry"] is None


@pytest.mark.parametrize("case", ["damaged", "excel95", "bad_defined_name"])
def test_an_xls_that_cannot_be_read_says_so_and_imports_nothing(station_cli, tmp_path, case):
    """A damaged file, an Excel 95 file, and a defined name whose formula claims more bytes
    than it has (the cell reader panicked on it: an unexpected-error exit before)."""
    import struct

    from tests import xlsfile

    stream = bytearray(xlsfile.workbook_stream([("Sheet1", [HEADER, *ROWS])]))
    if case == "bad_defined_name":
        name = struct.pack("<HBBHHH4B", 0, 0, 1, 0x8109, 0, 0, 0, 0, 0, 0) + b"\x00A\x1e\x01\x00"
        record = struct.pack("<HH", 0x0018, len(name)) + name
        at = stream.index(b"\x85\x00")                     # the BOUNDSHEET record
        offset, = struct.unpack_from("<I", stream, at + 4)
        stream[at + 4:at + 8] = struct.pack("<I", offset + len(record))
        stream[at:at] = record
        data = xlsfile.compound_file(bytes(stream) + b"\x00" * 4096)
        words = "Cannot read the .xls file"
    elif case == "excel95":
        stream[4:6] = b"\x00\x05"                       # BOF version 0x0500: BIFF5
        data = xlsfile.compound_file(bytes(stream), "Book", mini=True)
        words = "Excel 5.0/95"
    else:
        data = xlsfile.compound_file(bytes(stream))[:1024]   # cut after the directory
        words = "Cannot read the .xls file"
    path = tmp_path / "名单.xls"
    path.write_bytes(data)
    r = station_cli("--lang", "en", "roster", "import", str(path))
    assert r.returncode == 2 and words in r.stderr and str(path) in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert station_cli("roster", "show", _idn(1), "--json").json()["entry"] is None


@pytest.mark.parametrize("sheet", [0, 1], ids=["hidden_sheet", "roster_sheet"])
def test_an_xls_whose_dimensions_ask_for_terabytes_is_refused_not_aborted(station_cli, tmp_path, sheet):
    """The cell reader sets room aside for the rows × columns a sheet's DIMENSIONS record
    declares, for every sheet, as it opens the file: first row 10, last row 0 wrapped around to
    4 billion rows and it asked for hundreds of GB and aborted the process (no exception, no
    message). The declaration is measured first, on every sheet, and refused in words."""
    import struct

    from tests import xlsfile

    stream = bytearray(xlsfile.workbook_stream([("旧", [HEADER]), ("名单", [HEADER, *ROWS])], {"旧"}))
    marks = [i for i in range(len(stream) - 4) if stream[i:i + 4] == b"\x00\x02\x0e\x00"]
    assert len(marks) == 2
    stream[marks[sheet] + 4:marks[sheet] + 18] = struct.pack("<IIHHH", 10, 1, 0, 200, 0)
    path = tmp_path / "名单.xls"
    path.write_bytes(xlsfile.compound_file(bytes(stream) + b"\x00" * 4096))
    r = station_cli("--lang", "en", "roster", "import", str(path))
    assert r.returncode == 2, (r.returncode, r.stderr[-500:])
    assert "The sheet's area spans" in r.stderr and str(path) in r.stderr, r.stderr
    assert station_cli("roster", "show", _idn(1), "--json").json()["entry"] is None


@pytest.mark.parametrize(("text", "years"), [("三年", 3), ("两年", 2), ("二年", 2), ("3年制", 3),
                                             ("四年", 4), ("两年半", 2.5), ("2.5年", 2.5),
                                             ("三", 3)])
def test_program_years_written_in_chinese_numerals(text, years):
    assert values.program_years(text) == years


@pytest.mark.parametrize("text", ["十一年", "三十年", "半年", "年", "三四年"])
def test_program_years_that_are_no_programme_length_are_still_refused(text):
    with pytest.raises(values.BadValue):
        values.program_years(text)


@pytest.mark.parametrize("dot", ["\u2022", "\u30fb", "\u2027", "\uff65", "\u2219", "\u22c5"])
def test_a_look_alike_middle_dot_in_a_name_is_stored_as_the_cards_dot(station_cli, tmp_path, dot):
    path = tmp_path / "roster.csv"
    row = ["22015001", f"阿依古丽{dot}买买提", _idn(1), *ROWS[0][3:]]
    path.write_bytes(("\r\n".join([",".join(HEADER), ",".join(row)]) + "\r\n").encode("utf-8"))
    r = _import(station_cli, path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [w["code"] for w in json.loads(r.stdout)["warnings"]] == ["roster.name_dot"]
    shown = json.loads(station_cli("roster", "show", _idn(1), "--json").stdout)
    assert shown["entry"]["name"] == "阿依古丽·买买提"


def test_a_full_stop_in_a_latin_name_is_left_alone(station_cli, tmp_path):
    path = tmp_path / "roster.csv"
    row = ["22015001", "Mary J. Smith", _idn(1), *ROWS[0][3:]]
    path.write_bytes(("\r\n".join([",".join(HEADER), ",".join(row)]) + "\r\n").encode("utf-8"))
    r = _import(station_cli, path)
    assert r.returncode == 0 and json.loads(r.stdout)["warnings"] == []
    shown = json.loads(station_cli("roster", "show", _idn(1), "--json").stdout)
    assert shown["entry"]["name"] == "Mary J. Smith"


@pytest.mark.parametrize("title", ["2026届毕业研究生名单", "2026届毕业生名单，信息学院, 第一批"])
def test_a_tab_separated_file_with_a_title_line_is_read_by_its_header(station_cli, tmp_path, title):
    lines = [title, "\t".join(HEADER), *("\t".join(r) for r in ROWS)]
    path = tmp_path / "roster.txt"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    r = _import(station_cli, path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["rows"] == 2


def test_excel_unicode_text_utf16_tab_separated_imports_like_utf8(station_cli, tmp_path):
    """Excel's "Unicode text (*.txt)" save: UTF-16 little-endian with a BOM, tabs between cells,
    CRLF. It was refused ("save as CSV UTF-8"); it is now read like any UTF-8 file, and its
    errors carry their lines as a UTF-8 file's do."""
    lines = ["\t".join(HEADER), *("\t".join(r) for r in ROWS)]
    path = tmp_path / "名单.txt"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-16"))
    assert path.read_bytes()[:2] == b"\xff\xfe"
    r = _import(station_cli, path)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["rows"] == 2 and report["added"] == 2 and report["encoding"] == "utf-16 BOM", report
    shown = station_cli("roster", "show", _idn(2), "--json")
    assert shown.json()["entry"]["name"] == "阿依古丽·买买提"
    bad = [*lines, "\t".join(["22015003", "王五", _idn(3)[:17] + "X", "硕士", "全日制", "信息学院", "2015", "3"])]
    path.write_bytes(("\r\n".join(bad) + "\r\n").encode("utf-16"))
    r = station_cli("--lang", "en", "roster", "import", str(path))
    assert r.returncode == 2 and "line 4" in r.stderr and "check digit" in r.stderr, r.stderr


@pytest.mark.parametrize(("text", "mode"), [("全日制（脱产）", "full_time"), ("脱产", "full_time"),
                                            ("非全日制（不脱产）", "part_time"), ("非脱产", "part_time"),
                                            ("全日制 (脱产)", "full_time")])
def test_study_modes_with_the_tuochan_words_registrars_add(text, mode):
    assert values.study_mode(text, "full_time") == mode
    assert values.in_service(text) == (mode == "part_time")   # in a 学历层次 cell as well


@pytest.mark.parametrize("text", ["全日制（不脱产）", "非全日制（脱产）", "全日制（函授）"])
def test_a_study_mode_whose_words_disagree_is_still_refused(text):
    with pytest.raises(values.BadValue):
        values.study_mode(text, "full_time")
