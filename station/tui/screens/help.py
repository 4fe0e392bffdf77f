"""Help: every key of the station, in the current language."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from station.i18n import t

HELP_KEYS = [
    ("t", "tui.key.tap"), ("p", "tui.key.pay"), ("space / c", "tui.key.capture"),
    ("a", "tui.key.accept"), ("r", "tui.key.retake"), ("s", "tui.key.skip"),
    ("n", "tui.key.next"), ("o", "tui.key.override"), ("m", "tui.key.manual"),
    ("w", "tui.key.address"), ("g", "tui.key.auto"), ("l", "tui.key.lang"),
    ("F1 / ?", "tui.key.help"), ("F2", "tui.key.schedule"), ("F3", "tui.key.review"),
    ("F4", "tui.key.devices"), ("F5", "tui.key.exports"),
    ("F5 → b", "tui.exports.build"), ("F5 → x", "tui.exports.cancel"), ("Esc", "tui.key.back"),
    ("Ctrl+Q", "tui.key.quit"),
]


class HelpScreen(ModalScreen):
    """The key table; Escape (or any of F1/?) closes it."""

    BINDINGS = [Binding("escape,f1,question_mark", "dismiss", show=False)]

    def compose(self) -> ComposeResult:
        table = Table(title=t("tui.help.title"), show_header=False, box=None, padding=(0, 2))
        for key, label in HELP_KEYS:
            table.add_row(f"[b]{key}[/b]", t(label))
        with VerticalScroll(classes="form"):
            yield Static(table)
            yield Static(t("tui.help.note"), classes="form-hint")
