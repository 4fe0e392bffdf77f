"""The blocking notice at the desk's start when the clock went back (``station.store.wallclock``).

Nothing is photographed with a clock behind the newest time the store recorded: the notice names
both times and what to do, and stays until the station quits (Ctrl+Q)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from station.i18n import t


class ClockNotice(ModalScreen[None]):
    """Says the clock went back; no key dismisses it (the app's Ctrl+Q quits)."""

    def __init__(self, behind: Any) -> None:
        super().__init__()
        self.behind = behind

    def compose(self) -> ComposeResult:
        with Vertical(classes="form", id="clock-notice"):
            yield Label(t("tui.clock_behind.title"), classes="form-title")
            yield Label(t("store.clock_behind", **self.behind.params()), id="clock-notice-text")
            yield Label(t("tui.clock_behind.hint"), classes="form-hint")
