"""The desk's 图像采集码 field (code mode): what a keyboard-wedge scanner types, or a person."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from station.i18n import t
from station.tui.widgets.caption import Caption
from station.tui.widgets.scan_input import ScanInput


class CodeField(Vertical):
    """A label and a scanner input; Enter or Tab hands the code to the desk and empties it."""

    class Scanned(Message):
        """A capture code was scanned or typed. ``deliberate``: entered in the field the
        photographer opened (``k``), so it may replace the student's code; a burst caught at
        the desk may be the next student's phone and never does."""

        def __init__(self, code: str, deliberate: bool = False) -> None:
            super().__init__()
            self.code = code
            self.deliberate = deliberate

    def compose(self) -> ComposeResult:
        yield Caption(t("tui.code.label"), id="code-label")
        yield ScanInput(id="capture-code", placeholder=t("tui.code.placeholder"))

    def relabel(self) -> None:
        self.query_one("#code-label", Caption).update(t("tui.code.label"))
        self.query_one(ScanInput).placeholder = t("tui.code.placeholder")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        code = event.value.strip()
        field = self.query_one(ScanInput)
        field.value = ""
        self.screen.set_focus(None)              # the desk's keys work again
        if code:
            self.post_message(self.Scanned(code, deliberate=True))

    def take_burst(self, text: str) -> None:
        """A burst the desk caught before any field had the focus: as if scanned here."""
        code = "".join(ch for ch in text if ch.isprintable()).strip()
        if code:
            self.post_message(self.Scanned(code))
