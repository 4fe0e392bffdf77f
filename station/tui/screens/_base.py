"""Shared frame of the side screens: a title, a body loaded on the store thread, Esc to go back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from station.i18n import t
from station.tui.widgets.keybar import KeyBar

if TYPE_CHECKING:
    from station.tui.app import StationApp


class StationScreen(Screen[None]):
    """A screen of the station's app: ``self.app`` is the StationApp (runner, devices, …)."""

    if TYPE_CHECKING:
        app: StationApp


class SideScreen(StationScreen):
    """Loads ``load(store)`` on the store thread and shows ``render_body(data)``."""

    CSS_PATH = "../styles/side.tcss"
    BINDINGS = [Binding("escape", "back", show=False), Binding("f6", "reload", show=False)]
    TITLE_KEY = ""
    KEYS: list[tuple[str, str]] = [("Esc", "tui.key.back"), ("l", "tui.key.lang")]

    def __init__(self) -> None:
        super().__init__()
        self.data: Any = None

    def compose(self) -> ComposeResult:
        yield Static(id="side-title")
        with VerticalScroll(id="side-body"):
            yield Static(Text(t("tui.loading"), style="dim"), id="side-content")
        yield KeyBar(self.KEYS, id="keys")

    def on_mount(self) -> None:
        self.relabel()
        self.action_reload()

    def action_reload(self) -> None:
        self.app.runner.call(self.load, self._loaded)

    def _loaded(self, data: Any) -> None:
        self.data = data
        self.relabel()

    def relabel(self) -> None:
        self.query_one("#side-title", Static).update(Text(t(self.TITLE_KEY), style="bold"))
        if self.data is not None:
            self.query_one("#side-content", Static).update(self.render_body(self.data))

    def action_back(self) -> None:
        self.app.pop_screen()

    def load(self, store: Any) -> Any:  # store thread
        return None

    def render_body(self, data: Any) -> Any:
        return Text("")
