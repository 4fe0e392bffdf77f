"""A picture made of half-block cells (see station.tui.render), as a Rich renderable."""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment


class CellPicture:
    """Pre-rendered half-block lines, centred in the space the widget gives."""

    def __init__(self, lines: list[list[Segment]], center: bool = True) -> None:
        self.lines = lines
        self.center = center

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = max((len(line) for line in self.lines), default=1)
        return Measurement(width, width if not self.center else options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        for line in self.lines:
            pad = max(0, (width - len(line)) // 2) if self.center else 0
            if pad:
                yield Segment(" " * pad)
            yield from line
            yield Segment.line()


def picture_lines(img: Any, cols: int, rows: int, guides: Any = None,
                  live_guides: dict | None = None) -> list[list[Segment]]:
    """Cells for ``img`` (BGR): cut to the export window with the live checker's guides when it
    found a face, else the centre of the frame with the profile's fixed guides."""
    from station.tui.render import draw_guides, draw_live_guides, export_frame, to_cells

    if live_guides and live_guides.get("window"):
        img = draw_live_guides(img, live_guides)
    elif guides is not None:
        img = draw_guides(export_frame(img, guides), guides)
    return to_cells(img, cols, rows)
