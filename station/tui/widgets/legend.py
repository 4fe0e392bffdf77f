"""What the coloured guide lines on a picture mean."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from station.i18n import t
from station.tui.render import GUIDE_EYES, GUIDE_FACE, GUIDE_HEAD


def _rgb(bgr: tuple[int, int, int]) -> str:
    b, g, r = bgr
    return f"rgb({r},{g},{b})"


class Legend(Widget):
    """One line: the head-top band, the eye band and the face width, in their colours."""

    def relabel(self) -> None:
        self.refresh()

    def render(self) -> Any:
        text = Text(justify="center", no_wrap=True, overflow="ellipsis")
        for i, (colour, key) in enumerate(((GUIDE_HEAD, "tui.legend.head_top"),
                                           (GUIDE_EYES, "tui.legend.eyes"),
                                           (GUIDE_FACE, "tui.legend.face_width"))):
            if i:
                text.append("   ")
            text.append("━━ ", style=f"bold {_rgb(colour)}")
            text.append(t(key))
        return text
