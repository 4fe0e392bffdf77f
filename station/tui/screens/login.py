"""Log-in: operator name and PIN. The role decides which screens the operator can open."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widgets import Input, Label

from station.i18n import both, t
from station.tui.screens._base import StationScreen
from station.tui.widgets.notice import Notice


class LoginScreen(StationScreen):
    """Name, Enter, PIN, Enter."""

    CSS_PATH = "../styles/login.tcss"

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="login-box"):
            yield Label(t("tui.login.title"), id="login-title")
            yield Label(t("tui.login.name"), id="name-label")
            yield Input(id="login-name")
            yield Label(t("tui.login.pin"), id="pin-label")
            yield Input(id="login-pin", password=True)
            yield Notice(id="login-notice")
            yield Label(t("tui.login.hint"), id="login-hint")

    def on_mount(self) -> None:
        self.query_one("#login-name", Input).focus()

    def relabel(self) -> None:
        for widget_id, key in (("#login-title", "tui.login.title"), ("#name-label", "tui.login.name"),
                               ("#pin-label", "tui.login.pin"), ("#login-hint", "tui.login.hint")):
            self.query_one(widget_id, Label).update(t(key))
        self.query_one(Notice).refresh()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "login-name":
            self.query_one("#login-pin", Input).focus()
            return
        name = self.query_one("#login-name", Input).value.strip()
        pin = self.query_one("#login-pin", Input).value
        self.query_one(Notice).say(both("tui.login.checking"))
        self.app.log_in(name, pin)

    def failed(self, words: tuple[str, str]) -> None:
        self.query_one("#login-pin", Input).value = ""
        self.query_one(Notice).say(words, "error")
