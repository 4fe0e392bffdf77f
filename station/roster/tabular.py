"""Reading a spreadsheet-like file (CSV in UTF-8/GBK/GB18030/UTF-16, or XLSX) into text cells with lines.

The roster and the schedule come from school offices as whatever Excel saved, so the encoding is
detected by strict decoding (BOM — UTF-8 or UTF-16, Excel's "Unicode text" —, then UTF-8, then
GB18030 which contains GBK) and every problem is
reported with its line; formula cells are refused because their cached value may be stale.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.errors import InputError, Location

# A roster of 20,000 graduates is a few MB; anything far larger is not a roster (or /dev/zero).
MAX_FILE_BYTES = 64 * 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


@dataclass
class Table:
    """Header cells and data rows; ``rows`` holds (line number, cells) with 1-based lines."""

    file: str
    format: str            # "csv", "xlsx" or "xls"
    encoding: str | None   # for CSV
    header: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    # (line, column index) of cells a workbook stored as numbers (workbooks only)
    numeric: set[tuple[int, int]] = field(default_factory=set)
    sheet: SheetChoice | None = None     # workbooks only: which sheet was read, which were not
    # workbooks only: (line, column letters) of every formula cell, refused with the rows' errors
    formulas: list[tuple[int, str]] = field(default_factory=list)
    # lines above the header that were not read: a title ("2026届毕业生名单") and merged group
    # headings ("基本信息" over three columns) that offices put above the real column names
    title_lines: list[int] = field(default_factory=list)
    # workbooks only: data lines the workbook hides (filtered out or hidden by hand): read all the same
    hidden_lines: list[int] = field(default_factory=list)


# How far down a header is looked for: a title and a row or two of group headings, not a table.
HEADER_SEARCH_ROWS = 10
HeaderTest = Callable[[list[str]], bool]


def _take_header(name: str, rows: list[tuple[int, list[str]]], is_header: HeaderTest | None
                 ) -> tuple[list[str], int, list[tuple[int, list[str]]], list[int]]:
    """(header, its line, data rows, title lines) from the file's non-empty rows.

    The header is the first of the top rows that ``is_header`` accepts; when none does (or no test
    is given), the first row, so the caller reports the columns it misses on that line."""
    if not rows:
        raise InputError("roster.empty", Location(name))
    at = 0
    if is_header is not None:
        at = next((i for i, (_line, cells) in enumerate(rows[:HEADER_SEARCH_ROWS])
                   if is_header(cells)), 0)
    line, header = rows[at]
    return header, line, rows[at + 1:], [ln for ln, _cells in rows[:at]]


@dataclass(frozen=True)
class CellError:
    """One bad cell (or row): where it is and what is wrong, as a catalog key + parameters."""

    line: int | None
    column: str | None
    code: str
    params: dict

    def messages(self) -> tuple[str, str]:
        from station.i18n import both

        return both(self.code, **self.params)

    def to_json(self) -> dict:
        zh, en = self.messages()
        return {"line": self.line, "column": self.column, "code": self.code,
                "message_zh": zh, "message_en": en}


def _looks_utf8(prefix: bytes) -> bool:
    """Several CJK ideographs decoded cleanly as UTF-8: GBK bytes almost never do that."""
    text = prefix.decode("utf-8", errors="ignore")
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") >= 4


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _decode_utf16(data: bytes, name: str) -> tuple[str, str]:
    """Excel's "Unicode text" save: UTF-16 with its BOM (little-endian as Excel writes it, or
    big-endian), read by the BOM alone; a byte sequence that is no UTF-16 is named by its line."""
    encoding = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
    body = data[2:]
    try:
        return body.decode(encoding), "utf-16"
    except UnicodeDecodeError as exc:
        line = body[:exc.start].decode(encoding, errors="replace").count("\n") + 1
        raise InputError("roster.bad_encoding", Location(name, line), encoding="UTF-16") from None


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith(UTF16_BOMS):
        return _decode_utf16(data, name)
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as utf8_error:
        utf8_stop = utf8_error.start
        # Non-ASCII text that decoded as UTF-8 before the bad byte means a UTF-8 file with a
        # broken or foreign line (e.g. two exports pasted together): GB18030 would turn the good
        # part into plausible-looking wrong names, so report the bad line instead of guessing.
        if encoding == "utf-8-sig" or _looks_utf8(data[:utf8_stop]):
            line = data[:utf8_stop].count(b"\n") + 1
            raise InputError("roster.bad_encoding", Location(name, line), encoding="UTF-8") from None
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        # the encoding that decoded further is the one the file was meant to be in
        pos = max(exc.start, utf8_stop)
        line = data[:pos].count(b"\n") + 1
        raise InputError("roster.bad_encoding", Location(name, line),
                         encoding="UTF-8 / GBK / GB18030") from None


DELIMITERS = (",", "\t", ";", "，")


def _delimiter(lines: list[str], is_header: HeaderTest | None = None) -> str:
    """The separator that splits a top line into the header; failing that, the one the first
    line holds most of. A title line above a tab-separated header has no tabs (or a comma)."""
    top = [ln for ln in lines[:HEADER_SEARCH_ROWS * 2] if ln.strip()][:HEADER_SEARCH_ROWS]
    if is_header is not None:
        for line in top:
            for d in DELIMITERS:
                if d in line and is_header(line.split(d)):
                    return d
    first = top[0] if top else ""
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(path: Path, data: bytes, is_header: HeaderTest | None = None) -> Table:
    name = str(path)
    if b"\x00" in data and not data.startswith(UTF16_BOMS):
        raise InputError("roster.binary", Location(name))
    text, encoding = _decode(data, name)
    reader = csv.reader(io.StringIO(text, newline=""),
                        delimiter=_delimiter(text.splitlines(), is_header), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            line = start
            start = reader.line_num + 1
            if any(c.strip() for c in record):
                rows.append((line, record))
    except csv.Error as exc:
        raise InputError("roster.bad_csv", Location(name, reader.line_num), error=str(exc)) from None
    header, header_line, rows, titles = _take_header(name, rows, is_header)
    shown = encoding.replace("-sig", " BOM") if encoding != "utf-16" else "utf-16 BOM"
    return Table(name, "csv", shown, header, header_line, rows,
                 title_lines=titles)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


# A workbook's parts are expanded in memory by the reader: a zip bomb must be refused before that.
XLSX_MAX_EXPANDED = 512 * 1024 * 1024
_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


@dataclass(frozen=True)
class SheetChoice:
    """The sheet a workbook import reads, and the sheets it leaves out (said in the report)."""

    part: str                       # zip member of the sheet read
    name: str
    index: int = 0                  # its place among the workbook's sheets (what the reader opens)
    hidden: tuple[str, ...] = ()    # hidden / very hidden sheets skipped
    others: tuple[str, ...] = ()    # further visible sheets not read


def _first_sheet_part(zf: zipfile.ZipFile, name: str) -> SheetChoice:
    """The first *visible* sheet of the workbook (workbook order, through the relationships).

    Offices keep last year's list in a hidden first sheet; the person at the desk sees only the
    visible one, so that is the roster. A workbook whose sheets are all hidden is refused by the
    caller (KeyError → bad workbook), never read silently.
    """
    from xml.etree import ElementTree

    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    sheets = list(book.iter(f"{_SHEET_NS}sheet"))
    # Excel never saves two sheets of one name (it compares them case-blind); a crafted workbook
    # can, and then a reader asked for "名单" opens the first one — a hidden sheet whose size and
    # formulas were never checked. Such a workbook is refused, naming the sheet.
    seen: set[str] = set()
    for sheet in sheets:
        folded = sheet.get("name", "").casefold()
        if folded in seen:
            raise InputError("roster.xlsx_duplicate_sheet", Location(name), sheet=sheet.get("name", ""))
        seen.add(folded)
    visible = [s for s in sheets if s.get("state", "visible") not in ("hidden", "veryHidden")]
    if not visible:
        raise KeyError("no visible sheet in xl/workbook.xml")
    first = visible[0]
    rid = first.get(f"{rel_ns}id")
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rid:
            target = rel.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            return SheetChoice(part, first.get("name", ""), sheets.index(first),
                               tuple(s.get("name", "") for s in sheets if s not in visible),
                               tuple(s.get("name", "") for s in visible[1:]))
    raise KeyError(f"relationship {rid} missing")


# Calamine materialises the rectangle from A1 to the last cell (skip_empty_area=False), 32 bytes
# a cell before Python objects: one cell at XFD1048576 asks for 512 GB and aborts the process
# from Rust, where no exception can catch it. A sheet's extent is therefore measured first, by
# streaming its XML, and refused beyond what a roster or schedule can be.
XLSX_MAX_ROWS = 250_000          # roster.max_rows is 200,000 by default, plus header and blanks
XLSX_MAX_COLUMNS = 200
XLSX_MAX_CELLS = 4_000_000       # rows × columns of the rectangle the reader would build
XLSX_MAX_TEXT = 1024 * 1024      # one cell's text; roster.max_cell_chars refuses far less later
_ROW_REF = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"(\d{1,9})\"")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Za-z]{1,3})(\d{1,9})\"")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"(?:[A-Za-z]{1,3}\d{1,9}:)?([A-Za-z]{1,3})(\d{1,9})\"")


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _longest(numbers: list[bytes]) -> int:
    """The largest of decimal numbers given as bytes, without converting each one."""
    return int(max(numbers, key=lambda b: (len(b), b))) if numbers else 0


def _refuse(name: str, what: str, value: int, limit: int) -> None:
    raise InputError(f"roster.xlsx_limit.{what}", Location(name), value=value, limit=limit)


def _check_extent(zf: zipfile.ZipFile, part: str, name: str) -> None:
    """Refuse a sheet too large to read, from its XML read in 1 MB pieces (nothing materialised):
    the declared dimension, every row and cell reference, and any run of text longer than a cell
    could hold (also in the shared strings, which the reader loads whole).

    Byte patterns, not an XML parser: a 20,000-row roster is scanned in milliseconds, and a
    reference split between two pieces is caught by the overlap kept from the previous piece.
    """
    rows = columns = counted = 0
    for member in (part, "xl/sharedStrings.xml"):
        if member != part and member not in zf.namelist():
            continue
        text_run, tail = 0, b""
        with zf.open(member) as stream:
            while chunk := stream.read(1 << 20):
                first, last = chunk.find(b"<"), chunk.rfind(b"<")
                text_run = text_run + len(chunk) if first < 0 else len(chunk) - last - 1
                if first > 0 and text_run + first > XLSX_MAX_TEXT or text_run > XLSX_MAX_TEXT:
                    _refuse(name, "text", XLSX_MAX_TEXT, XLSX_MAX_TEXT)
                if member != part:
                    continue
                data, tail = tail + chunk, chunk[-256:]
                cells = _CELL_REF.findall(data) + _DIMENSION.findall(data)
                row_refs = _ROW_REF.findall(data) + [r for _c, r in cells]
                counted += chunk.count(b"<row")     # rows written without a reference
                rows = max(rows, _longest(row_refs), counted)
                letters = {c for c, _r in cells}
                columns = max([columns, *(_column_number(c) for c in letters)])
                if rows > XLSX_MAX_ROWS:
                    _refuse(name, "rows", rows, XLSX_MAX_ROWS)
                if columns > XLSX_MAX_COLUMNS:
                    _refuse(name, "columns", columns, XLSX_MAX_COLUMNS)
                if rows * columns > XLSX_MAX_CELLS:
                    _refuse(name, "cells", rows * columns, XLSX_MAX_CELLS)


def _formula_cells(zf: zipfile.ZipFile, part: str) -> list[tuple[int, str]]:
    """(line, column) of every formula cell: a cached formula result may be stale, so refuse them.

    Most rosters have none, so a byte search decides first; only a hit pays for a parse.
    """
    data = zf.read(part)
    # plain substring tests run at memory speed; the exact pattern only where one could match
    if (b"<f" not in data and b":f" not in data) or not _FORMULA_TAG.search(data):
        return []
    from xml.etree import ElementTree

    found: list[tuple[int, str]] = []
    cell_ref = ""
    for _event, element in ElementTree.iterparse(io.BytesIO(data), events=("start",)):
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "c":
            cell_ref = element.get("r", "")
        elif tag == "f" and cell_ref:
            match = re.fullmatch(r"([A-Z]+)(\d+)", cell_ref)
            if match:
                found.append((int(match.group(2)), match.group(1)))
            cell_ref = ""
    return found


def _fill_merged(grid: list[list[Any]], ranges: list, name: str) -> None:
    """Give every cell of a merged area the value shown there (its top-left cell's).

    Offices merge a department down over its students, and a heading over the columns below it;
    the reader gives the value to the first cell only, so the rows under it read as empty. What
    the sheet shows is what each row holds. Bounded like the sheet itself (``XLSX_MAX_CELLS``)."""
    filled = 0
    for (r0, c0), (r1, c1) in ranges:
        if r0 >= len(grid) or c0 >= len(grid[r0]):
            continue
        value = grid[r0][c0]
        for row in grid[r0:r1 + 1]:
            end = min(c1 + 1, len(row))
            row[c0:end] = [value] * max(end - c0, 0)
            filled += max(end - c0, 0)
        if filled > XLSX_MAX_CELLS:
            _refuse(name, "cells", filled, XLSX_MAX_CELLS)


_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*>")
_HIDDEN = re.compile(rb"\bhidden=\"(?:1|true)\"")
_ROW_NUMBER = re.compile(rb"\br=\"(\d{1,9})\"")


def _hidden_rows(zf: zipfile.ZipFile, part: str) -> set[int]:
    """Lines the sheet hides (a filter, or rows hidden by hand): the office did not see them."""
    data = zf.read(part)
    if b"hidden=" not in data:
        return set()
    found = set()
    for tag in _ROW_TAG.findall(data):
        number = _ROW_NUMBER.search(tag)
        if _HIDDEN.search(tag) and number:
            found.add(int(number.group(1)))
    return found


def _reader_panicked(exc: BaseException) -> bool:
    """The cell reader (Rust) hit a record it did not expect and panicked: pyo3 raises that as
    ``PanicException``, a BaseException (a damaged .xls's defined name, say). The file is
    unreadable, said so like any damaged file; Ctrl+C and exits pass through."""
    return type(exc).__name__ == "PanicException"


def read_xlsx(path: Path, is_header: HeaderTest | None = None) -> Table:
    """The first visible sheet of a workbook; formula cells are listed (``Table.formulas``): the
    importer refuses each one among the rows' errors, so the office fixes the file in one go.

    Values come from python-calamine (Rust, ~10x openpyxl's read-only mode: a 20,000-row roster
    in well under a second); cells Excel stored as numbers are remembered, because an ID number
    typed into a number cell has already lost its last digits and must be re-entered as text.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    name = str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            expanded = sum(info.file_size for info in zf.infolist())
            if expanded > XLSX_MAX_EXPANDED:
                raise InputError("roster.xlsx_too_large", Location(name),
                                 size_mb=expanded // (1024 * 1024),
                                 limit_mb=XLSX_MAX_EXPANDED // (1024 * 1024))
            choice = _first_sheet_part(zf, name)
            _check_extent(zf, choice.part, name)
            formulas = _formula_cells(zf, choice.part)
            hidden = _hidden_rows(zf, choice.part)
        # By place, not by name: the sheet read is the very one whose extent and formulas were
        # checked above (and the reader must see the same sheet there).
        book = CalamineWorkbook.from_path(name)
        if book.sheet_names[choice.index:choice.index + 1] != [choice.name]:
            raise InputError("roster.bad_xlsx", Location(name))
        sheet = book.get_sheet_by_index(choice.index)
        grid = sheet.to_python(skip_empty_area=False)
        _fill_merged(grid, sheet.merged_cell_ranges or [], name)
    except InputError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, CalamineError, SyntaxError,
            EOFError, zlib.error):
        raise InputError("roster.bad_xlsx", Location(name)) from None
    except BaseException as exc:
        if not _reader_panicked(exc):
            raise
        raise InputError("roster.bad_xlsx", Location(name)) from None
    return _table(name, "xlsx", grid, is_header, choice, formulas, hidden)


def _table(name: str, kind: str, grid: list[list[Any]], is_header: HeaderTest | None,
           choice: SheetChoice, formulas: list[tuple[int, str]], hidden: set[int]) -> Table:
    """A workbook sheet's cells as text rows, remembering which cells held numbers."""
    rows: list[tuple[int, list[str]]] = []
    numeric: set[tuple[int, int]] = set()
    for line, cells in enumerate(grid, start=1):
        values = [value if type(value) is str else _cell_text(value) for value in cells]
        if not any(v.strip() for v in values):
            continue
        rows.append((line, values))
        numeric.update((line, col) for col, value in enumerate(cells)
                       if isinstance(value, float | int) and not isinstance(value, bool))
    header, header_line, rows, titles = _take_header(name, rows, is_header)
    return Table(name, kind, None, header, header_line, rows, numeric, choice, formulas,
                 title_lines=titles, hidden_lines=[ln for ln, _cells in rows if ln in hidden])


def _column_letters(index: int) -> str:
    """0-based column index → spreadsheet letters (0 → "A", 26 → "AA")."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_xls(path: Path, data: bytes, is_header: HeaderTest | None = None) -> Table:
    """The first visible sheet of a legacy Excel 97–2003 workbook, read as ``read_xlsx`` reads
    a workbook: the sheets, extent, formula cells and hidden rows from the file's own records
    (station.roster.xls) before python-calamine reads the values of that very sheet."""
    import io

    from python_calamine import CalamineError, CalamineWorkbook

    from station.roster import xls

    name = str(path)
    try:
        book = xls.Workbook(data)
        seen: set[str] = set()
        for s in book.sheets:
            if s.name.casefold() in seen:
                raise InputError("roster.xlsx_duplicate_sheet", Location(name), sheet=s.name)
            seen.add(s.name.casefold())
        visible = [s for s in book.sheets if not s.hidden]
        first = next(s for s in visible if s.worksheet)
        index = book.sheets.index(first)
        choice = SheetChoice(f"sheet{index + 1}", first.name, index,
                             tuple(s.name for s in book.sheets if s.hidden),
                             tuple(s.name for s in visible if s is not first))
        # The reader builds every sheet when it opens the file, not only the one read: each is
        # measured first (its cells, and the room its DIMENSIONS record asks for).
        for s in book.sheets:
            measured = book.contents(s)
            if measured.rows > XLSX_MAX_ROWS:
                _refuse(name, "rows", measured.rows, XLSX_MAX_ROWS)
            if measured.columns > XLSX_MAX_COLUMNS:
                _refuse(name, "columns", measured.columns, XLSX_MAX_COLUMNS)
            cells = max(measured.rows * measured.columns, measured.reserved)
            if cells > XLSX_MAX_CELLS:
                _refuse(name, "cells", cells, XLSX_MAX_CELLS)
        contents = book.contents(first)
        reader = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if reader.sheet_names[index:index + 1] != [first.name]:   # by place: the sheet checked
            raise InputError("roster.bad_xls", Location(name))
        sheet = reader.get_sheet_by_index(index)
        if sheet.height * sheet.width > XLSX_MAX_CELLS:             # what the records said
            _refuse(name, "cells", sheet.height * sheet.width, XLSX_MAX_CELLS)
        grid = sheet.to_python(skip_empty_area=False)
        _fill_merged(grid, sheet.merged_cell_ranges or [], name)
    except InputError:
        raise
    except xls.OldFormat:
        raise InputError("roster.legacy_xls", Location(name)) from None
    except (StopIteration, ValueError, KeyError, OSError, CalamineError, struct.error):
        raise InputError("roster.bad_xls", Location(name)) from None
    except BaseException as exc:
        if not _reader_panicked(exc):
            raise
        raise InputError("roster.bad_xls", Location(name)) from None
    formulas = sorted((row + 1, _column_letters(col)) for row, col in contents.formulas)
    return _table(name, "xls", grid, is_header, choice, formulas,
                  {row + 1 for row in contents.hidden_rows})


def column_index(letters: str) -> int:
    """0-based index of a spreadsheet column ("A" → 0, "AA" → 26)."""
    return _column_number(letters.encode("ascii")) - 1


def read_table(path: Path, is_header: HeaderTest | None = None) -> Table:
    """The file's header and rows; ``is_header`` picks the header among the top rows (see
    ``_take_header``), so a title above the column names is passed over, not taken for them."""
    path = Path(path)
    try:
        with path.open("rb") as fh:            # bounded: a device or a huge file is refused
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise InputError("roster.too_big", Location(str(path)), limit=MAX_FILE_BYTES // 2**20)
    except FileNotFoundError:
        raise InputError("common.file_missing", Location(str(path)), path=str(path)) from None
    except IsADirectoryError:           # it exists: "not found" sent people looking for a typo
        raise InputError("common.file_is_folder", Location(str(path)), path=str(path)) from None
    if not data.strip():
        raise InputError("roster.empty", Location(str(path)))
    if data.startswith(XLSX_MAGIC) or path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path, is_header)
    if data.startswith(OLE_MAGIC) or path.suffix.lower() == ".xls":
        return read_xls(path, data, is_header)
    return read_csv(path, data, is_header)
