"""The device banner: what failed and what to do, shown until the device is back."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from station.i18n import get_language


class DeviceBanner(Widget):
    """Hidden while every device works; one line per failed device otherwise."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems: dict[str, tuple[str, str]] = {}

    def set_problem(self, device: str, zh: str, en: str) -> None:
        self.problems[device] = (zh, en)
        self._update()

    def clear(self, device: str) -> None:
        self.problems.pop(device, None)
        self._update()

    def _update(self) -> None:
        self.display = bool(self.problems)
        self.refresh(layout=True)

    def relabel(self) -> None:
        self.refresh()

    def render(self) -> Any:
        index = 0 if get_language() == "zh" else 1
        text = Text()
        for i, (_device, words) in enumerate(sorted(self.problems.items())):
            if i:
                text.append("\n")
            text.append("⚠ " + words[index], style="bold")
        return text
