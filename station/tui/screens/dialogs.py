"""Small modal forms of the desk: payment reference, supervisor approval, manual entry, address.

Each dismisses with a plain value (or None when cancelled); the desk does the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from station.i18n import t


@dataclass
class Approval:
    """A supervisor's name, PIN and reason, as typed."""

    name: str
    pin: str
    reason: str


class _Form(ModalScreen):
    """A titled column of inputs; Enter in the last input submits, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", show=False)]
    TITLE_KEY = ""
    FIELDS: tuple[tuple[str, str, bool], ...] = ()   # (id, message key, password)

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Label(t(self.TITLE_KEY), classes="form-title")
            for field_id, key, password in self.FIELDS:
                yield Label(t(key))
                yield Input(id=field_id, password=password)
            yield Label(t("tui.form.hint"), classes="form-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
            return
        self.dismiss(self.value({str(i.id): i.value for i in inputs}))

    def value(self, values: dict[str, str]) -> Any:
        return values

    def action_cancel(self) -> None:
        self.dismiss(None)


class PayDialog(_Form):
    """The fee was paid: an optional transaction number (a barcode scanner types it + Enter)."""

    TITLE_KEY = "tui.pay.title"
    FIELDS = (("reference", "tui.pay.reference", False),)

    def value(self, values: dict[str, str]) -> str:
        return values["reference"].strip()


class SupervisorDialog(_Form):
    """A supervisor approves: name, PIN and a reason for the record."""

    TITLE_KEY = "tui.supervisor.title"
    FIELDS = (("sup-name", "tui.supervisor.name", False), ("sup-pin", "tui.supervisor.pin", True),
              ("sup-reason", "tui.supervisor.reason", False))

    def value(self, values: dict[str, str]) -> Approval:
        return Approval(values["sup-name"].strip(), values["sup-pin"], values["sup-reason"].strip())


class ManualEntryDialog(_Form):
    """Typed identity when a card cannot be read; a supervisor must approve it."""

    TITLE_KEY = "tui.manual.title"
    FIELDS = (("man-name", "tui.field.name", False), ("man-id", "tui.field.id_number", False),
              ("sup-name", "tui.supervisor.name", False), ("sup-pin", "tui.supervisor.pin", True))


class AddressDialog(_Form):
    """Walk-in: the mailing address the prints go back to."""

    TITLE_KEY = "tui.address.title"
    FIELDS = (("address", "tui.field.address", False),)

    def value(self, values: dict[str, str]) -> str:
        return values["address"].strip()


class ReasonDialog(_Form):
    """A reason for the record (reject in review, a correction)."""

    TITLE_KEY = "tui.reason.title"
    FIELDS = (("reason", "tui.supervisor.reason", False),)

    def value(self, values: dict[str, str]) -> str:
        return values["reason"].strip()


class CorrectionDialog(_Form):
    """Correct one identity field of a capture: which field, the right value, and why."""

    TITLE_KEY = "tui.correct.title"
    FIELDS = (("field", "tui.correct.field", False), ("value", "tui.correct.value", False),
              ("reason", "tui.supervisor.reason", False))
