"""Help: every key of the station, in the current language — the same keys the key bar offers
(the tap key only where the reader takes test cards, the 采集码 keys only in code mode, the
address key only on a walk-in station) — and how cards reach this desk."""

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
    ("a", "tui.key.accept"), ("r", "tui.key.retake"), ("a → r", "tui.key.again"),
    ("s", "tui.key.skip"), ("n", "tui.key.next"), ("o", "tui.key.override"),
    ("m", "tui.key.manual"),
]
WALK_IN_KEYS = [("w", "tui.key.address")]                     # a walk-in station's address
CODE_KEYS = [("k", "tui.key.code"), ("v", "tui.key.code_camera")]  # code mode (图像采集码)
DEMO_CODE_KEYS = [("q", "tui.key.scan_demo")]
LANGUAGE_KEYS = [("l", "tui.key.lang")]
SCREEN_KEYS = [
    ("F1 / ?", "tui.key.help"), ("F2", "tui.key.schedule"), ("F3", "tui.key.review"),
    ("F4", "tui.key.devices"), ("F5", "tui.key.exports"),
    ("F5 → b", "tui.exports.build"), ("F5 → s", "tui.exports.school"),
    ("F5 → x", "tui.exports.cancel"), ("Esc", "tui.key.back"),
    ("Ctrl+Q", "tui.key.quit"),
]


class HelpScreen(ModalScreen[None]):
    """The key table; Escape (or ?) closes it, l switches its language (as on every screen)."""

    BINDINGS = [Binding("escape,question_mark", "dismiss", show=False),
                Binding("l", "app.toggle_language", show=False)]   # the app's l stops at a modal

    if TYPE_CHECKING:
        app: StationApp

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="form"):
            yield Static(self._table(), id="help-keys")
            yield Static(t(self._cards_key()), id="help-cards", classes="form-hint")
            yield Static(t("tui.help.note"), id="help-note", classes="form-hint")

    def relabel(self) -> None:
        """``l`` pressed while help is open: the table and notes in the new language."""
        self.query_one("#help-keys", Static).update(self._table())
        self.query_one("#help-cards", Static).update(t(self._cards_key()))
        self.query_one("#help-note", Static).update(t("tui.help.note"))

    def _table(self) -> Table:
        table = Table.grid(padding=(0, 3))
        table.title = t("tui.help.title")
        table.add_column(style="bold", min_width=10, no_wrap=True)
        table.add_column()
        for key, label in self.desk_keys() + SCREEN_KEYS:
            table.add_row(key, t(label))
        return table

    def desk_keys(self) -> list[tuple[str, str]]:
        """The desk's keys on this station: the tap key where the reader takes test cards, the
        address key on a walk-in station, the 采集码 keys in code mode only."""
        app = self.app
        keys = list(DESK_KEYS)
        if app.can_tap:
            keys.insert(0, ("t", "tui.key.tap_demo" if app.options.demo else "tui.key.tap"))
        if app.walk_in is not None:
            keys += WALK_IN_KEYS
        if app.desk_mode == "code":
            keys += CODE_KEYS + (DEMO_CODE_KEYS if app.options.demo else [])
        return keys + LANGUAGE_KEYS

    def _cards_key(self) -> str:
        """How a card reaches this desk: a test card (t), the reader, or typed entry only."""
        reader = (self.app.options.reader or "").partition(":")[0]
        if self.app.can_tap:
            return "tui.help.cards_test"
        return "tui.help.cards_typed" if reader in ("", "manual") else "tui.help.cards_reader"
