"""One line for the last refusal or hint ("accept refused: sharpness failed")."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class Notice(Widget):
    """The desk's message line; empty when there is nothing to say."""

    message: reactive[str] = reactive("", layout=True)
    level: reactive[str] = reactive("info")

    def say(self, message: str, level: str = "info") -> None:
        self.message, self.level = message, level

    def render(self) -> Any:
        style = {"error": "bold red", "warn": "bold yellow", "ok": "bold green"}.get(self.level, "")
        return Text(self.message, style=style)
