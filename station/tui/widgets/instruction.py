"""The one instruction that matters most right now, in large type."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from station.i18n import get_language


class Instruction(Widget):
    """``(zh, en)`` words, shown in the current language; a level colours the box. Words longer
    than one line (a failed check's advice on a narrow terminal) get a second line: the class
    ``-long`` (its height in CSS), which changes only when such words come or go, so the live
    view's short instructions never cost a layout pass."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.words: tuple[str, str] = ("", "")

    def say(self, words: tuple[str, str], level: str = "info") -> None:
        if words == self.words and self.has_class(f"-{level}"):
            return
        self.words = words
        for lv in ("info", "ok", "warn", "fail"):
            self.set_class(lv == level, f"-{lv}")
        self._fit()
        self.refresh()

    def relabel(self) -> None:
        self._fit()
        self.refresh()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        width = self.content_size.width
        self.set_class(width > 0 and cell_len(self.text) > width, "-long")

    @property
    def text(self) -> str:
        return self.words[0] if get_language() == "zh" else self.words[1]

    def render(self) -> Any:
        return Text(self.text, justify="center", style="bold")
