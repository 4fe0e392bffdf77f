"""The one instruction that matters most right now, in large type."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from station.i18n import get_language


class Instruction(Widget):
    """``(zh, en)`` words, shown in the current language; a level colours the box."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.words: tuple[str, str] = ("", "")

    def say(self, words: tuple[str, str], level: str = "info") -> None:
        if words == self.words and self.has_class(f"-{level}"):
            return
        self.words = words
        for lv in ("info", "ok", "warn", "fail"):
            self.set_class(lv == level, f"-{lv}")
        self.refresh()

    def relabel(self) -> None:
        self.refresh()

    def render(self) -> Any:
        text = self.words[0] if get_language() == "zh" else self.words[1]
        return Text(text, justify="center", style="bold")
