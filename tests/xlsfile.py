"""A legacy Excel 97–2003 workbook (.xls, BIFF8 in an OLE compound file) written from scratch.

No library the project depends on writes .xls, and a school office's "Excel 97-2003 工作簿" is
exactly that: a compound file whose ``Workbook`` stream holds BIFF8 records. This writes the
records Excel itself needs to show a sheet of text and numbers (BOF, BOUNDSHEET, SST, the cells,
DIMENSIONS, EOF) and, for tests, a FORMULA cell with its cached value, a hidden row, a hidden
sheet. Layout: sector 0 the FAT, sector 1 the directory, then the stream (padded past the 4096
bytes below which a stream lives in the mini stream, as Excel pads it), or with ``mini`` the
mini FAT and the mini stream holding it."""

from __future__ import annotations

import struct
from pathlib import Path

SECTOR = 512
ENDOFCHAIN, FATSECT, FREESECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF, 0xFFFFFFFF


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _bof(dt: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0x0DBB, 0x07CC, 0, 0x06))


def _unicode(text: str, length_bytes: int) -> bytes:
    """XLUnicodeString (2-byte length) or ShortXLUnicodeString (1-byte), always 16-bit chars."""
    data = text.encode("utf-16-le")
    fmt = "<B" if length_bytes == 1 else "<H"
    return struct.pack(fmt, len(data) // 2) + b"\x01" + data


def _sheet(rows: list[list], strings: dict[str, int], hidden_rows: set[int],
           formulas: dict[tuple[int, int], float]) -> bytes:
    body = [_bof(0x0010)]
    width = max((len(r) for r in rows), default=0)
    body.append(_record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0)))
    for r in sorted(hidden_rows):            # ROW: fDyZero (0x20) hides it
        body.append(_record(0x0208, struct.pack("<HHHHHHI", r, 0, width, 0x00FF, 0, 0, 0x0100 | 0x20)))
    for r, cells in enumerate(rows):
        for c, value in enumerate(cells):
            if (r, c) in formulas:           # cached number, then a tiny formula (=1+1 as tokens)
                tokens = b"\x1e\x01\x00\x1e\x01\x00\x03"
                body.append(_record(0x0006, struct.pack("<HHHdHI", r, c, 0, formulas[(r, c)], 0, 0)
                                    + struct.pack("<H", len(tokens)) + tokens))
            elif value is None:
                continue
            elif isinstance(value, int | float):
                body.append(_record(0x0203, struct.pack("<HHHd", r, c, 0, float(value))))
            else:
                body.append(_record(0x00FD, struct.pack("<HHHI", r, c, 0, strings[str(value)])))
    body.append(_record(0x000A, b""))
    return b"".join(body)


def workbook_stream(sheets: list[tuple[str, list[list]]], hidden_sheets: set[str] = frozenset(),
                    hidden_rows: set[int] = frozenset(),
                    formulas: dict[tuple[int, int], float] | None = None) -> bytes:
    """The BIFF8 ``Workbook`` stream. ``hidden_rows`` and ``formulas`` (0-based (row, col) →
    cached value) apply to the last sheet."""
    formulas = formulas or {}
    strings: dict[str, int] = {}
    every: list[str] = []
    for _name, rows in sheets:
        for row in rows:
            for value in row:
                if isinstance(value, str):
                    every.append(value)
                    strings.setdefault(value, len(strings))
    sst = _record(0x00FC, struct.pack("<II", len(every), len(strings))
                  + b"".join(_unicode(s, 2) for s in strings))
    codepage = _record(0x0042, struct.pack("<H", 1200))
    last = len(sheets) - 1
    bodies = [_sheet(rows, strings, hidden_rows if i == last else set(), formulas if i == last else {})
              for i, (_name, rows) in enumerate(sheets)]

    def globals_(offsets: list[int]) -> bytes:
        bound = b"".join(_record(0x0085, struct.pack("<IBB", off, 1 if name in hidden_sheets else 0, 0)
                                 + _unicode(name, 1))
                         for off, (name, _rows) in zip(offsets, sheets, strict=True))
        return _bof(0x0005) + codepage + bound + sst + _record(0x000A, b"")

    size = len(globals_([0] * len(sheets)))
    offsets = []
    for b in bodies:
        offsets.append(size)
        size += len(b)
    stream = globals_(offsets) + b"".join(bodies)
    return stream


def compound_file(stream: bytes, name: str = "Workbook", *, mini: bool = False) -> bytes:
    """An OLE compound file (version 3, 512-byte sectors) holding ``stream`` as ``name``;
    ``mini``: a stream under 4096 bytes kept, as the format wants it, in the mini stream (64-byte
    sectors inside the root entry's stream, chained by the mini FAT in sector 2)."""
    if mini:
        assert len(stream) < 4096
        m = -(-len(stream) // 64)
        mini_fat = [i + 1 for i in range(m - 1)] + [ENDOFCHAIN]
        mini_fat += [FREESECT] * (SECTOR // 4 - len(mini_fat))
        container = stream.ljust(m * 64, b"\x00")
        body = struct.pack(f"<{SECTOR // 4}I", *mini_fat) + container
        n = -(-len(container) // SECTOR)
        fat = [FATSECT, ENDOFCHAIN, ENDOFCHAIN] + [i + 1 for i in range(3, n + 2)] + [ENDOFCHAIN]
        root, entry_start, first_mini = (3, len(container)), 0, (2, 1)
    else:
        body = stream
        n = -(-len(stream) // SECTOR)
        fat = [FATSECT, ENDOFCHAIN] + [i + 1 for i in range(2, n + 1)] + [ENDOFCHAIN]
        root, entry_start, first_mini = (ENDOFCHAIN, 0), 2, (ENDOFCHAIN, 0)
    assert len(fat) <= SECTOR // 4, "one FAT sector is enough for a test workbook"
    fat += [FREESECT] * (SECTOR // 4 - len(fat))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
              + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6) + b"\x00" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, *first_mini, ENDOFCHAIN, 0)
              + struct.pack("<I", 0) + struct.pack("<I", FREESECT) * 108)
    assert len(header) == SECTOR

    def entry(entry_name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (entry_name + "\x00").encode("utf-16-le")
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", NOSTREAM, NOSTREAM, child) + b"\x00" * 16 + b"\x00" * 4
                + b"\x00" * 16 + struct.pack("<IQ", start, size))

    empty = (b"\x00" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", NOSTREAM, NOSTREAM, NOSTREAM)
             + b"\x00" * 36 + struct.pack("<IQ", 0, 0))
    directory = (entry("Root Entry", 5, 1, *root) + entry(name, 2, NOSTREAM, entry_start, len(stream))
                 + empty * 2)
    assert len(directory) == SECTOR
    return (header + struct.pack(f"<{SECTOR // 4}I", *fat) + directory
            + body.ljust(-(-len(body) // SECTOR) * SECTOR, b"\x00"))


def write_xls(path: Path, rows: list[list], *, sheet: str = "Sheet1", mini: bool = False,
              before: list[tuple[str, list[list]]] = (), hidden_sheets: set[str] = frozenset(),
              hidden_rows: set[int] = frozenset(), formulas: dict[tuple[int, int], float] | None = None
              ) -> Path:
    """``rows`` as the sheet ``sheet`` of a .xls file; ``before``: sheets placed ahead of it
    (e.g. last year's list, named in ``hidden_sheets``). Strings are text cells, int/float
    number cells, None empty; ``hidden_rows`` and ``formulas`` are 0-based, on ``sheet``."""
    sheets = [*before, (sheet, rows)]
    stream = workbook_stream(sheets, set(hidden_sheets), set(hidden_rows), formulas)
    if not mini:                     # as Excel saves it: a regular stream, never a mini one
        stream += b"\x00" * max(0, 4096 - len(stream))
    path.write_bytes(compound_file(stream, mini=mini))
    return path
