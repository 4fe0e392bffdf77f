"""One line of words that never changes the layout: a caption or a label whose height is fixed
by CSS, so a language switch repaints it without a layout pass."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget


class Caption(Widget):
    """Shows the Text (or words) it was last given; ``update`` only repaints."""

    DEFAULT_CSS = "Caption { height: 1; }"

    def __init__(self, text: Any = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = text

    def update(self, text: Any) -> None:
        self.text = text
        self.refresh()

    def render(self) -> Any:
        return self.text if isinstance(self.text, Text) else Text(str(self.text))
