"""Reading a spreadsheet-like file (CSV in UTF-8/GBK/GB18030, or XLSX) into text cells with lines.

The roster and the schedule come from school offices as whatever Excel saved, so the encoding is
detected by strict decoding (BOM, then UTF-8, then GB18030 which contains GBK) and every problem is
reported with its line; formula cells are refused because their cached value may be stale.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from station.errors import InputError, Location

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


@dataclass
class Table:
    """Header cells and data rows; ``rows`` holds (line number, cells) with 1-based lines."""

    file: str
    format: str            # "csv" or "xlsx"
    encoding: str | None   # for CSV
    header: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


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


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("roster.utf16", Location(name, 1))
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


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "，")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(path: Path, data: bytes) -> Table:
    name = str(path)
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("roster.binary", Location(name))
    text, encoding = _decode(data, name)
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first), strict=True)
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            line = start
            start = reader.line_num + 1
            if not any(c.strip() for c in record):
                continue
            if header is None:
                header, header_line = record, line
            else:
                rows.append((line, record))
    except csv.Error as exc:
        raise InputError("roster.bad_csv", Location(name, reader.line_num), error=str(exc)) from None
    if header is None:
        raise InputError("roster.empty", Location(name))
    return Table(name, "csv", encoding.replace("-sig", " BOM"), header, header_line, rows)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def read_xlsx(path: Path) -> Table:
    """The first sheet of a workbook, read-only; formula cells are an error per cell."""
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    name = str(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError("roster.bad_xlsx", Location(name), error=str(exc)) from None
    try:
        ws = wb.worksheets[0]
        header: list[str] | None = None
        header_line = 0
        rows: list[tuple[int, list[str]]] = []
        formulas: list[tuple[int, str]] = []
        # data_only=False: a formula cell's value is its formula text ("=…"), never a cached result
        for line, cells in enumerate(ws.iter_rows(values_only=True), start=1):
            values = []
            for col, value in enumerate(cells, start=1):
                if isinstance(value, str) and value.startswith("="):
                    formulas.append((line, get_column_letter(col)))
                values.append(_cell_text(value))
            if not any(v.strip() for v in values):
                continue
            if header is None:
                header, header_line = values, line
            else:
                rows.append((line, values))
    finally:
        wb.close()
    if formulas:
        line, col = formulas[0]
        raise FormulaCells(name, formulas)
    if header is None:
        raise InputError("roster.empty", Location(name))
    return Table(name, "xlsx", None, header, header_line, rows)


class FormulaCells(InputError):
    """The workbook has formulas; every one is listed so the office can paste values once."""

    def __init__(self, file: str, cells: list[tuple[int, str]]) -> None:
        self.cells = cells
        where = ", ".join(f"{c}{ln}" for ln, c in cells[:20]) + (" …" if len(cells) > 20 else "")
        super().__init__("roster.formula", Location(file, cells[0][0], cells[0][1]),
                         cells=where, count=len(cells))

    def to_json(self) -> dict:
        data = super().to_json()
        data["errors"] = [{"line": ln, "column": c, "code": "roster.formula_cell"}
                          for ln, c in self.cells]
        return data


def read_table(path: Path) -> Table:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("common.file_missing", Location(str(path)), path=str(path)) from None
    except IsADirectoryError:
        raise InputError("common.file_missing", Location(str(path)), path=str(path)) from None
    if not data.strip():
        raise InputError("roster.empty", Location(str(path)))
    if data.startswith(XLSX_MAGIC) or path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    if data.startswith(OLE_MAGIC) or path.suffix.lower() == ".xls":
        raise InputError("roster.legacy_xls", Location(str(path)))
    return read_csv(path, data)
