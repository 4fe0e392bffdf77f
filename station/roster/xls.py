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
BIFF8 = 0x0600

# BIFF record types read here
BOF, EOF, BOUNDSHEET, DIMENSIONS, ROW, FORMULA = 0x0809, 0x000A, 0x0085, 0x0200, 0x0208, 0x0006
MULRK, MULBLANK = 0x00BD, 0x00BE
# records of one cell, each starting with its row and column (u16, u16)
CELLS = frozenset({FORMULA, 0x00FD, 0x0203, 0x027E, 0x0201, 0x0205, 0x0204, 0x00D6, MULRK, MULBLANK})


class OldFormat(ValueError):
    """A workbook older than Excel 97 (BIFF5, Excel 5.0/95): not read."""


def _u32s(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 4}I", data[:len(data) // 4 * 4]))


class _Compound:
    """The streams of an OLE compound file (MS-CFB), version 3 or 4."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 512 or not data.startswith(MAGIC):
            raise ValueError("not a compound file")
        self.data = data
        shift, mini_shift = struct.unpack_from("<HH", data, 30)
        if shift not in (9, 12) or mini_shift != 6:
            raise ValueError("bad sector size")
        self.size = 1 << shift
        (n_fat, self.first_dir, _sig, self.cutoff, first_mini_fat, _n_mini, first_difat,
         n_difat) = struct.unpack_from("<IIIIIIII", data, 44)
        sectors = (len(data) - 512 + self.size - 1) // self.size
        fat_sectors = [s for s in _u32s(data[76:512]) if s not in (_FREE, _END)]
        difat, seen = first_difat, 0
        while difat not in (_FREE, _END) and seen <= min(n_difat, sectors):
            words = _u32s(self._sector(difat))
            fat_sectors += [s for s in words[:-1] if s not in (_FREE, _END)]
            difat, seen = words[-1], seen + 1
        if len(fat_sectors) < n_fat or len(fat_sectors) > sectors:
            raise ValueError("bad FAT")
        self.fat = [w for s in fat_sectors[:n_fat] for w in _u32s(self._sector(s))]
        self.first_mini_fat = first_mini_fat

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
        """The first stream of the root storage named one of ``names`` (case-blind)."""
        directory = self._read(self.first_dir, len(self._chain(self.first_dir, self.fat)) * self.size)
        entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
        if not entries or entries[0][66] != 5:
            raise ValueError("no root entry")
        wanted = {n.casefold() for n in names}
        for entry in entries:
            length = min(struct.unpack_from("<H", entry, 64)[0], 64)
            name = entry[:max(length - 2, 0)].decode("utf-16-le", errors="replace")
            if entry[66] != 2 or name.casefold() not in wanted:
                continue
            start, size = struct.unpack_from("<IQ", entry, 116)
            if self.size == 512:
                size &= 0xFFFFFFFF
            if size >= self.cutoff:
                return self._read(start, size)
            return self._mini(entries[0], start, size)
        raise ValueError("no workbook stream")

    def _mini(self, root: bytes, start: int, size: int) -> bytes:
        root_start, root_size = struct.unpack_from("<IQ", root, 116)
        container = self._read(root_start, root_size & 0xFFFFFFFF)
        mini_fat = _u32s(b"".join(self._sector(s) for s in self._chain(self.first_mini_fat, self.fat)))
        data = b"".join(container[s * 64:s * 64 + 64] for s in self._chain(start, mini_fat))
        if len(data) < size:
            raise ValueError("mini stream shorter than its size")
        return data[:size]


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
    """One worksheet's extent, formula cells and hidden rows (0-based, as BIFF stores them)."""

    rows: int = 0
    columns: int = 0
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
            if depth != 1:                   # a chart embedded in the sheet
                continue
            if kind == DIMENSIONS and len(body) >= 10:
                rows, = struct.unpack_from("<I", body, 4)
                columns, = struct.unpack_from("<H", body, 10) if len(body) >= 12 else (0,)
                out.rows, out.columns = max(out.rows, rows), max(out.columns, columns)
            elif kind == ROW and len(body) >= 16:
                row, = struct.unpack_from("<H", body)
                flags, = struct.unpack_from("<I", body, 12)
                if flags & 0x20:
                    out.hidden_rows.add(row)
            elif kind in CELLS and len(body) >= 4:
                row, column = struct.unpack_from("<HH", body)
                if kind in (MULRK, MULBLANK) and len(body) >= 6:
                    column, = struct.unpack_from("<H", body, len(body) - 2)
                out.rows, out.columns = max(out.rows, row + 1), max(out.columns, column + 1)
                if kind == FORMULA:
                    out.formulas.append((row, column))
        raise ValueError("a sheet without its EOF")


def _boundsheet(body: bytes) -> Sheet:
    if len(body) < 8:
        raise ValueError("short BOUNDSHEET")
    offset, state, kind, count, flags = struct.unpack_from("<IBBBB", body)
    raw = body[8:8 + count * (2 if flags & 1 else 1)]
    name = raw.decode("utf-16-le" if flags & 1 else "latin-1", errors="replace")
    return Sheet(name, bool(state & 3), kind == 0, offset)
