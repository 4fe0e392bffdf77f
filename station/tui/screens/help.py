"""Help: every key of the station, in the current language — the same keys the key bar offers
(the tap key only where the reader takes test cards) — and how cards reach this desk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from station.i18n import t

if TYPE_CHECKING:
    from station.tui.app import StationApp

DESK_KEYS = [
    ("p", "tui.key.pay"), ("space / c", "tui.key.capture"), ("g", "tui.key.auto"),
    ("a", "tui.key.accept"), ("r", "tui.key.retake"), ("s", "tui.key.skip"),
    ("n", "tui.key.next"), ("o", "tui.key.override"), ("m", "tui.key.manual"),
    ("w", "tui.key.address"), ("k", "tui.key.code"),
    ("v", "tui.key.code_camera"), ("l", "tui.key.lang"),
]
SCREEN_KEYS = [
    ("F1 / ?", "tui.key.help"), ("F2", "tui.key.schedule"), ("F3", "tui.key.review"),
    ("F4", "tui.key.devices"), ("F5", "tui.key.exports"),
    ("F5 → b", "tui.exports.build"), ("F5 → x", "tui.exports.cancel"), ("Esc", "tui.key.back"),
    ("Ctrl+Q", "tui.key.quit"),
]


class HelpScreen(ModalScreen[None]):
    """The key table; Escape (or ?) closes it."""

    BINDINGS = [Binding("escape,question_mark", "dismiss", show=False)]

    if TYPE_CHECKING:
        app: StationApp

    def compose(self) -> ComposeResult:
        app = self.app
        table = Table.grid(padding=(0, 3))
        table.title = t("tui.help.title")
        table.add_column(style="bold", min_width=10, no_wrap=True)
        table.add_column()
        keys = list(DESK_KEYS)
        if app.can_tap:
            keys.insert(0, ("t", "tui.key.tap_demo" if app.options.demo else "tui.key.tap"))
        for key, label in keys + SCREEN_KEYS:
            table.add_row(key, t(label))
        with VerticalScroll(classes="form"):
            yield Static(table)
            yield Static(t(self._cards_key()), classes="form-hint")
            yield Static(t("tui.help.note"), classes="form-hint")

    def _cards_key(self) -> str:
        """How a card reaches this desk: a test card (t), the reader, or typed entry only."""
        reader = (self.app.options.reader or "").partition(":")[0]
        if self.app.can_tap:
            return "tui.help.cards_test"
        return "tui.help.cards_typed" if reader in ("", "manual") else "tui.help.cards_reader"
