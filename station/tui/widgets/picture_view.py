"""A picture in a pane: half-block cells painted line by line, or a real image (textual-image)
in graphics mode; a dim sentence while there is none."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region
from textual.strip import Strip

from station.i18n import t
from station.tui.widgets._base import StationWidget

HALF_BLOCK_CELL = (1, 2)          # pixels a half-block cell shows: one wide, two high
MIN_COLS, MIN_ROWS = 8, 4         # a picture is never drawn smaller than this


class Box(NamedTuple):
    """What a picture is fitted to: the pane in cells and the pixels of one cell."""

    cols: int
    rows: int
    cell_px: tuple[int, int]


def fit_box(cols: int, rows: int, cell_px: tuple[int, int]) -> Box:
    return Box(max(cols, MIN_COLS), max(rows, MIN_ROWS), cell_px)


Refit = Callable[[int, int, tuple[int, int]], Any]
"""Draws the same picture again for another box; returns None when it will call ``show`` itself
(drawn in a worker)."""


class PictureView(StationWidget):
    """Shows what a worker prepared (newest wins). Half-block lines are turned into strips once
    and painted centred by ``render_line``, so a new frame costs one pass over its cells.

    ``target`` (any object with ``cols``/``rows``/``cell_px``) is kept at this pane's size, for
    workers that must know the size without touching the widget from their thread.

    A picture is fitted to the pane's box (cells, and pixels a cell in graphics mode) when it is
    drawn; the pane may change size after that (a line appears above or below it, the terminal
    is resized, a frame was drawn in a worker before the layout settled). A picture shown with
    its ``fitted`` box and a ``refit`` is therefore drawn again whenever the box it was fitted
    to is not the pane's own: when it arrives, and when the pane is resized."""

    DEFAULT_CSS = """
    PictureView.-graphics { align: center middle; }
    PictureView > .picture-image { width: auto; height: auto; }
    """

    def __init__(self, blank_key: str = "tui.live.off", target: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.strips: list[Strip] | None = None
        self.state_key = blank_key
        self.target = target
        self.painted = 0          # frames painted (line 0 drawn for a new picture): the bench
        self.refits = 0           # pictures drawn again because the pane's box changed
        self._fresh = False
        self._fitted: Box | None = None
        self._refit: Refit | None = None
        try:
            self.graphics = self.app.picture_mode == "graphics"
        except Exception:  # built outside a running app
            self.graphics = False
        self.set_class(self.graphics, "-graphics")

    def compose(self) -> ComposeResult:
        if self.graphics:
            from station.tui.picture_mode import image_widget_class

            image = image_widget_class()(classes="picture-image")
            image.display = False
            yield image

    def on_mount(self) -> None:
        self._tell_target()

    def on_resize(self) -> None:
        self._tell_target()
        self._fit()

    def box(self) -> Box:
        """The box a picture for this pane is fitted to now."""
        if self.graphics:
            from station.tui.picture_mode import cell_pixels

            cell_px = cell_pixels()
        else:
            cell_px = HALF_BLOCK_CELL
        return fit_box(self.size.width, self.size.height, cell_px)

    def _tell_target(self) -> None:
        if self.target is not None:
            self.target.cols, self.target.rows = self.size.width, self.size.height
            if self.graphics:
                self.target.cell_px = self.box().cell_px
            self.target.pad_style = self.visual_style.rich_style

    def _fit(self) -> None:
        """Draw the picture on show again if the pane's box is no longer the one it fits."""
        if self._refit is None or self.strips is None or self.size.area == 0:
            return
        box = self.box()
        if box == self._fitted:
            return
        self._fitted = box
        self.refits += 1
        picture = self._refit(*box)
        if picture is not None:
            self._put(picture)

    def show(self, picture: Any, fitted: Box | None = None, refit: Refit | None = None) -> None:
        """``picture``: strips or half-block lines (lists of segments), or a PIL image in
        graphics mode. ``fitted``: the box it was drawn for; ``refit`` draws it for another
        (see the class)."""
        self._fitted, self._refit = fitted, refit
        self._put(picture)
        self._fit()

    def _put(self, picture: Any) -> None:
        if isinstance(picture, list):
            self.strips = as_strips(picture)
        elif self.graphics:
            image: Any = self.query_one(".picture-image")   # textual-image's widget (untyped)
            image.image = picture
            image.display = True
            self.strips = []
        self._fresh = True
        self.refresh()

    def blank(self, state_key: str) -> None:
        if self.strips is None and state_key == self.state_key:
            return
        self.strips, self.state_key = None, state_key
        self._fitted = self._refit = None
        if self.graphics:
            self.query_one(".picture-image").display = False
        self.refresh()

    def relabel(self) -> None:
        """A language switch: the sentence shown while there is no picture, in the new words."""
        if self.strips is None:
            self.refresh()

    def render(self) -> Any:
        return Text(t(self.state_key), justify="center", style="dim")

    def get_line_filters(self) -> Sequence[LineFilter]:
        """The picture is true colour already: skip the ANSI-to-truecolor pass over every cell."""
        return [f for f in super().get_line_filters() if not isinstance(f, ANSIToTruecolor)]

    def render_lines(self, crop: Region) -> list[Strip]:
        """A picture has no border or padding: its strips go straight to the compositor
        (the styles cache would re-style every cell of every frame)."""
        if self.strips is None:
            return super().render_lines(crop)
        filters = self.get_line_filters()
        background = self.background_colors[1]
        lines = []
        for y in crop.line_range:
            line = self.render_line(y)
            for line_filter in filters:
                line = line.apply_filter(line_filter, background)
            lines.append(line)
        x1, x2 = crop.column_span
        if (x1, x2) != (0, self.size.width):
            lines = [line.crop(x1, x2) for line in lines]
        return lines

    def render_line(self, y: int) -> Strip:
        strips = self.strips
        if strips is None:
            return super().render_line(y)
        if y == 0 and self._fresh:
            self._fresh = False
            self.painted += 1
        width, height = self.size
        if len(strips) == height and strips and strips[0].cell_length == width:
            return strips[y]           # fitted by the worker (see fitted_strips): as it is
        style = self.visual_style.rich_style
        index = y - max(0, (height - len(strips)) // 2)
        if not 0 <= index < len(strips):
            return Strip.blank(width, style)
        strip = strips[index]
        left = max(0, (width - strip.cell_length) // 2)
        right = max(0, width - left - strip.cell_length)
        return strip.crop_pad(min(strip.cell_length, width), left, right, style)


def fitted_strips(lines: list[list[Segment]], cols: int, rows: int, style: Style | None,
                  console: Console) -> list[Strip]:
    """Half-block lines centred in a cols×rows pane, one strip a row exactly ``cols`` wide, each
    already rendered to terminal codes: a worker calls this, and the UI thread then hands the
    strips to the compositor untouched (a pane-wide strip is not divided, and a rendered strip
    is not rendered again), so painting a frame costs it almost nothing."""
    style = style or Style()
    top = max(0, (rows - len(lines)) // 2)
    blank = Strip.blank(cols, style)
    blank.render(console)
    strips = [blank] * top
    for line in lines[:rows]:
        width = sum(len(segment.text) for segment in line)
        if width > cols:
            strip = Strip(line, width).crop(0, cols)
        else:
            left = (cols - width) // 2
            segments = [Segment(" " * left, style)] if left else []
            segments += line
            if cols - left - width:
                segments.append(Segment(" " * (cols - left - width), style))
            strip = Strip(segments, cols)
        strip.render(console)
        strips.append(strip)
    strips += [blank] * (rows - len(strips))
    return strips


def as_strips(lines: list[Any]) -> list[Strip]:
    """Half-block lines as strips (workers call this, so the UI thread gets them ready)."""
    return [line if isinstance(line, Strip) else Strip(line, sum(len(s.text) for s in line))
            for line in lines]
