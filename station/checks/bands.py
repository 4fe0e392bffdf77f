"""A restart-marked JPEG decoded in bands, one per core, into the rows of one array.

Huffman decoding is serial: each code starts where the last one ended, so one JPEG decodes on
one core, and at 1/4 scale the Huffman pass is most of the analysis decode's time. A JPEG with a
restart interval (a DRI segment, as some cameras and editors write it) resets its decoder at
every RSTn marker: the data after a marker decodes without anything before it. Cut just after
an RST7 marker that ends a row of MCUs, each band is a JPEG of its own (the same headers, its
height in the frame header; its markers count from RST0 again with no renumbering), so the bands
decode side by side (Pillow releases the GIL while libjpeg works).

At 1/2, 1/4 and 1/8 libjpeg-turbo scales the subsampled chroma in the IDCT instead of
upsampling it, so no output row depends on a row of another band and the pixels are the whole
file's. Where chroma would be upsampled vertically (full scale, 4:4:0) the file is not banded.
Only a well-formed file is banded: a sequential Huffman scan holding every component, restart
markers numbered in sequence, as many as the header makes; anything else streams whole
(``rowstream``), as before.
"""

from __future__ import annotations

import re
import struct
import threading
from dataclasses import dataclass

from station.checks.rowstream import NotStreamed, Rows, RowStream

_SEQUENTIAL = (0xC0, 0xC1)  # baseline and extended sequential DCT, Huffman coded
_MARKER = re.compile(rb"\xff[^\x00\xff]")  # in the entropy-coded data every 0xFF is stuffed
MIN_BAND_BYTES = 1 << 18  # less than this is not worth a thread


@dataclass(frozen=True)
class Band:
    """A JPEG holding the stored rows ``top``… ``top + height`` of the whole image."""

    data: bytes
    top: int
    height: int


@dataclass(frozen=True)
class _Layout:
    sof_height_at: int  # offset of the frame header's height field
    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]  # (h, v) of each component
    interval: int  # MCUs per restart interval
    scan_at: int  # first byte of the entropy-coded data


def restart_bands(data: bytes, reduction: int, parts: int) -> list[Band] | None:
    """``data`` cut into about ``parts`` bands of similar byte counts that decode at
    1/``reduction`` to the whole file's pixels; None when it cannot be (no restart markers, a
    progressive or odd file, a scale that upsamples chroma vertically, too small to gain)."""
    if parts < 2:
        return None
    layout = _layout(data)
    if layout is None or not _rows_independent(layout.sampling, reduction):
        return None
    hmax = max(h for h, _ in layout.sampling)
    vmax = max(v for _, v in layout.sampling)
    mcu_rows_tall = 8 * vmax
    per_row = -(-layout.width // (8 * hmax))
    mcus = per_row * -(-layout.height // mcu_rows_tall)
    end = data.find(b"\xff\xd9", layout.scan_at)
    if end < 0:
        return None
    markers = [m.start() for m in _MARKER.finditer(data, layout.scan_at, end)]
    if len(markers) != -(-mcus // layout.interval) - 1 or any(
            data[at + 1] != 0xD0 + k % 8 for k, at in enumerate(markers)):
        return None  # not what the header promises: the ordinary decode judges it
    # a cut after marker k (an RST7) starts MCU (k + 1) × interval: usable where a row starts
    cuts = [(at, (k + 1) * layout.interval // per_row) for k, at in enumerate(markers)
            if k % 8 == 7 and (k + 1) * layout.interval % per_row == 0]
    chosen: list[tuple[int, int]] = []
    size, last = end - layout.scan_at, layout.scan_at
    for i in range(1, parts):
        want = layout.scan_at + size * i // parts
        fit = [(abs(at - want), at, row) for at, row in cuts
               if at - last >= MIN_BAND_BYTES and end - at >= MIN_BAND_BYTES]
        if fit:
            _, last, row = min(fit)
            chosen.append((last, row))
    if not chosen:
        return None
    header = data[:layout.scan_at]
    bands, start, top = [], layout.scan_at, 0
    for at, mcu_row in chosen + [(end, -(-layout.height // mcu_rows_tall))]:
        bottom = min(layout.height, mcu_row * mcu_rows_tall)
        head = header[:layout.sof_height_at] + struct.pack(">H", bottom - top) + \
            header[layout.sof_height_at + 2:]
        bands.append(Band(head + data[start:at] + b"\xff\xd9", top, bottom - top))
        start, top = at + 2, bottom
    return bands


def _layout(data: bytes) -> _Layout | None:
    """The headers' facts the cut needs, up to the start of the scan; None for anything but
    one sequential 8-bit scan of every component with a restart interval."""
    if data[:2] != b"\xff\xd8":
        return None
    at, interval, frame = 2, 0, None
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = struct.unpack_from(">H", data, at + 2)[0]
        body = data[at + 4:at + 2 + length]
        if len(body) != length - 2:
            return None
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if marker not in _SEQUENTIAL or frame is not None or len(body) < 6 or body[0] != 8:
                return None
            height, width, count = struct.unpack_from(">HHB", body, 1)
            if len(body) != 6 + 3 * count or not height or not width:
                return None
            sampling = tuple((body[7 + 3 * c] >> 4, body[7 + 3 * c] & 15) for c in range(count))
            if any(not 1 <= h <= 4 or not 1 <= v <= 4 for h, v in sampling):
                return None
            frame = (at + 5, width, height, sampling)
        elif marker == 0xDD and len(body) == 2:
            interval = struct.unpack(">H", body)[0]
        elif marker == 0xDA:
            if frame is None or not interval or not body or body[0] != len(frame[3]):
                return None
            return _Layout(frame[0], frame[1], frame[2], frame[3], interval, at + 2 + length)
        at += 2 + length
    return None


def _rows_independent(sampling: tuple[tuple[int, int], ...], reduction: int) -> bool:
    """Whether libjpeg-turbo's decode at 1/``reduction`` upsamples no component vertically (its
    jdmaster.c: a subsampled component's IDCT is scaled up by powers of two while both of its
    sampling ratios allow and its scaled size stays within 8)."""
    if reduction not in (2, 4, 8):
        return False
    hmax = max(h for h, _ in sampling)
    vmax = max(v for _, v in sampling)
    least = 8 // reduction
    for h, v in sampling:
        size = least
        while size < 8 and (hmax * least) % (h * size * 2) == 0 and (vmax * least) % (v * size * 2) == 0:
            size *= 2
        if v * size != vmax * least:
            return False
    return True


class BandedStream:
    """``RowStream``'s interface over the bands of one image decoding side by side: the rows
    counted as written are those from the top down to the first band still decoding."""

    def __init__(self, bands: list[Band], reduction: int, size: tuple[int, int]) -> None:
        import numpy as np

        self.width, self.height = -(-size[0] // reduction), -(-size[1] // reduction)
        self.rgbx = np.zeros((self.height, self.width, 4), np.uint8)
        self._parts: list[tuple[int, RowStream]] = []
        for band in bands:
            top, rows = band.top // reduction, -(-band.height // reduction)
            if band.top % reduction or top + rows > self.height:
                raise NotStreamed
            into = self.rgbx[top:top + rows]
            self._parts.append((top, RowStream(band.data, reduction, (size[0], band.height), into)))
        if sum(part.height for _, part in self._parts) != self.height:
            raise NotStreamed

    @property
    def rows(self) -> int:
        for top, part in self._parts:
            if part.rows < part.height:
                return top + part.rows
        return self.height

    def stop_at(self, rows: int) -> None:
        for top, part in self._parts:
            part.stop_at(rows - top)  # a band wholly below the rows asked for stops at once

    def run(self) -> None:
        """The first band here, the others on threads of their own (at this thread's priority)."""
        others = [threading.Thread(target=part.run, name="checks-band", daemon=True)
                  for _, part in self._parts[1:]]
        for thread in others:
            thread.start()
        try:
            self._parts[0][1].run()
        finally:
            for thread in others:
                thread.join()

    def wait(self, rows: int) -> int:
        """Block until at least ``rows`` rows are written; the rows written (NotStreamed when a
        band failed or stopped short of them)."""
        for top, part in self._parts:
            if rows <= top:
                break
            part.wait(min(part.height, rows - top))
        return self.rows


def open_stream(data: bytes, reduction: int, size: tuple[int, int],
                parts: int = 1) -> Rows:
    """The decode at 1/``reduction`` as a stream of rows: over ``parts`` threads when the file
    allows it, else one ``RowStream`` (NotStreamed when none can). A camera JPEG goes to
    ``splitjpeg`` at any thread count (its pixels are a level or so from libjpeg's: one decoder
    for it whatever the threads, so that a photo's verdict never depends on the machine's
    cores); a restart-marked one it does not take (4:4:0, the extension not built) is banded at
    its markers."""
    from station.checks.splitjpeg import SplitStream

    try:
        return SplitStream(data, reduction, size, threads=parts)
    except NotStreamed:
        pass
    bands = restart_bands(data, reduction, parts) if parts > 1 else None
    if bands is not None:
        try:
            return BandedStream(bands, reduction, size)
        except NotStreamed:
            pass
    return RowStream(data, reduction, size)

