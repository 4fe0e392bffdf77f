"""Desk counters: the running slot's done/expected, retakes and students per hour."""

from __future__ import annotations

from typing import Any

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
        c = self.counters
        done = c.done if c else 0
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.running:
            expected = c.expected if c and c.expected is not None else "—"
            text.append(t("tui.counters.done", done=done, expected=expected), style="bold")
        else:
            text.append(t("tui.counters.desk_done", done=done), style="bold")
        text.append(" · ")
        text.append(t("tui.counters.retakes", retakes=c.retakes if c else 0))
        text.append(" · ")
        text.append(t("tui.counters.per_hour",
                      per_hour=f"{c.students_per_hour if c else 0.0:.0f}"))
        return text
