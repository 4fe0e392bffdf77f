"""Desk counters: the running slot's done/expected, retakes and students per hour."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from station.i18n import t


class Counters(Widget):
    """One line of numbers the photographer glances at between students. "本场" is the slot
    running now; with none running it counts this desk's accepted photos and says so."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counters: Any = None
        self.running = False

    def show(self, counters: Any, running: bool) -> None:
        self.counters, self.running = counters, running
        self.refresh()

    def relabel(self) -> None:
        self.refresh()

    def render(self) -> Any:
        """The numbers that fit, most important first: a narrow desk (80 columns) drops the rate,
        then the retakes, rather than cut a number in half."""
        c = self.counters
        done = c.done if c else 0
        if self.running:
            expected = c.expected if c and c.expected is not None else "—"
            first = t("tui.counters.done", done=done, expected=expected)
        else:
            first = t("tui.counters.desk_done", done=done)
        rest = [t("tui.counters.retakes", retakes=c.retakes if c else 0),
                t("tui.counters.per_hour", per_hour=f"{c.students_per_hour if c else 0.0:.0f}")]
        width = self.content_size.width
        while rest and width and cell_len(" · ".join([first, *rest])) > width:
            rest.pop()
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(first, style="bold")
        for part in rest:
            text.append(" · ")
            text.append(part)
        return text
