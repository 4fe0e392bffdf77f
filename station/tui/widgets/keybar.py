"""The key bar: the desk's keys with words in the current language (the footer can't switch)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from station.i18n import t


class KeyBar(Widget):
    """Shows ``(key, message key)`` pairs; the screen decides which are available now."""

    def __init__(self, keys: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keys = keys

    def set_keys(self, keys: list[tuple[str, str]]) -> None:
        self.keys = keys
        self.refresh()

    def render(self) -> Any:
        text = Text()
        for key, label in self.keys:
            text.append(f" {key} ", style="reverse bold")
            text.append(f" {t(label)}  ")
        return text
