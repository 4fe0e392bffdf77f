"""A camera JPEG decoded at 1/4 (or 1/8) on two cores, and any window of it at 1/2 afterwards.

libjpeg decodes a JPEG's Huffman-coded scan on one core, and at 1/4 scale that pass is most of
the analysis decode. ``_splitjpeg`` (C, built with the package) starts a second decoder in the
middle of the scan, where Huffman codes resynchronise (or at a restart interval, where the file
has them), and joins the two where their MCU starts meet; its header comment says how and why
the result is the file's. It notes where every MCU starts, so the finer window a small person's
crop needs decodes from its own MCUs alone. Here: the headers read and checked, the tables
handed over, and the decode offered as a stream of rows (``rowstream.Rows``).

Only a plain case is taken: one baseline (or extended sequential, 8-bit) Huffman scan holding
every component, 1 or 3 components, sampling whose pixels the decoder makes as libjpeg does
(``sampling_taken``). For anything else, or when the extension is not built, ``NotSplit``
sends the caller to the ordinary decode, which also says what is wrong with a broken file.
"""

from __future__ import annotations

import importlib
import struct
import threading
import time
from array import array
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

from station.checks.rowstream import NotStreamed

if TYPE_CHECKING:
    import numpy as np

MIN_SCAN_BYTES = 1 << 20  # below this a second thread does not pay for itself (tests set less)
_SEQUENTIAL = (0xC0, 0xC1)


class NotSplit(NotStreamed):
    """This file (or this machine: no extension) is not for the split decode."""


@dataclass
class _Header:
    width: int = 0
    height: int = 0
    components: list[tuple[int, int, int, int]] = field(default_factory=list)  # id, h, v, quant
    quant: dict[int, list[int]] = field(default_factory=dict)
    huffman: dict[tuple[int, int], tuple[bytes, bytes]] = field(default_factory=dict)
    interval: int = 0
    scan: list[tuple[int, int, int]] = field(default_factory=list)  # component index, dc, ac
    scan_at: int = 0


def _extension() -> ModuleType:
    try:
        return importlib.import_module("station.checks._splitjpeg")
    except ImportError as exc:  # not built: no C compiler when the station was installed
        raise NotSplit from exc


def _read_header(data: bytes) -> _Header:
    """The tables and frame facts up to the scan's data; NotSplit for anything not plain."""
    if data[:2] != b"\xff\xd8":
        raise NotSplit
    head, at = _Header(), 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            raise NotSplit
        marker = data[at + 1]
        if marker == 0xFF:
            at += 1
            continue
        length = struct.unpack_from(">H", data, at + 2)[0]
        body = data[at + 4:at + 2 + length]
        if length < 2 or len(body) != length - 2:
            raise NotSplit
        if marker == 0xDB:
            _quant_tables(body, head)
        elif marker == 0xC4:
            _huffman_tables(body, head)
        elif marker == 0xDD:
            head.interval = struct.unpack(">H", body[:2])[0] if len(body) == 2 else -1
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            _frame(marker, body, head)
        elif marker == 0xDA:
            _scan(body, head)
            head.scan_at = at + 2 + length
            return head
        elif marker in (0xD9, 0xDC):  # an end, or a DNL before any scan: not plain
            raise NotSplit
        at += 2 + length
    raise NotSplit


def _quant_tables(body: bytes, head: _Header) -> None:
    at = 0
    while at < len(body):
        precision, slot = body[at] >> 4, body[at] & 15
        size = 128 if precision else 64
        if slot > 3 or precision > 1 or at + 1 + size > len(body):
            raise NotSplit
        if precision:
            values = list(struct.unpack_from(">64H", body, at + 1))
        else:
            values = list(body[at + 1:at + 65])
        head.quant[slot] = values
        at += 1 + size


def _huffman_tables(body: bytes, head: _Header) -> None:
    at = 0
    while at < len(body):
        kind, slot = body[at] >> 4, body[at] & 15
        if kind > 1 or slot > 3 or at + 17 > len(body):
            raise NotSplit
        counts = body[at + 1:at + 17]
        total = sum(counts)
        if at + 17 + total > len(body) or not 0 < total <= 256:
            raise NotSplit
        head.huffman[(kind, slot)] = (counts, body[at + 17:at + 17 + total])
        at += 17 + total


def _frame(marker: int, body: bytes, head: _Header) -> None:
    if marker not in _SEQUENTIAL or head.components or len(body) < 6 or body[0] != 8:
        raise NotSplit
    head.height, head.width, count = struct.unpack_from(">HHB", body, 1)
    if count not in (1, 3) or len(body) != 6 + 3 * count or not head.height or not head.width:
        raise NotSplit
    for c in range(count):
        ident, sampling, slot = body[6 + 3 * c:9 + 3 * c]
        head.components.append((ident, sampling >> 4, sampling & 15, slot))


def _scan(body: bytes, head: _Header) -> None:
    count = body[0] if body else 0
    if (not head.components or count != len(head.components) or len(body) != 4 + 2 * count
            or body[1 + 2 * count:] != b"\x00\x3f\x00"):  # Ss 0, Se 63, Ah Al 0: sequential
        raise NotSplit
    ids = [ident for ident, *_ in head.components]
    for c in range(count):
        ident, tables = body[1 + 2 * c], body[2 + 2 * c]
        if ident != ids[c]:  # the frame's order (an interleaved scan of every component)
            raise NotSplit
        head.scan.append((c, tables >> 4, tables & 15))


def _params(head: _Header, reduction: int, split_from: int) -> bytes:
    """The int32 parameters ``_splitjpeg.decode`` takes (its comment lists them)."""
    if head.interval < 0:
        raise NotSplit  # a DRI segment of the wrong length
    values = [head.width, head.height, reduction, len(head.components), split_from, head.interval]
    for (_, h, v, _), (_, dc, ac) in zip(head.components, head.scan, strict=True):
        values += [h, v, dc, ac]
    for _, _, _, slot in head.components:
        if slot not in head.quant:
            raise NotSplit
        values += head.quant[slot]
    for kind in (0, 1):
        for slot in range(4):
            counts, symbols = head.huffman.get((kind, slot), (bytes(16), b""))
            values += list(counts) + list(symbols) + [0] * (256 - len(symbols))
    return array("i", values).tobytes()


def sampling_taken(sampling: list[tuple[int, int]], reduction: int) -> bool:
    """Whether the decoder makes libjpeg-turbo's pixels for this sampling at 1/``reduction``:
    as its jdmaster.c, a subsampled component's IDCT size doubles while both its sampling
    ratios allow, up to 8; what remains is upsampled, which the decoder does across only, by
    two (4:2:2, libjpeg's fancy h2v1 upsampling), as libjpeg does. 4:2:0, 4:4:4, 4:2:2 and grey
    are taken; 4:4:0 and 4:1:1 are not."""
    hmax, vmax = max(h for h, _ in sampling), max(v for _, v in sampling)
    least = 8 // reduction
    for h, v in sampling:
        size = least
        while size < 8 and (hmax * least) % (h * size * 2) == 0 and (vmax * least) % (v * size * 2) == 0:
            size *= 2
        if v * size != vmax * least or h * size not in (hmax * least, hmax * least // 2):
            return False
    return True


@dataclass(frozen=True)
class Plan:
    """What the decoder needs of one file at one scale: its parameters and where its scan is."""

    params: bytes
    scan_at: int
    mcu_rows: int  # output rows per MCU row
    size: tuple[int, int]  # output pixels (width, height)
    mcus: int  # MCUs in the scan (the index's length)


def plan(data: bytes, reduction: int, size: tuple[int, int], *, split: bool = True,
         min_bytes: int | None = None) -> Plan:
    """The file's plan at 1/``reduction`` (on one thread unless ``split``); NotSplit when this
    decoder does not take it (or is not built), or its scan is below ``min_bytes`` (by default
    ``MIN_SCAN_BYTES``: a smaller file is decoded by libjpeg)."""
    smallest = MIN_SCAN_BYTES if min_bytes is None else min_bytes
    _extension()
    if reduction not in (2, 4, 8):
        raise NotSplit
    try:
        head = _read_header(data)
    except (struct.error, IndexError, ValueError) as exc:  # headers cut short or garbled
        raise NotSplit from exc
    if (head.width, head.height) != size or len(data) - head.scan_at < smallest:
        raise NotSplit
    sampling = [(h, v) for _, h, v, _ in head.components] if len(head.components) > 1 else [(1, 1)]
    if not sampling_taken(sampling, reduction):
        raise NotSplit  # libjpeg would upsample the chroma in a way this decoder does not
    hmax, vmax = max(h for h, _ in sampling), max(v for _, v in sampling)
    mcus = -(-size[0] // (8 * hmax)) * -(-size[1] // (8 * vmax))
    return Plan(_params(head, reduction, max(1, smallest) if split else 0), head.scan_at,
                8 * vmax // reduction, (-(-size[0] // reduction), -(-size[1] // reduction)), mcus)


@dataclass(frozen=True)
class ScanIndex:
    """Where each MCU of a file's scan starts (bit, unstuffed) and the DC predictors there,
    noted by a split decode: any window of the file decodes from it, its own MCUs alone."""

    starts: np.ndarray  # int64, -1 where unknown
    predictors: np.ndarray  # int32 (MCUs, 3)


class SplitStream:
    """``rowstream.Rows`` over the split decode: ``run`` decodes (the rows of the image's top
    half are counted as they are written, the rest at the end), ``wait`` tells the rows so far;
    ``index`` then tells where its rows start (``decode_window``)."""

    def __init__(self, data: bytes, reduction: int, size: tuple[int, int], threads: int = 2, *,
                 min_bytes: int | None = None) -> None:
        import numpy as np

        self._plan = plan(data, reduction, size, split=threads > 1, min_bytes=min_bytes)
        self._data = data
        self.width, self.height = self._plan.size
        self.rgbx = np.zeros((self.height, self.width, 4), np.uint8)
        self._progress = np.zeros(1, np.int32)
        self._ended = threading.Event()
        self._failed = False
        self.joined_at = -1  # the MCU from which the second thread's rows were used (for tests)
        self.index: ScanIndex | None = None

    @property
    def rows(self) -> int:
        if self._ended.is_set():
            return 0 if self._failed else self.height
        return min(self.height, int(self._progress[0]) * self._plan.mcu_rows)

    def stop_at(self, rows: int) -> None:
        """The split decode runs to its end (its second half is written last)."""

    def run(self) -> None:
        import numpy as np

        failed = True
        try:
            scan = memoryview(self._data)[self._plan.scan_at:]
            index = ScanIndex(np.full(self._plan.mcus, -1, np.int64),
                             np.zeros((self._plan.mcus, 3), np.int32))
            self.joined_at = _extension().decode(scan, self._plan.params, self.rgbx,
                                                 self._progress, index.starts, index.predictors)
            failed = self.joined_at < 0
            if not failed:
                self.index = index
        except Exception:  # the ordinary decode says what is wrong with the file
            failed = True
        finally:
            self._failed = failed
            self._ended.set()

    def wait(self, rows: int) -> int:
        """Block until at least ``rows`` rows are written (NotStreamed when the decode failed)."""
        while not self._ended.is_set() and self.rows < rows:
            time.sleep(0.0005)
        if self._ended.is_set() and self._failed:
            raise NotStreamed
        return self.rows


def selftest() -> None:
    """A generated JPEG decoded split over two threads and a window of it at 1/2, compared with
    libjpeg's (``station doctor``). Raises when the extension is missing or disagrees."""
    import cv2
    import numpy as np

    y, x = np.mgrid[0:480, 0:640]
    img = np.dstack([(x * 3 + y) % 256, (y * 2) % 256, (x + y * 5) % 256]).astype(np.uint8)
    ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("cannot encode the test image")
    data = enc.tobytes()
    stream = SplitStream(data, 4, (640, 480), threads=2, min_bytes=0)
    stream.run()
    stream.wait(stream.height)
    mine = cv2.cvtColor(stream.rgbx, cv2.COLOR_RGBA2BGR)
    theirs = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_COLOR_4)
    half = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_COLOR_2)
    if theirs is None or half is None:
        raise RuntimeError("libjpeg cannot decode the test image")
    if stream.index is None or np.abs(mine.astype(int) - theirs.astype(int)).max() > 3:
        raise RuntimeError("the split decode differs from libjpeg's")
    window = decode_window(data, (640, 480), stream.index, 2, (100, 50, 120, 90), min_bytes=0)
    if np.abs(window.astype(int) - half[50:140, 100:220].astype(int)).max() > 3:
        raise RuntimeError("the window decode differs from libjpeg's")


def decode_window(data: bytes, size: tuple[int, int], index: ScanIndex, reduction: int,
                  window: tuple[int, int, int, int], *, min_bytes: int | None = None) -> np.ndarray:
    """The pixels ``window`` (x, y, width, height, at 1/``reduction``) of the file, BGR, decoded
    from ``index`` (a split decode's, at any scale): only the MCUs the window lies in, half of
    its rows on each of two threads. The crop of a small person needs a finer decode than the
    analysis one; this way it costs the window's share of one. NotSplit when it cannot be."""
    import cv2
    import numpy as np

    found = plan(data, reduction, size, min_bytes=min_bytes)
    x, y, w, h = window
    rgbx = np.zeros((h, w, 4), np.uint8)
    done = _extension().decode_window(memoryview(data)[found.scan_at:], found.params,
                                      index.starts, index.predictors, x, y, w, h, rgbx)
    if done != 0:
        raise NotSplit
    return cv2.cvtColor(rgbx, cv2.COLOR_RGBA2BGR)
