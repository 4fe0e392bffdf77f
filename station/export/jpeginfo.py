"""Header facts of a JPEG read from its markers: process, size, components, density, quality.

Reading the markers is exact and cheap (no pixel decoding), and it tells what Pillow hides: whether
the file is baseline (SOF0) or progressive, and the JFIF density the pipeline reads as dpi.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# IJG's standard luminance quantisation table (any order: only its sum is used).
_STD_LUMA_SUM = sum((
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
))
_SOF_NAMES = {0xC0: "baseline", 0xC1: "extended", 0xC2: "progressive", 0xC3: "lossless"}


class NotJpeg(ValueError):
    pass


@dataclass
class JpegInfo:
    process: str = ""              # baseline / extended / progressive / lossless / other
    width: int = 0
    height: int = 0
    components: int = 0
    precision: int = 0
    density_units: int | None = None   # JFIF: 0 aspect only, 1 dots/inch, 2 dots/cm
    density: tuple[int, int] | None = None
    quality: int | None = None
    luma_table_sum: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def dpi(self) -> tuple[float, float] | None:
        if self.density is None or self.density_units not in (1, 2):
            return None
        factor = 1.0 if self.density_units == 1 else 2.54
        return (self.density[0] * factor, self.density[1] * factor)


def _estimate_quality(table_sum: int) -> int:
    """IJG quality from the scaling of the luminance table (inverse of jpeg_quality_scaling)."""
    scale = table_sum * 100.0 / _STD_LUMA_SUM
    quality = 5000.0 / scale if scale > 100 else (200.0 - scale) / 2.0
    return max(1, min(100, round(quality)))


def read_jpeg_info(data: bytes) -> JpegInfo:
    if data[:2] != b"\xff\xd8":
        raise NotJpeg("no JPEG start-of-image marker")
    info = JpegInfo()
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            raise NotJpeg(f"marker expected at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:          # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segment = data[pos + 4:pos + 2 + length]
        if len(segment) != length - 2:
            raise NotJpeg("truncated segment")
        if marker == 0xE0 and segment[:5] == b"JFIF\x00" and len(segment) >= 12:
            info.density_units = segment[7]
            info.density = struct.unpack(">HH", segment[8:12])
        elif marker == 0xDB:
            _read_dqt(segment, info)
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            info.process = _SOF_NAMES.get(marker, f"sof{marker - 0xC0}")
            info.precision = segment[0]
            info.height, info.width = struct.unpack(">HH", segment[1:5])
            info.components = segment[5]
        elif marker == 0xDA:        # start of scan: header is over
            break
        pos += 2 + length
    if not info.process:
        raise NotJpeg("no frame header (SOF)")
    if info.luma_table_sum is not None:
        info.quality = _estimate_quality(info.luma_table_sum)
    return info


def _read_dqt(segment: bytes, info: JpegInfo) -> None:
    pos = 0
    while pos < len(segment):
        pq, tq = segment[pos] >> 4, segment[pos] & 0x0F
        size = 128 if pq else 64
        values = segment[pos + 1:pos + 1 + size]
        table = struct.unpack(">64H", values) if pq else tuple(values)
        if tq == 0:
            info.luma_table_sum = sum(table)
        pos += 1 + size
