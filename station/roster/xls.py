"""What a legacy Excel 97–2003 workbook (.xls) holds, read before the cell reader sees it.

An .xls file is an OLE compound file whose ``Workbook`` stream is a run of BIFF8 records. The
cell values come from python-calamine, as for XLSX; this module only reads what the importer must
know first and calamine does not say: which sheets there are and which are hidden (the roster is
the first visible one), how far each sheet's cells reach (calamine materialises the whole
rectangle: refused beyond a roster's size before it does), where formula cells are (their cached
results may be stale: refused) and which rows the sheet hides (read, and named in a warning).

Everything is bounds-checked: a damaged or crafted file raises ``ValueError`` (the caller says
the file cannot be read), never reads outside the file, never loops.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FREE, _END = 0xFFFFFFFF, 0xFFFFFFFE
_DIFSECT, _RESERVED = 0xFFFFFFFC, 0xFFFFFFFA
BIFF8 = 0x0600
MINI_CUTOFF = 4096                 # what the cell reader uses, whatever the header says
# The cell reader sizes a vector by the header's 32 bits at offset 62 (×4 bytes): bounded here.
MAX_DIFAT_HINT = 16 * 1024 * 1024

# BIFF record types read here
BOF, EOF, BOUNDSHEET, DIMENSIONS, ROW, FORMULA = 0x0809, 0x000A, 0x0085, 0x0200, 0x0208, 0x0006
MULRK = 0x00BD
# records of cells the reader keeps, each starting with its row and column (u16, u16); blank
# cells (BLANK, MULBLANK: formatting only) it drops, so they make no extent
CELLS = frozenset({FORMULA, 0x00FD, 0x0203, 0x027E, 0x0205, 0x0204, 0x00D6, MULRK})


class OldFormat(ValueError):
    """A workbook older than Excel 97 (BIFF5, Excel 5.0/95): not read."""


def _u32s(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 4}I", data[:len(data) // 4 * 4]))


class _Compound:
    """The streams of an OLE compound file (MS-CFB), version 3 or 4.

    Read the way python-calamine's reader (calamine's cfb.rs) reads it — the same FAT, the same
    stream found by the same name — but refusing what would make that reader loop or allocate
    without bound: a sector chain that never ends, a header count far beyond the file. What is
    accepted here, it reads in bounded time and memory."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 512 or not data.startswith(MAGIC):
            raise ValueError("not a compound file")
        self.data = data
        shift, mini_shift = struct.unpack_from("<HH", data, 30)
        if shift not in (9, 12) or mini_shift != 6:
            raise ValueError("bad sector size")
        self.size = 1 << shift
        (n_fat, self.first_dir, _sig, _cutoff, first_mini_fat, n_mini, first_difat,
         _n_difat) = struct.unpack_from("<IIIIIIII", data, 44)
        sectors = (len(data) + self.size - 1) // self.size
        if n_fat > sectors or n_mini > sectors or struct.unpack_from("<I", data, 62)[0] > MAX_DIFAT_HINT:
            raise ValueError("header counts beyond the file")
        words = _u32s(data[76:512])
        difat, seen = first_difat, 0
        while difat < _RESERVED:          # the DIFAT chain: each sector's last word is the next
            seen += 1
            if seen > sectors:
                raise ValueError("the DIFAT chain does not end")
            words += _u32s(self._sector(difat))
            difat = words.pop()
        fat_sectors = [w for w in words if w < _DIFSECT]
        if len(fat_sectors) > sectors:
            raise ValueError("bad FAT")
        self.fat = [w for s in fat_sectors for w in _u32s(self._sector(s))]
        self.first_mini_fat = first_mini_fat
        self.n_mini = n_mini

    def _sector(self, number: int) -> bytes:
        start = (number + 1) * self.size          # the header fills sector -1
        if number >= 0xFFFFFFF0 or start >= len(self.data):
            raise ValueError("sector outside the file")
        return self.data[start:start + self.size]

    def _chain(self, start: int, table: list[int]) -> list[int]:
        out: list[int] = []
        while start != _END:
            if start >= len(table) or len(out) > len(table):
                raise ValueError("broken sector chain")
            out.append(start)
            start = table[start]
        return out

    def _read(self, start: int, size: int) -> bytes:
        data = b"".join(self._sector(s) for s in self._chain(start, self.fat))
        if len(data) < size:
            raise ValueError("stream shorter than its size")
        return data[:size]

    def stream(self, names: tuple[str, ...]) -> bytes:
        """The stream the cell reader opens: the first directory entry named exactly ``names[0]``,
        else ``names[1]`` … (names cut at their first NUL, as it reads them)."""
        directory = self._read(self.first_dir, len(self._chain(self.first_dir, self.fat)) * self.size)
        entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
        if not entries or entries[0][66] != 5:
            raise ValueError("no root entry")
        if self.n_mini:                   # the reader loads the mini stream whenever there is one
            self._mini_parts(entries[0])
        named = [(e[:64].decode("utf-16-le", errors="replace").split("\x00")[0], e) for e in entries]
        for wanted in names:
            entry = next((e for n, e in named if n == wanted), None)
            if entry is None:
                continue
            start, size = struct.unpack_from("<IQ", entry, 116)
            if self.size == 512:
                size &= 0xFFFFFFFF
            if size >= MINI_CUTOFF:
                return self._read(start, size)
            container, mini_fat = self._mini_parts(entries[0])
            data = b"".join(container[s * 64:s * 64 + 64] for s in self._chain(start, mini_fat))
            if len(data) < size:
                raise ValueError("mini stream shorter than its size")
            return data[:size]
        raise ValueError("no workbook stream")

    def _mini_parts(self, root: bytes) -> tuple[bytes, list[int]]:
        """The mini stream (the root entry's stream) and the mini FAT, both complete chains."""
        root_start, root_size = struct.unpack_from("<IQ", root, 116)
        container = self._read(root_start, root_size & 0xFFFFFFFF if self.size == 512 else root_size)
        chain = self._chain(self.first_mini_fat, self.fat)
        if len(chain) < self.n_mini:
            raise ValueError("mini FAT shorter than the header says")
        return container, _u32s(b"".join(self._sector(s) for s in chain))

def _records(stream: bytes, at: int):
    """(type, body, offset) of the BIFF records from ``at`` to the end of the stream."""
    while at + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, at)
        body = stream[at + 4:at + 4 + length]
        if len(body) < length:
            raise ValueError("a record runs past the stream's end")
        yield kind, body, at
        at += 4 + length


@dataclass(frozen=True)
class Sheet:
    name: str
    hidden: bool          # hidden or very hidden
    worksheet: bool       # a worksheet (not a chart, macro or VB module sheet)
    offset: int           # where its BOF is in the stream


@dataclass
class Contents:
    """One worksheet's extent, formula cells and hidden rows (0-based, as BIFF stores them).

    ``reserved``: the most cells the reader sets room aside for on a DIMENSIONS record, computed
    as it computes it (u32 arithmetic that wraps): a record declaring rows it does not have made
    it ask for hundreds of GB and abort the whole process."""

    rows: int = 0
    columns: int = 0
    reserved: int = 0
    formulas: list[tuple[int, int]] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)


class Workbook:
    def __init__(self, data: bytes) -> None:
        self.stream = _Compound(data).stream(("Workbook", "Book"))
        records = _records(self.stream, 0)
        kind, body, _ = next(records, (0, b"", 0))
        if kind != BOF or len(body) < 4:
            if kind in (0x0009, 0x0209, 0x0409):        # BIFF2–4 BOF records
                raise OldFormat("a BIFF2-4 workbook")
            raise ValueError("the workbook stream does not start with BOF")
        if struct.unpack_from("<H", body)[0] != BIFF8:
            raise OldFormat("not BIFF8")
        self.sheets: list[Sheet] = []
        for kind, body, _ in records:
            if kind == EOF:
                break
            if kind == BOUNDSHEET:
                self.sheets.append(_boundsheet(body))

    def contents(self, sheet: Sheet) -> Contents:
        out = Contents()
        depth = 0
        for kind, body, at in _records(self.stream, sheet.offset):
            if at == sheet.offset and kind != BOF:
                raise ValueError("a sheet does not start with BOF")
            if kind == BOF:
                depth += 1
                continue
            if kind == EOF:
                depth -= 1
                if depth == 0:
                    return out
                continue
            if kind == DIMENSIONS:           # at any depth: an older reader did not skip charts
                out.reserved = max(out.reserved, _reserve(body))
            if depth != 1:                   # a chart embedded in the sheet
                continue
            if kind == ROW and len(body) >= 16:
                row, = struct.unpack_from("<H", body)
                flags, = struct.unpack_from("<I", body, 12)
                if flags & 0x20:
                    out.hidden_rows.add(row)
            elif kind in CELLS and len(body) >= 4:
                row, column = struct.unpack_from("<HH", body)
                if kind == MULRK and len(body) >= 6:
                    column, = struct.unpack_from("<H", body, len(body) - 2)
                out.rows, out.columns = max(out.rows, row + 1), max(out.columns, column + 1)
                if kind == FORMULA:
                    out.formulas.append((row, column))
        raise ValueError("a sheet without its EOF")


def _reserve(body: bytes) -> int:
    """The cells calamine's ``parse_dimensions`` and ``cells.reserve`` ask room for (xls.rs)."""
    if len(body) == 14:
        first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", body)
    elif len(body) == 10:
        first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", body)
    else:
        return 0                             # the reader refuses the record itself
    if first_col > 0xFF or last_col < first_col:
        first_col = 0
    if last_row >= 1 and last_col >= 1:
        end_row, end_col = last_row - 1, last_col - 1
    else:
        end_row, end_col = first_row, first_col
    rows = (end_row - first_row + 1) & 0xFFFFFFFF
    columns = (end_col - first_col + 1) & 0xFFFFFFFF
    return rows * columns


def _boundsheet(body: bytes) -> Sheet:
    if len(body) < 8:
        raise ValueError("short BOUNDSHEET")
    offset, state, kind, count, flags = struct.unpack_from("<IBBBB", body)
    raw = body[8:8 + count * (2 if flags & 1 else 1)]
    name = raw.decode("utf-16-le" if flags & 1 else "latin-1", errors="replace")
    return Sheet(name, bool(state & 3), kind == 0, offset)
