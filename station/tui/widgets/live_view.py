"""The live view: the newest frame with framing guides, or why there is none."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from station.i18n import t
from station.tui.widgets.picture import CellPicture


class LiveView(Widget):
    """Shows pre-rendered cells posted by the live worker (newest frame wins)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lines: list | None = None
        self.seq = -1
        self.state_key = "tui.live.off"

    def show(self, lines: list, seq: int) -> None:
        self.lines, self.seq = lines, seq
        self.refresh()

    def blank(self, state_key: str) -> None:
        self.lines, self.state_key = None, state_key
        self.refresh()

    def render(self) -> Any:
        if self.lines is None:
            return Text(t(self.state_key), justify="center", style="dim")
        return CellPicture(self.lines)
