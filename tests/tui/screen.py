"""What a terminal shows, as lines of text: read back from Textual's SVG screenshot (the same
rendering the snapshot tests store), so tests can look for words where a person would."""

from __future__ import annotations

import html
import re
from pathlib import Path

_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"[^>]*>'
                   r'([^<]*)</text>')


def svg_lines(svg: str) -> list[str]:
    """The screen's lines, left to right, gaps as spaces (one space per empty cell)."""
    rows: dict[float, list[tuple[float, float, str]]] = {}
    cell = None
    for x, y, length, raw in _TEXT.findall(svg):
        text = html.unescape(raw).replace("\xa0", " ")
        rows.setdefault(float(y), []).append((float(x), float(length), text))
        if cell is None and text and text.isascii():
            cell = float(length) / len(text)
    cell = cell or 12.2
    lines = []
    for y in sorted(rows):
        line, end = "", 0.0
        for x, length, text in sorted(rows[y]):
            gap = int(round((x - end) / cell))
            line += " " * max(gap, 0) + text
            end = x + length
        lines.append(line.rstrip())
    return lines


def screen_lines(app) -> list[str]:
    return svg_lines(app.export_screenshot())


def snapshot_texts(folder: Path, pattern: str = "*.svg") -> dict[str, str]:
    return {p.name: "\n".join(svg_lines(p.read_text(encoding="utf-8")))
            for p in sorted(folder.glob(pattern))}
