"""A few lines for the last refusal or hint ("accept refused: sharpness failed")."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from station.i18n import get_language

STYLES = {"error": "bold red", "warn": "bold yellow", "ok": "bold green"}


class Notice(Widget):
    """The desk's message lines; empty when there is nothing to say. Words are kept in both
    languages, so a language switch never leaves a sentence in the other one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.words: tuple[str, str] = ("", "")
        self.level = "info"

    @property
    def message(self) -> str:
        return self.words[0 if get_language() == "zh" else 1]

    def say(self, words: tuple[str, str] | str, level: str = "info") -> None:
        """``words``: (zh, en), or one sentence used for both. ``level``: info, ok, warn,
        error, or busy (a step under way: the desk clears it when the step answers)."""
        self.words = (words, words) if isinstance(words, str) else tuple(words)  # type: ignore[assignment]
        self.level = level
        self.refresh(layout=self._auto_height)   # new words may need another number of lines

    @property
    def _auto_height(self) -> bool:
        """Whether the notice's height follows its words (the log-in box, forms); the desk's
        notice has a fixed height and needs no layout pass."""
        height = self.styles.height
        return height is None or height.is_auto

    def clear(self) -> None:
        if any(self.words):
            self.say(("", ""))

    def relabel(self) -> None:
        self.refresh(layout=self._auto_height)

    def render(self) -> Any:
        return Text(self.message, style=STYLES.get(self.level, ""))
