"""The identity panel: who is at the desk, what the roster says, whether the fee is paid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from station.i18n import get_language, t

if TYPE_CHECKING:
    from station.session.model import Person
from station.privacy import mask_address, mask_id
from station.tui.widgets.checks import _label

FLAG_STYLE = {"not_on_roster": "bold red", "not_eligible": "bold red", "wrong_slot": "yellow",
              "already_captured": "yellow", "name_mismatch": "bold red", "walk_in": "cyan",
              "home_roster": "bold red", "other_roster": "bold red"}


@dataclass
class DeskFacts:
    """What the panel needs besides the person: desk mode and policies the service answered."""

    walk_in: bool = False
    code_mode: bool = False
    fee_yuan: str = "30"
    typed_exported: bool = False      # the batch profile exports typed (unverified) identities
    stopped: bool = False             # failsafe: a device is out, no card is taken


class IdentityPanel(Widget):
    """Name, masked ID number, department, slot, roster verdict and fee — the lines that must
    stay on screen at every size — then degree, source, capture code and address."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.person: Person | None = None
        self.facts = DeskFacts()

    def show(self, person: Person | None, facts: DeskFacts) -> None:
        self.person, self.facts = person, facts
        self.refresh()        # the panel's height is fixed by CSS: no layout pass

    def relabel(self) -> None:
        self.refresh()

    def render(self) -> Any:
        person = self.person
        if person is None:
            key = ("tui.desk.waiting_device" if self.facts.stopped else
                   "tui.desk.waiting_code" if self.facts.code_mode else "tui.desk.waiting_card")
            return Text(t(key), style="bold", justify="center")
        grid = self._grid(person, short=False)
        width, height = self.content_size
        if height > 0 and self._height(grid, width) > height:   # the roster's sentences wrap
            grid = self._grid(person, short=True)                # too long: its short words
        return grid

    def _height(self, renderable: Any, width: int) -> int:
        console = self.app.console
        options = console.options.update(width=max(width, 1), height=None)
        return len(console.render_lines(renderable, options, pad=False))

    def _grid(self, person: Person, short: bool) -> Table:
        """The panel's rows; ``short``: the flags' short words and no degree (little room)."""
        ident, match = person.identity, person.match
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        row = grid.add_row
        name = Text(ident.name, style="bold")
        if person.source == "manual":
            name.append(" " + t("tui.source.manual_short"), style="magenta")
        row(t("tui.label.name"), name)
        row(t("tui.label.id_number"), mask_id(ident.id_number))
        if self.facts.code_mode:  # the key the batch is filed under: never below the fold
            code = person.capture_code
            row(t("tui.label.code"), Text("…" + code[-6:], style="green") if code
                else Text(t("tui.code.missing"), style="bold yellow"))
        if person.school_code:
            row(t("tui.label.school"), person.school_code)
        row(t("tui.label.department"), match.department or "—")
        if match.degree and not short:
            row(t("tui.label.degree"), _label("tui.degree", match.degree))
        if not self.facts.walk_in:
            row(t("tui.label.slot"), match.slot_label or "—")
        row(t("tui.label.flags"), self._flags(person, short))
        row(t("tui.label.fee"), self._fee(person))
        if person.source == "manual":
            key = "tui.source.exported" if self.facts.typed_exported else "tui.source.not_exported"
            row(t("tui.label.source"), Text(t(key), style="magenta"))
        if self.facts.walk_in:
            address = person.mailing_address
            row(t("tui.label.address"), Text(mask_address(address), overflow="ellipsis")
                if address
                else Text(t("tui.address.missing"), style="bold yellow"))
        return grid

    def _flags(self, person: Person, short: bool) -> Text:
        match = person.match
        text = Text(overflow="fold")      # a reason without spaces (Chinese) wraps, never cut
        for i, flag in enumerate(match.flags):
            if i:
                text.append("\n")
            text.append(flag_words(match, flag, short), style=FLAG_STYLE.get(flag, "yellow"))
        if not match.flags:
            text.append(t("tui.flag.ok"), style="green")
        if person.override_by:
            text.append("\n" + t("tui.flag.override", name=person.override_by), style="magenta")
        return text

    def _fee(self, person: Person) -> Text:
        if person.paid:
            return Text(t("tui.fee.paid_amount", yuan=self.facts.fee_yuan), style="bold green")
        return Text(t("tui.fee.unpaid_amount", yuan=self.facts.fee_yuan), style="bold red")


def flag_words(match: Any, flag: str, short: bool = False) -> str:
    """What the roster said about ``flag``: the roster's own sentence (the reason, the slot the
    student is due in, the other name) where there is room, else the flag's short word."""
    details = match.details.get(flag) if isinstance(match.details, dict) else None
    if not short and isinstance(details, dict):
        words = details.get("en" if get_language() == "en" else "zh")
        if words:
            return str(words)
    return t(f"tui.flag.{flag}")
