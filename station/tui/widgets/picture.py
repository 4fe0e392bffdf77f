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
        width = max((_cells(line) for line in self.lines), default=1)
        return Measurement(width, width if not self.center else options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        for line in self.lines:
            pad = max(0, (width - _cells(line)) // 2) if self.center else 0
            if pad:
                yield Segment(" " * pad)
            yield from line
            yield Segment.line()


def _cells(line: list[Segment]) -> int:
    return sum(len(segment.text) for segment in line)   # one cell per half-block character


def framed(img: Any, guides: Any = None, live_guides: dict | None = None) -> Any:
    """``img`` (BGR) cut to the export window with the live checker's guides when it found a face,
    else the centre of the frame with the profile's fixed guides (none without guides)."""
    from station.tui.render import draw_guides, draw_live_guides, export_frame

    if live_guides and live_guides.get("window"):
        return draw_live_guides(img, live_guides)
    if guides is not None:
        return draw_guides(export_frame(img, guides), guides)
    return img


def picture_lines(img: Any, cols: int, rows: int, guides: Any = None,
                  live_guides: dict | None = None) -> list[list[Segment]]:
    """Half-block cells for ``img`` (BGR), framed as :func:`framed` says."""
    from station.tui.render import to_cells

    return to_cells(framed(img, guides, live_guides), cols, rows)


def picture_image(img: Any, cols: int, rows: int, cell_px: tuple[int, int], guides: Any = None,
                  live_guides: dict | None = None) -> Any:
    """A PIL RGB image of ``img`` (BGR) with the guides drawn in, already scaled to fit
    cols×rows cells of ``cell_px`` pixels, so the UI thread only hands it to textual-image."""
    import cv2
    from PIL import Image

    out = framed(img, guides, live_guides)
    h, w = out.shape[:2]
    box_w, box_h = max(cols, 1) * cell_px[0], max(rows, 1) * cell_px[1]
    scale = min(box_w / w, box_h / h)
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    small = cv2.resize(out, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return Image.fromarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
