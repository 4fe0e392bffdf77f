"""The live view: the newest frame with framing guides, or why there is none."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget

from station.i18n import t
from station.tui.widgets.picture import CellPicture


class LiveView(Widget):
    """Shows what the live worker prepared (newest frame wins): half-block cells, or in graphics
    mode a PIL image handed to a textual-image widget."""

    DEFAULT_CSS = """
    LiveView.-graphics { align: center middle; }
    LiveView > .picture-image { width: auto; height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lines: list | None = None
        self.seq = -1
        self.state_key = "tui.live.off"
        try:
            self.graphics = getattr(self.app, "picture_mode", "halfblock") == "graphics"
        except Exception:  # built outside a running app
            self.graphics = False
        self.set_class(self.graphics, "-graphics")

    def compose(self) -> ComposeResult:
        if self.graphics:
            from station.tui.picture_mode import image_widget_class

            image = image_widget_class()(classes="picture-image", id="live-image")
            image.display = False
            yield image

    def show(self, picture: Any, seq: int) -> None:
        """``picture``: half-block lines, or a PIL image in graphics mode."""
        self.seq = seq
        if isinstance(picture, list):
            self.lines = picture
        elif self.graphics:
            image: Any = self.query_one("#live-image")  # textual-image's widget (untyped)
            image.image = picture
            image.display = True
            self.lines = []
        self.refresh()

    def blank(self, state_key: str) -> None:
        self.lines, self.state_key = None, state_key
        if self.graphics:
            self.query_one("#live-image").display = False
        self.refresh()

    def render(self) -> Any:
        if self.lines is None:
            return Text(t(self.state_key), justify="center", style="dim")
        return CellPicture(self.lines)
