"""Desk counters: the slot's done/expected, retakes and students per hour."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from station.i18n import t


class Counters(Widget):
    """One line of numbers the photographer glances at between students."""

    counters: reactive[Any] = reactive(None, always_update=True)

    def render(self) -> Any:
        c = self.counters
        done = c.done if c else 0
        expected = c.expected if c and c.expected is not None else "—"
        retakes = c.retakes if c else 0
        per_hour = c.students_per_hour if c else 0.0
        text = Text()
        text.append(t("tui.counters.done", done=done, expected=expected), style="bold")
        text.append("  ")
        text.append(t("tui.counters.retakes", retakes=retakes))
        text.append("  ")
        text.append(t("tui.counters.per_hour", per_hour=f"{per_hour:.0f}"))
        return text
