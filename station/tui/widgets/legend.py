"""What the coloured guide lines on a picture mean."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
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
        """The swatches whose names fit the width, each whole: a colour shown without its
        name (the face width's, cut away on a narrow pane) tells nobody anything."""
        width = self.content_size.width
        text = Text(justify="center", no_wrap=True)
        for colour, key in ((GUIDE_HEAD, "tui.legend.head_top"), (GUIDE_EYES, "tui.legend.eyes"),
                            (GUIDE_FACE, "tui.legend.face_width")):
            gap = "   " if text.plain else ""
            item = f"{gap}━━ {t(key)}"
            if width and text.cell_len + cell_len(item) > width:
                break
            text.append(gap)
            text.append("━━ ", style=f"bold {_rgb(colour)}")
            text.append(t(key))
        return text
