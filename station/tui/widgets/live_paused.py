"""The notice laid over the live picture when it is not live any more (no new frame for a
while): the picture stays, frozen, but nobody can take it for the student as they are now."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from station.i18n import get_language, t
from station.tui.widgets._base import StationWidget


class LivePaused(StationWidget):
    """Hidden while frames arrive. ``show(hint)`` puts up "live view paused" and what to do
    (``hint``: zh and en words); ``hide()`` takes it down as soon as a frame comes again."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hint: tuple[str, str] = ("", "")
        self.display = False

    @property
    def shown(self) -> bool:
        return bool(self.display)

    def show(self, hint: tuple[str, str]) -> None:
        if self.display and hint == self.hint:
            return
        self.hint = hint
        self.display = True
        self.refresh(layout=True)

    def hide(self) -> None:
        if self.display:
            self.display = False

    def relabel(self) -> None:
        self.refresh(layout=True)

    def render(self) -> Any:
        text = Text(t("tui.live.paused") + "\n", style="bold", justify="center")
        text.append(self.hint[0] if get_language() == "zh" else self.hint[1], style="")
        return text
