"""Finding a font with Chinese glyphs for print sheets and PDF reports.

Names on diploma labels are Chinese; a PDF font without those glyphs prints empty boxes. The font
comes from the system (Debian: fonts-wqy-microhei, or fonts-noto-cjk) or from the configuration
key ``exports.cjk_font``; when none is found the error says which package to install.
"""

from __future__ import annotations

from pathlib import Path

from station.errors import StationError

CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class FontMissing(StationError):
    """Fixed by installing a font package (exit 2, like other set-up problems)."""


def find_cjk_font(configured: str | None = None) -> Path:
    if configured:
        path = Path(configured).expanduser()
        if path.is_file():
            return path
        raise FontMissing("exports.font_missing")
    for candidate in CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing("exports.font_missing")
