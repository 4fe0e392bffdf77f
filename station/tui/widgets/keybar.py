"""The key bar: the keys that work now, with words in the current language, on as many lines as
the width needs (a key and its words never split), so every screen key and the language switch
stay reachable at 80 columns."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from station.i18n import t


class KeyBar(Widget):
    """Shows ``(key, message key)`` pairs; the screen decides which are available now. A label
    may be a ``(message key, params)`` pair for words that carry a state ("自动拍摄：开")."""

    def __init__(self, keys: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keys = keys
        self._shown_lines = 0

    def set_keys(self, keys: list[tuple[str, Any]]) -> None:
        width = self.size.width or 80
        self.keys = keys
        lines = len(self._lines(width))
        self.refresh(layout=lines != self._shown_lines)
        self._shown_lines = lines

    def relabel(self) -> None:
        self.set_keys(self.keys)           # a layout pass only if the number of lines changes

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return max(1, len(self._lines(width)))

    def _entries(self) -> list[tuple[str, str]]:
        out = []
        for key, label in self.keys:
            words = t(label[0], **label[1]) if isinstance(label, tuple) else t(label)
            out.append((f" {key} ", f" {words}  "))
        return out

    def _lines(self, width: int) -> list[list[tuple[str, str]]]:
        lines: list[list[tuple[str, str]]] = [[]]
        used = 0
        for key, words in self._entries():
            size = cell_len(key) + cell_len(words)
            if lines[-1] and used + size > width:
                lines.append([])
                used = 0
            lines[-1].append((key, words))
            used += size
        return lines

    def render(self) -> Any:
        text = Text(no_wrap=True, overflow="crop")
        for i, line in enumerate(self._lines(self.size.width or 80)):
            if i:
                text.append("\n")
            for key, words in line:
                text.append(key, style="reverse bold")
                text.append(words)
        return text
