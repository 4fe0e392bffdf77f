"""Column names as school offices write them (Chinese or English) → the roster's field names."""

from __future__ import annotations

import re
import unicodedata

ROSTER_ALIASES: dict[str, tuple[str, ...]] = {
    "student_no": ("学号", "学生编号", "student no", "student number", "student id", "studentno"),
    "name": ("姓名", "学生姓名", "name", "full name"),
    "gender": ("性别", "gender", "sex"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "证件号", "公民身份号码", "id number",
                  "id no", "id card", "id card number", "idnumber"),
    "birth_date": ("出生日期", "birth date", "date of birth", "birthday", "dob"),
    "department": ("培养单位", "院系", "学院", "所在院系", "department", "school", "faculty"),
    "degree": ("学历层次", "层次", "培养层次", "degree", "degree level", "level"),
    "category": ("学生类别", "类别", "student category", "category"),
    "program_years": ("学制", "学制年限", "program years", "programme years", "duration",
                      "length of program"),
    "entry_year": ("入学年份", "入学年度", "年级", "入学时间", "entry year", "enrolment year",
                   "enrollment year", "year of entry", "grade"),
    "study_mode": ("学习方式", "学习形式", "培养方式", "study mode", "mode of study", "mode"),
    "earlier_uncaptured": ("往届未采集", "往届生未采集", "往届", "earlier uncaptured",
                           "earlier graduate", "previous graduate not captured"),
}
# Headers that name a field only in files without a column of its own name: 培养方式 is the study
# mode (全日制/非全日制) in some registrars' files, but 定向/非定向 in CHSI's own export, which
# has a 学习形式 column beside it. There it is an extra column, not a clash.
STAND_IN_HEADERS = {"培养方式": "study_mode"}
# Not a roster field: the desk takes each student's 图像采集码 from their own QR code (code mode), so
# a roster column of codes is named at import as not used rather than passed over in silence.
CAPTURE_CODE_HEADERS = ("图像采集码", "采集码", "图像采集码号", "capture code", "image capture code")
ROSTER_REQUIRED = ("id_number", "name", "department", "entry_year", "program_years")
# degree may come from 学历层次 or, failing that, from 学生类别
ROSTER_ONE_OF = (("degree", "category"),)

SCHEDULE_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("日期", "采集日期", "date"),
    "campus": ("校区", "campus"),
    "room": ("地点", "教室", "采集地点", "room", "place", "location"),
    "start": ("开始时间", "开始", "start", "start time", "from"),
    "end": ("结束时间", "结束", "end", "end time", "to", "until"),
    "time": ("时间", "时间段", "time", "time slot"),
    "departments": ("培养单位", "院系", "学院", "departments", "department", "schools"),
    "expected_count": ("人数", "预计人数", "应采人数", "expected", "expected count", "count"),
}
SCHEDULE_REQUIRED = ("date", "campus", "room", "departments")


# A bracketed qualifier naming another form of the value: "姓名（拼音）" holds 'Zhang San', not the
# name on the ID card, so such a column is never taken for the field (it is kept as extra data).
_OTHER_FORM = re.compile(r"拼音|英文|外文|曾用|原|旧|pinyin|english|latin|former|old|previous")


def normalise_header(text: str) -> str:
    """The header as looked up among the aliases: width, case, unit qualifiers, marks and spaces
    next to Chinese characters removed.

    A qualifier that names another form of the value (拼音, 英文, 曾用 …) is kept, so the header
    matches no alias and the column stays an extra column."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"[（(](.*?)[)）]",                 # "学制(年)" → "学制"; "姓名(拼音)" stays
                  lambda m: m.group(0) if _OTHER_FORM.search(m.group(1)) else "", text)
    text = text.replace("*", "").replace("_", " ").replace("：", "").replace(":", "")
    # "姓  名", "学　院": spaces that line two-character names up with four-character ones
    text = _SPACE_BY_HAN.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


_SPACE_BY_HAN = re.compile(r"(?<=[\u3400-\u9fff])\s+|\s+(?=[\u3400-\u9fff])")


def stood_in(header: list[str], aliases: dict[str, tuple[str, ...]]) -> set[int]:
    """Columns under a ``STAND_IN_HEADERS`` header whose field another column names outright."""
    lookup = {normalise_header(a): f for f, names in aliases.items() for a in names}
    stand_ins = {normalise_header(h): f for h, f in STAND_IN_HEADERS.items()}
    keys = [normalise_header(cell) for cell in header]
    named = {lookup[k] for k in keys if k in lookup and k not in stand_ins}
    return {i for i, k in enumerate(keys) if k in stand_ins and stand_ins[k] in named}


def map_header(header: list[str], aliases: dict[str, tuple[str, ...]]) -> tuple[dict[str, int], dict[int, str]]:
    """(field → column index, unknown column index → original header text).

    The first column that matches a field wins; a second one is kept as an unknown column, as is
    a stand-in header (``stood_in``) beside a column of the field's own name.
    """
    lookup = {normalise_header(a): f for f, names in aliases.items() for a in names}
    fields: dict[str, int] = {}
    unknown: dict[int, str] = {}
    extra = stood_in(header, aliases)
    for index, cell in enumerate(header):
        key = normalise_header(cell)
        if not key:
            continue
        field = lookup.get(key) if index not in extra else None
        if field and field not in fields:
            fields[field] = index
        else:
            unknown[index] = cell.strip()
    return fields, unknown


def duplicate_columns(header: list[str], aliases: dict[str, tuple[str, ...]]) -> list[tuple[str, int, int]]:
    """(field, first column index, later column index) for every column that maps to a field an
    earlier column already holds: which one is the real value cannot be guessed, so the importer
    refuses the file naming both headers."""
    lookup = {normalise_header(a): f for f, names in aliases.items() for a in names}
    first: dict[str, int] = {}
    clashes = []
    extra = stood_in(header, aliases)
    for index, cell in enumerate(header):
        field = lookup.get(normalise_header(cell))
        if field is None or index in extra:
            continue
        if field in first:
            clashes.append((field, first[field], index))
        else:
            first[field] = index
    return clashes


def column_label(header: list[str], index: int) -> str:
    """What the error report calls a column: its header text and spreadsheet letter."""
    n, letters = index + 1, ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    text = header[index].strip() if index < len(header) else ""
    return f"{text} ({letters})" if text else letters
