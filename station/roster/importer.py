"""`station roster import`: validate a whole roster file, then store it as new facts — or nothing.

All-or-nothing: every row is checked first and every bad cell reported (line, column, reason);
only a clean file is written, in one transaction. Re-importing updates people by ID number as new
facts, so the history of every entry is kept.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.domain import idnumber, studentno
from station.errors import InputError, Location
from station.privacy import unsafe_character
from station.roster import values
from station.roster.columns import (
    CAPTURE_CODE_HEADERS,
    ROSTER_ALIASES,
    ROSTER_ONE_OF,
    ROSTER_REQUIRED,
    column_label,
    duplicate_columns,
    map_header,
    normalise_header,
    stood_in,
)
from station.roster.eligibility import Rules
from station.roster.tabular import CellError, Table, column_index, read_table
from station.store import imports

if TYPE_CHECKING:
    from station.settings import RosterSection
    from station.store.core import Store

STORED_FIELDS = ("id_number", "student_no", "name", "gender", "birth_date", "department", "degree",
                 "category", "program_years", "entry_year", "study_mode", "earlier_uncaptured",
                 "eligible", "eligibility_rule", "extra")
MAX_LISTED_ERRORS = 50


class ImportRejected(InputError):
    """The file has bad rows; nothing was imported. Carries every error."""

    def __init__(self, file: str, errors: list[CellError], kind: str = "roster") -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(f"{kind}.rejected", Location(file, first.line, first.column),
                         count=len(errors), file=file)

    @property
    def message(self) -> str:
        from station.i18n import get_language, t

        lang = get_language()
        lines = [t(self.key, **self.params)]
        for e in self.errors[:MAX_LISTED_ERRORS]:
            where = ", ".join(p for p in (
                t("roster.at_line", line=e.line) if e.line else None,
                t("roster.at_column", column=e.column) if e.column else None) if p)
            text = e.messages()[0 if lang == "zh" else 1]
            lines.append(f"  {where}: {text}" if where else f"  {text}")
        if len(self.errors) > MAX_LISTED_ERRORS:
            lines.append("  " + t("roster.more_errors", count=len(self.errors) - MAX_LISTED_ERRORS))
        return "\n".join(lines)

    def to_json(self) -> dict:
        data = super().to_json()
        data["message_zh"], data["message_en"] = self.messages
        data["errors"] = [e.to_json() for e in self.errors]
        return data


@dataclass
class ImportReport:
    kind: str
    file: str
    format: str
    encoding: str | None
    rows: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    eligible: int = 0
    not_eligible: int = 0
    dry_run: bool = False
    import_id: str | None = None
    warnings: list[dict] = field(default_factory=list)
    sheet: str | None = None        # XLSX: the sheet that was read
    school_code: str | None = None  # whose roster the file is (roster imports)

    def to_json(self) -> dict:
        data = {**self.__dict__, "rejected": 0}
        if data["school_code"] is None and self.kind != "roster":
            del data["school_code"]
        return data


def _warning(code: str, **params: Any) -> dict:
    from station.i18n import both

    zh, en = both(code, **params)
    return {"code": code, **params, "message_zh": zh, "message_en": en}


def check_cells(table: Table, max_chars: int) -> list[CellError]:
    """Formula cells, cells too long to be real data, and data beyond the last named column.

    Each is one error among the rows' (sorted into file order by the caller): a workbook with
    formulas and a number-typed ID column is refused once, listing both, not one per attempt."""
    errors = [CellError(line, column_label(table.header, column_index(letters)),
                        "roster.formula_cell", {}) for line, letters in table.formulas]
    width = len(table.header)
    for line, cells in [(table.header_line, table.header), *table.rows]:
        if _row_is_plain(cells, width, max_chars):
            continue                    # the usual row: one scan instead of one per cell
        for i, cell in enumerate(cells):
            bad = unsafe_character(cell, allow_whitespace=True)
            if len(cell) > max_chars:
                errors.append(CellError(line, column_label(table.header, i), "roster.huge_cell",
                                        {"length": len(cell), "limit": max_chars}))
            elif bad is not None:       # an ESC sequence would reach screens and logs
                errors.append(CellError(line, column_label(table.header, i),
                                        "privacy.control_character",
                                        {"field": column_label(table.header, i),
                                         "character": bad}))
            elif i >= width and cell.strip():
                errors.append(CellError(line, column_label(table.header, i), "roster.extra_cell",
                                        {"value": cell[:40]}))
    return errors


def cell_places(errors: list[CellError]) -> set[tuple[int | None, str | None]]:
    """(line, column) of the cells ``check_cells`` refused: their row checks say nothing more."""
    return {(e.line, e.column) for e in errors}


def _row_is_plain(cells: list[str], width: int, max_chars: int) -> bool:
    """No cell too long, no control character, nothing beyond the last named column."""
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        return False
    if max(map(len, cells), default=0) > max_chars:
        return False
    return unsafe_character(" ".join(cells), allow_whitespace=True) is None


def missing_columns(table: Table, fields: dict[str, int], required: tuple[str, ...],
                    one_of: tuple[tuple[str, ...], ...], aliases: dict) -> list[CellError]:
    errors = []
    for f in required:
        if f not in fields:
            errors.append(CellError(table.header_line, None, "roster.missing_column",
                                    {"column": " / ".join(dict.fromkeys(aliases[f][:2] + aliases[f][-1:]))}))
    for group in one_of:
        if not any(f in fields for f in group):
            names = " / ".join(aliases[f][0] for f in group)
            errors.append(CellError(table.header_line, None, "roster.missing_column", {"column": names}))
    return errors


# Fields the export writes into the manifest: what it would refuse there is refused here, so that
# nobody is photographed and paid and then never exported.
EXPORTED_TEXT = ("name", "student_no", "department")
FORMULA_START = ("=", "+", "-", "@")


def export_problems(name: str, value: str) -> tuple[str, dict[str, Any]] | None:
    """(catalog key, params) if the export would refuse this cleaned value of an exported field."""
    if any(ch in value for ch in "\t\r\n"):
        return "roster.line_break", {}
    if value.startswith(FORMULA_START):
        return "roster.formula_text", {"value": value[:40]}
    return None


def unencodable(value: str, encoding: str) -> str | None:
    """The first character of ``value`` the export CSV's encoding cannot hold, if any."""
    try:
        value.encode(encoding)
    except UnicodeEncodeError as exc:
        return value[exc.start:exc.end]
    except LookupError:
        return None
    return None


def sheet_warnings(table: Table) -> list[dict]:
    """Which sheet of a workbook was read, and the sheets that were not: an office that left last
    year's list in a hidden sheet, or two lists side by side, sees which one became the roster."""
    if table.sheet is None:
        return []
    out = []
    if table.sheet.hidden:
        out.append(_warning("roster.sheets_hidden", sheets="、".join(table.sheet.hidden)))
    if table.sheet.others:
        out.append(_warning("roster.sheets_other", sheets="、".join(table.sheet.others)))
    return out


def header_test(aliases: dict[str, tuple[str, ...]], key_fields: tuple[str, ...]
                ) -> Callable[[list[str]], bool]:
    """Whether a row is the header: it names every one of ``key_fields`` (a title row or a row of
    merged group headings above the column names names none of them)."""
    def is_header(cells: list[str]) -> bool:
        fields, _unknown = map_header(cells, aliases)
        return all(f in fields for f in key_fields)
    return is_header


def title_warnings(table: Table) -> list[dict]:
    """The lines above the header that were not read, and the hidden lines that were (a filter
    the office left on hides rows it never checked), said in the report."""
    out = []
    if table.title_lines:
        out.append(_warning("roster.title_rows", header_line=table.header_line,
                            lines="、".join(map(str, table.title_lines))))
    if table.hidden_lines:
        shown = table.hidden_lines[:MAX_LISTED_ERRORS]
        more = len(table.hidden_lines) - len(shown)
        out.append(_warning("roster.hidden_rows", count=len(table.hidden_lines),
                            lines="、".join(map(str, shown)) + ("…" if more else "")))
    return out


def clashing_columns(table: Table, aliases: dict) -> list[CellError]:
    """An error for every second column that maps to an already mapped field, naming both."""
    return [CellError(table.header_line, column_label(table.header, later), "roster.duplicate_column",
                      {"first": column_label(table.header, first),
                       "second": column_label(table.header, later)})
            for _field, first, later in duplicate_columns(table.header, aliases)]


def parse_roster(path: Path, settings: RosterSection,
                 known_departments: set[str] | None = None, export_encoding: str = "gbk"
                 ) -> tuple[Table, list[dict], list[CellError], list[dict]]:
    """(table, clean rows, errors, warnings). Rows are only meaningful when errors is empty.

    ``export_encoding``: the export profile's CSV encoding; a name it cannot hold (a rare
    character such as 䶮 outside GBK) is a warning per row, not a refusal: the name is real."""
    table = read_table(path, header_test(ROSTER_ALIASES, ("id_number", "name")))
    max_rows = settings.max_rows
    if not table.rows:
        raise InputError("roster.no_rows", Location(table.file, table.header_line))
    if len(table.rows) > max_rows:
        raise InputError("roster.too_many_rows", Location(table.file), rows=len(table.rows),
                         limit=max_rows)
    cell_errors = check_cells(table, settings.max_cell_chars)
    fields, unknown = map_header(table.header, ROSTER_ALIASES)
    errors = clashing_columns(table, ROSTER_ALIASES)
    errors += missing_columns(table, fields, ROSTER_REQUIRED, ROSTER_ONE_OF, ROSTER_ALIASES)
    if errors:                          # without its columns no row can be read
        return table, [], sorted(cell_errors + errors, key=lambda e: e.line or 0), []
    errors = cell_errors                # a bad cell hides no other row's errors
    rules = Rules.from_settings(settings)
    default_mode = settings.default_study_mode
    rows: list[dict] = []
    seen_id: dict[str, int] = {}
    seen_no: dict[str, int] = {}
    flagged = cell_places(cell_errors)
    stand_ins = frozenset(stood_in(table.header, ROSTER_ALIASES))
    zeroed: list[int] = []
    codes = {normalise_header(h) for h in CAPTURE_CODE_HEADERS}
    # a 图像采集码 column is named as not used, and not kept either: each student's own QR code
    # is scanned at the desk, and the encrypted codes are no extra column of the roster's
    kept = {i: header for i, header in unknown.items() if normalise_header(header) not in codes}
    for line, cells in table.rows:
        row, row_errors = _parse_row(table, line, cells, fields, kept, rules, default_mode,
                                     stand_ins)
        errors += [e for e in row_errors if (e.line, e.column) not in flagged]
        # duplicates are checked on the raw cells, so a row with other errors still shows them
        i = fields["id_number"]
        idn = idnumber.normalise(cells[i]) if i < len(cells) else ""
        if len(idn) == 18 and idn.endswith("000"):
            zeroed.append(line)
        if idn and idn in seen_id:
            errors.append(CellError(line, column_label(table.header, i),
                                    "roster.duplicate_id", {"first_line": seen_id[idn]}))
        elif idn:
            seen_id[idn] = line
        if row is None:
            continue
        no = row["student_no"]
        if no:
            if no in seen_no:
                errors.append(CellError(line, column_label(table.header, fields["student_no"]),
                                        "roster.duplicate_student_no",
                                        {"value": no, "first_line": seen_no[no]}))
            else:
                seen_no[no] = line
        rows.append(row)
    errors += zeroed_numbers(table, fields, zeroed, errors)
    warnings: list[dict] = []
    if known_departments:
        counts: dict[str, int] = {}
        for row in rows:
            if row["department"] not in known_departments:
                counts[row["department"]] = counts.get(row["department"], 0) + 1
        warnings = [_warning("roster.unknown_department", department=d, count=n)
                    for d, n in sorted(counts.items())]
    warnings += [_warning("roster.name_dot", line=row["_line"],
                          column=column_label(table.header, fields["name"]),
                          dot=f"{row['_dot']} U+{ord(row['_dot']):04X}")
                 for row in rows if row["_dot"]]
    warnings += title_warnings(table)
    warnings += sheet_warnings(table)
    warnings += [_warning("roster.capture_code_column", column=header)
                 for header in unknown.values() if normalise_header(header) in codes]
    for row in rows:
        for name in EXPORTED_TEXT:
            char = unencodable(row[name] or "", export_encoding)
            if char is not None:
                warnings.append(_warning("roster.not_encodable", line=row["_line"],
                                         column=column_label(table.header, fields[name]),
                                         character=f"{char} U+{ord(char[0]):04X}",
                                         encoding=export_encoding.upper()))
    errors.sort(key=lambda e: e.line or 0)    # in file order, a refused cell among its row's
    return table, rows, errors, warnings


# An ID number as Excel shows a number cell ("1.10101E+17") and so saves it to CSV: the digits
# after the sixth are gone, which the length error ("has 11 characters") did not say.
_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?E\+?\d+")


def zeroed_numbers(table: Table, fields: dict[str, int], zeroed: list[int],
                   errors: list[CellError]) -> list[CellError]:
    """Errors for ID numbers ending in 000 that passed their checks, in a damaged column.

    Excel keeps 15 digits of a number, so a number column saved to CSV ends in 000 — and one such
    number in 11 still passes the check digit, as another person's number. Real numbers end in
    000 too (sequence x00, check digit 0, about one woman in 1,100), so only a file that shows the
    damage elsewhere (a number cell, 1.1E+17, a "…000" failing its check) has them refused; alone,
    such a number is taken (if damaged, its student is not on the roster at the desk)."""
    column = column_label(table.header, fields["id_number"])
    at = set(zeroed)
    damaged = any(e.column == column and (e.code == "roster.id_number_numeric"
                                          or (e.code == "id_number.check_digit" and e.line in at))
                  for e in errors)
    done = {e.line for e in errors if e.column == column}
    lines = [line for line in zeroed if line not in done]
    if not damaged:
        return []
    return [CellError(line, column, "roster.id_number_zeroed", {}) for line in lines]


def _parse_row(table: Table, line: int, cells: list[str], fields: dict[str, int],
               unknown: dict[int, str], rules: Rules, default_mode: str,
               stand_ins: frozenset[int] = frozenset()) -> tuple[dict | None, list[CellError]]:
    """One row checked and judged; ``stand_ins``: extra columns whose in-service words still
    count (a 培养方式 column beside 学习形式)."""
    errors: list[CellError] = []
    width = len(cells)
    text = {name: cells[i].strip() for name, i in fields.items() if i < width}

    def cell(name: str) -> str:
        return text.get(name, "")

    def bad(name: str, code: str, **params: Any) -> None:
        errors.append(CellError(line, column_label(table.header, fields[name]), code, params))

    def parse(name: str, fn, *args):
        try:
            return fn(cell(name), *args)
        except values.BadValue as exc:
            bad(name, exc.code, **exc.params)
            return None

    for name in ("id_number", "name", "department", "entry_year", "program_years"):
        if not cell(name):
            bad(name, "roster.empty_cell")
    for name in ("name", "department"):
        problem = export_problems(name, values.clean(cell(name))) if cell(name) else None
        if problem is not None:
            bad(name, problem[0], **problem[1])
    student_no = studentno.normalise(cell("student_no"))
    # it names exported photos and prints: the one form of station.domain.studentno, or refused
    problem = studentno.problem(student_no) if student_no else None
    if problem is not None:
        bad("student_no", problem[0], **problem[1])
    idn = idnumber.normalise(cell("id_number"))
    if idn and ((line, fields["id_number"]) in table.numeric or _SCIENTIFIC.fullmatch(idn)):
        bad("id_number", "roster.id_number_numeric")
    elif idn:
        for finding in idnumber.validate(idn):
            bad("id_number", f"id_number.{finding.code}", **finding.params)
    g = parse("gender", values.gender) if "gender" in fields else None
    born = parse("birth_date", values.date) if "birth_date" in fields and cell("birth_date") else None
    if idn and not errors:
        for finding in idnumber.consistency(idn, born, g):
            col = "birth_date" if finding.code == "birth_mismatch" else "gender"
            bad(col, f"id_number.{finding.code}", **finding.params)
    degree_text = cell("degree") or cell("category")
    degree = None
    if degree_text:
        try:
            degree = values.degree(degree_text)
        except values.BadValue as exc:
            bad("degree" if "degree" in fields else "category", exc.code, **exc.params)
    else:
        bad("degree" if "degree" in fields else "category", "roster.empty_cell")
    entry_year = parse("entry_year", values.year) if cell("entry_year") else None
    years = parse("program_years", values.program_years) if cell("program_years") else None
    mode = parse("study_mode", values.study_mode, default_mode) if "study_mode" in fields else default_mode
    earlier = parse("earlier_uncaptured", values.flag) if "earlier_uncaptured" in fields else False
    if errors:
        return None, errors
    if (any(values.in_service(cell(name)) for name in ("degree", "category", "study_mode"))
            or any(values.in_service(cells[i]) for i in stand_ins if i < width)):
        mode = "part_time"       # 在职/非全日制 in any of them: the programme is in-service
    verdict = rules.judge(degree, entry_year, years, mode, bool(earlier))
    name, dot = values.person_name(cell("name"))
    birth = born or idnumber.birth_date(idn)
    row = {
        "id_number": idn, "student_no": student_no or None, "name": name,
        "gender": g or idnumber.gender(idn), "birth_date": birth.isoformat() if birth else None,
        "department": values.clean(cell("department")), "degree": degree,
        "category": values.clean(cell("category")) or None, "program_years": years,
        "entry_year": entry_year, "study_mode": mode, "earlier_uncaptured": bool(earlier),
        "eligible": verdict.eligible, "eligibility_rule": verdict.rule,
        "extra": {text: cells[i].strip() for i, text in unknown.items()
                  if i < len(cells) and cells[i].strip()},
    }
    row["_line"] = line
    row["_dot"] = dot
    return row, []


def import_roster(store: Store, path: Path, settings: RosterSection, operator: str | None,
                  dry_run: bool = False, export_encoding: str = "gbk",
                  school_code: str | None = None) -> ImportReport:
    """Validate ``path`` and (unless ``dry_run``) store it as ``school_code``'s roster (default:
    the station's own school, set at ``station init``); raises ImportRejected on any bad row.
    Each school's roster is its own: importing one never changes another's entries."""
    from station import faults

    home = store.meta("school_code")
    school = school_code or home
    # the schedule is the home school's: another school's departments are not checked against it
    known = store.schedule.departments() if school == home else set()
    table, rows, errors, warnings = parse_roster(Path(path), settings, known or None,
                                                 export_encoding)
    if errors:
        if not dry_run and store.initialized:
            store.audit.append(operator, "roster.import.refused", Path(path).name,
                               {"errors": len(errors), "school_code": school})
        raise ImportRejected(table.file, errors)
    report = ImportReport("roster", table.file, table.format, table.encoding, len(rows),
                          dry_run=dry_run, warnings=warnings,
                          sheet=table.sheet.name if table.sheet else None, school_code=school)
    report.eligible = sum(1 for r in rows if r["eligible"])
    report.not_eligible = len(rows) - report.eligible
    data = Path(path).read_bytes()
    with store.transaction():
        changes = imports.diff(store, "roster_entries", "id_number", STORED_FIELDS, rows,
                               scope=("school_code", school))
        report.added, report.updated = changes.added, changes.updated
        report.unchanged = changes.unchanged
        if dry_run:
            return report
        import_id = imports.write(store, "roster_entries", changes, kind="roster",
                                  file_name=Path(path).name,
                                  file_sha256=hashlib.sha256(data).hexdigest(), rows=len(rows),
                                  operator=operator)
        faults.point("roster.import.written")
        store.audit.append(operator, "roster.import", Path(path).name, {
            "import_id": import_id, "rows": len(rows), "added": report.added,
            "updated": report.updated, "unchanged": report.unchanged, "school_code": school})
        report.import_id = import_id
    return report
