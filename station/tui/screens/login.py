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
        """Enter: on to the PIN, then log in. An empty field keeps the cursor and says what to
        type: sent empty it would be a failed try (five lock the operator out for a while)."""
        name_field, pin_field = self.query_one("#login-name", Input), self.query_one("#login-pin", Input)
        name, pin = name_field.value.strip(), pin_field.value
        if not name:
            self.query_one(Notice).say(both("tui.login.name_empty"), "warn")
            name_field.focus()
            return
        if event.input is name_field:
            self.query_one(Notice).clear()
            pin_field.focus()
            return
        if not pin:
            self.query_one(Notice).say(both("tui.form.pin_empty"), "warn")
            return
        self.query_one(Notice).say(both("tui.login.checking"))
        self.app.log_in(name, pin)

    def failed(self, words: tuple[str, str]) -> None:
        self.query_one("#login-pin", Input).value = ""
        self.query_one(Notice).say(words, "error")
