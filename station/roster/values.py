"""Parsing the cell values offices type: 男/女, 博士/硕士, 全日制/非全日制, 2014级, 2017/10/25 …

Each parser returns the canonical value or raises ``BadValue`` with a catalog key, so the importer
can report every bad cell at once with its line and column.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache


class BadValue(ValueError):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


# The separator of a minority name as typed or pasted (• ・ ‧ ∙ ⋅; ･ is ・ after NFKC): none of
# them is in GBK, so the export could not write the name; the card and CHSI write U+00B7.
NAME_DOTS = "\u2022\u30fb\u2027\u2219\u22c5"


def person_name(text: str) -> tuple[str, str | None]:
    """(the name as stored, the look-alike dot replaced by "·" if there was one)."""
    name = clean(text)
    found = next((ch for ch in name if ch in NAME_DOTS), None)
    if found is None:
        return name, None
    return name.translate(str.maketrans(NAME_DOTS, "\u00b7" * len(NAME_DOTS))), found


GENDERS = {"男": "male", "m": "male", "male": "male", "1": "male", "女": "female", "f": "female",
           "female": "female", "2": "female"}
DEGREES = {
    "博士": "phd", "博士研究生": "phd", "博士生": "phd", "phd": "phd", "ph.d.": "phd",
    "doctor": "phd", "doctoral": "phd", "doctorate": "phd",
    "硕士": "master", "硕士研究生": "master", "硕士生": "master", "学术型硕士": "master",
    "专业型硕士": "master", "专业学位硕士": "master", "学术学位硕士": "master", "master": "master",
    "masters": "master", "master's": "master",
    "本科": "bachelor", "本科生": "bachelor", "学士": "bachelor", "bachelor": "bachelor",
    "undergraduate": "bachelor",
}
STUDY_MODES = {
    "全日制": "full_time", "full-time": "full_time", "full time": "full_time",
    "fulltime": "full_time", "full_time": "full_time",
    "非全日制": "part_time", "在职": "part_time", "在职研究生": "part_time", "业余": "part_time",
    "part-time": "part_time", "part time": "part_time", "part_time": "part_time",
    "in-service": "part_time", "in service": "part_time",
    "脱产": "full_time", "非脱产": "part_time", "不脱产": "part_time",
}
TRUE = {"是", "y", "yes", "true", "1", "√", "✓", "x"}
FALSE = {"否", "n", "no", "false", "0", ""}


@lru_cache(maxsize=4096)  # a roster repeats few distinct values in these columns
def gender(text: str) -> str | None:
    t = clean(text).lower()
    if not t:
        return None
    if t not in GENDERS:
        raise BadValue("roster.bad_gender", value=text)
    return GENDERS[t]


@lru_cache(maxsize=4096)  # a roster repeats few distinct values in these columns
def degree(text: str) -> str:
    t = clean(text).lower()
    if t in DEGREES:
        return DEGREES[t]
    for word, code in (("博士", "phd"), ("硕士", "master"), ("本科", "bachelor")):
        if word in t:
            return code
    raise BadValue("roster.bad_degree", value=text)


# Words that mark an in-service (part-time) programme wherever an office writes them: in 学习方式,
# but just as often folded into 学历层次 or 学生类别 ("在职硕士", "非全日制硕士研究生"). The notice
# excludes in-service masters, so a file without a 学习方式 column must not make them eligible.
IN_SERVICE_WORDS = ("非全日制", "在职", "非脱产", "不脱产", "part-time", "part time", "in-service",
                    "in service")


@lru_cache(maxsize=4096)  # a roster repeats few distinct values in these columns
def in_service(text: str) -> bool:
    """Whether a degree, category or study-mode cell says the programme is in-service."""
    t = clean(text).lower()
    return any(word in t for word in IN_SERVICE_WORDS)


@lru_cache(maxsize=4096)  # a roster repeats few distinct values in these columns
def study_mode(text: str, default: str) -> str:
    """The study mode; "全日制（脱产）" is taken when both words say the same mode, else refused."""
    t = clean(text).lower()
    if not t:
        return default
    both = re.fullmatch(r"(.+?)\s*\((.+)\)", t)
    if t not in STUDY_MODES and both and STUDY_MODES.get(both.group(1)) is not None \
            and STUDY_MODES.get(both.group(1)) == STUDY_MODES.get(both.group(2)):
        return STUDY_MODES[both.group(1)]
    if t not in STUDY_MODES:
        raise BadValue("roster.bad_study_mode", value=text)
    return STUDY_MODES[t]


@lru_cache(maxsize=4096)  # a roster repeats few distinct values in these columns
def flag(text: str) -> bool:
    t = clean(text).lower()
    if t in TRUE:
        return True
    if t in FALSE:
        return False
    raise BadValue("roster.bad_flag", value=text)


@lru_cache(maxsize=4096)  # a roster repeats few distinct values in these columns
def year(text: str) -> int:
    t = clean(text)
    m = re.fullmatch(r"(\d{4})(?:\s*(?:级|年|届))?(?:[-/.年]\d{1,2}(?:[-/.月]\d{1,2}日?)?)?", t)
    if not m or not 1950 <= int(m.group(1)) <= 2100:
        raise BadValue("roster.bad_year", value=text)
    return int(m.group(1))


# 学制 as offices write it in words: 三年, 两年半 (one numeral; longer words are no programme).
_NUMERALS = {"一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5", "六": "6",
             "七": "7", "八": "8", "九": "9", "十": "10"}


@lru_cache(maxsize=4096)  # a roster repeats few distinct values in these columns
def program_years(text: str) -> int | float:
    t = clean(text)
    half = t.endswith("年半")
    t = t.removesuffix("年半") if half else t.removesuffix("年").removesuffix("年制").strip()
    t = _NUMERALS.get(t, t)
    try:
        value = float(t) + (0.5 if half else 0)
    except ValueError:
        raise BadValue("roster.bad_program_years", value=text) from None
    if not 1 <= value <= 10:
        raise BadValue("roster.bad_program_years", value=text)
    return int(value) if value.is_integer() else value


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


@lru_cache(maxsize=4096)  # a roster repeats few distinct values in these columns
def date(text: str) -> dt.date:
    t = clean(text)
    t = t.split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2} ", t) else t
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise BadValue("roster.bad_date", value=text)


def time_of_day(text: str) -> str:
    t = clean(text).replace("：", ":").replace(".", ":")
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::00)?", t)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise BadValue("schedule.bad_time", value=text)
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def time_range(text: str) -> tuple[str, str]:
    parts = re.split(r"\s*(?:-|–|—|~|～|至|到)\s*", clean(text))
    if len(parts) != 2:
        raise BadValue("schedule.bad_time", value=text)
    return time_of_day(parts[0]), time_of_day(parts[1])


def departments(text: str) -> list[str]:
    parts = [clean(p) for p in re.split(r"[、,，;；/|\n]+", text)]
    return [p for p in parts if p]


MAX_SLOT_COUNT = 100_000


def count(text: str) -> int | None:
    t = clean(text).removesuffix("人")
    if not t:
        return None
    if not t.isdigit() or not t.isascii():
        raise BadValue("schedule.bad_count", value=text[:40])
    if len(t) > 6 or int(t) > MAX_SLOT_COUNT:       # also keeps it inside SQLite's integers
        raise BadValue("schedule.count_too_big", value=text[:40], limit=MAX_SLOT_COUNT)
    return int(t)
