"""Small modal forms of the desk: payment reference, supervisor approval, manual entry, address.

A form dismisses with a plain value (or None when cancelled). A form given an ``act`` runs it as
a session step when submitted and stays open, with every field as typed, until the step
succeeds: a wrong PIN or a bad ID number is said in the form, and only the PIN is typed again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from station.i18n import both, t
from station.tui.widgets.notice import Notice
from station.tui.widgets.scan_input import ScanInput

if TYPE_CHECKING:
    from station.tui.app import StationApp


@dataclass
class Approval:
    """A supervisor's name, PIN and reason, as typed."""

    name: str
    pin: str
    reason: str


Act = Callable[[Any, Any], Any]     # (the form's value, the CaptureService) → anything
# Seconds after a form opens in which its own key, pressed again, is a double press (a busy
# desk, a bouncing key) and not the first character of the first field.
DOUBLE_PRESS = 0.4


class _Form(ModalScreen[Any]):
    """A titled column of inputs; Enter in the last input submits, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", show=False)]
    if TYPE_CHECKING:
        app: StationApp
    TITLE_KEY = ""
    TITLE_PARAMS: dict[str, Any] = {}
    FIELDS: tuple[tuple[str, str, bool], ...] = ()   # (id, message key, password)
    SCANNED: tuple[str, ...] = ()                    # fields a barcode scanner types into
    FIELD_IDS: dict[str, str] = {}                   # a refusal's field name → input id
    OPENED_BY = ""                                   # the desk key that opens this form

    def __init__(self, act: Act | None = None, subject: str | None = None) -> None:
        super().__init__()
        self.act = act
        self.subject = subject  # whom the form is for, as the desk may show it (masked)
        self.busy = False
        self._opened_at = time.monotonic()

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Label(t(self.TITLE_KEY, **self.title_params()), classes="form-title")
            if self.subject:
                yield Label(t("tui.form.subject", who=self.subject), classes="form-subject")
            for field_id, key, password in self.FIELDS:
                yield Label(t(key))
                kind = ScanInput if field_id in self.SCANNED else Input
                yield kind(id=field_id, password=password)
            yield Notice(id="form-error")
            yield Label(t("tui.form.hint"), classes="form-hint")

    def title_params(self) -> dict[str, Any]:
        return {}

    def on_input_changed(self, event: Input.Changed) -> None:
        """The form's own key pressed twice: the second press is not typed into the form (P P
        then a scanned number recorded the fee as paid with 'p4200…')."""
        if self.OPENED_BY and event.value == self.OPENED_BY \
                and time.monotonic() - self._opened_at < DOUBLE_PRESS:
            event.input.value = ""

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs) and not all(i.value for i in inputs[index + 1:]):
            inputs[index + 1].focus()
            return
        # a refusal empties the PINs: Enter elsewhere goes back to one rather than sending it
        # empty (a certain "PIN wrong" that costs one of the operator's tries)
        empty_pin = next((i for i in inputs if i.password and not i.value), None)
        if empty_pin is not None:
            self.query_one("#form-error", Notice).say(both("tui.form.pin_empty"), "warn")
            empty_pin.focus()
            return
        self.submit({str(i.id): i.value for i in inputs})

    def submit(self, values: dict[str, str]) -> None:
        value = self.value(values)
        if self.act is None:
            self.dismiss(value)
            return
        if self.busy:
            return
        self.busy = True
        self.query_one("#form-error", Notice).say(both("tui.form.checking"))
        act = self.act
        self.app.runner.attempt(lambda service: act(value, service), self._done, self._refused)

    def _done(self, _result: Any) -> None:
        self.busy = False
        self.dismiss(self.value({str(i.id): i.value for i in self.query(Input)}))

    def _refused(self, refusal: Any) -> None:
        """Say why in the form; keep what was typed except PINs; the cursor goes to the field
        the refusal names, else to the first empty one."""
        self.busy = False
        self.query_one("#form-error", Notice).say(refusal.words, "error")
        inputs = list(self.query(Input))
        for field in inputs:
            if field.password:
                field.value = ""
        named = self.FIELD_IDS.get(refusal.field or "")
        target = next((i for i in inputs if named and i.id == named), None)
        target = target or next((i for i in inputs if not i.value), inputs[0])
        target.focus(scroll_visible=False)
        # a form taller than the terminal scrolls: the reason and the Enter/Esc hint below it
        # come into view, then the field to correct (above them) if the scroll hid it
        hint = self.query_one(".form-hint")
        self.call_after_refresh(hint.scroll_visible, animate=False, immediate=True)
        self.call_after_refresh(target.scroll_visible, animate=False)

    def value(self, values: dict[str, str]) -> Any:
        return values

    def action_cancel(self) -> None:
        self.dismiss(None)


class PayDialog(_Form):
    """The fee was paid: an optional transaction number (a barcode scanner types it and Enter
    or Tab)."""

    OPENED_BY = "p"
    TITLE_KEY = "tui.pay.title"
    FIELDS = (("reference", "tui.pay.reference", False),)
    SCANNED = ("reference",)

    def __init__(self, yuan: str = "30", act: Act | None = None,
                 subject: str | None = None) -> None:
        super().__init__(act, subject)
        self.yuan = yuan

    def title_params(self) -> dict[str, Any]:
        return {"yuan": self.yuan}

    def value(self, values: dict[str, str]) -> str:
        return values["reference"].strip()


class SupervisorDialog(_Form):
    """A supervisor approves: name, PIN and a reason for the record."""

    OPENED_BY = "o"
    TITLE_KEY = "tui.supervisor.title"
    FIELDS = (("sup-name", "tui.supervisor.name", False), ("sup-pin", "tui.supervisor.pin", True),
              ("sup-reason", "tui.supervisor.reason", False))
    FIELD_IDS = {"reason": "sup-reason"}

    def value(self, values: dict[str, str]) -> Approval:
        return Approval(values["sup-name"].strip(), values["sup-pin"], values["sup-reason"].strip())


class ManualEntryDialog(_Form):
    """Typed identity when a card cannot be read; a supervisor must approve it."""

    OPENED_BY = "m"
    TITLE_KEY = "tui.manual.title"
    FIELDS = (("man-name", "tui.field.name", False), ("man-id", "tui.field.id_number", False),
              ("sup-name", "tui.supervisor.name", False), ("sup-pin", "tui.supervisor.pin", True))
    FIELD_IDS = {"name": "man-name", "id_number": "man-id"}


class AddressDialog(_Form):
    """Walk-in: the mailing address the prints go back to."""

    OPENED_BY = "w"
    TITLE_KEY = "tui.address.title"
    FIELDS = (("address", "tui.field.address", False),)

    def value(self, values: dict[str, str]) -> str:
        return values["address"].strip()

    def submit(self, values: dict[str, str]) -> None:
        """An empty address is not an answer: the form stays and says the accept needs one."""
        if not self.value(values):
            self.query_one("#form-error", Notice).say(both("session.address_required"), "error")
            return
        super().submit(values)


class ReasonDialog(_Form):
    """A reason for the record (reject in review, a correction); ``title_key`` says what Enter
    decides ("reject this photo", with ``params``), ``subject`` for whom."""

    TITLE_KEY = "tui.reason.title"
    FIELDS = (("reason", "tui.supervisor.reason", False),)

    def __init__(self, title_key: str | None = None, subject: str | None = None,
                 **params: Any) -> None:
        super().__init__(subject=subject)
        if title_key:
            self.TITLE_KEY = title_key
        self.params = params        # the title's own words (a conflict's chosen option)

    def title_params(self) -> dict[str, Any]:
        return self.params

    def value(self, values: dict[str, str]) -> str:
        return values["reason"].strip()


class SearchDialog(_Form):
    """Review: find a person outside the queue by a key safe to show (a scanner may type the
    图像采集码)."""

    TITLE_KEY = "tui.search.title"
    FIELDS = (("query", "tui.search.query", False),)
    SCANNED = ("query",)

    def value(self, values: dict[str, str]) -> str:
        return values["query"].strip()


class CorrectionDialog(_Form):
    """Correct one identity field of a capture: which field, the right value, and why."""

    TITLE_KEY = "tui.correct.title"
    FIELDS = (("field", "tui.correct.field", False), ("value", "tui.correct.value", False),
              ("reason", "tui.supervisor.reason", False))


class ConfirmDialog(ModalScreen[bool]):
    """Quit mid-student? Leave a running export? Y answers yes; N, Esc or Enter answer no."""

    BINDINGS = [Binding("y", "answer(True)", show=False),
                Binding("n,escape,enter", "answer(False)", show=False)]

    def __init__(self, question: str, hint_key: str = "tui.quit.hint") -> None:
        super().__init__()
        self.question = question
        self.hint_key = hint_key        # what Y and N do, in words of this question

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Label(self.question, classes="form-title")
            yield Label(t(self.hint_key), classes="form-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
