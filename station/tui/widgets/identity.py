"""The identity panel: who is at the desk, what the roster says, whether the fee is paid."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from station.i18n import t
from station.privacy import mask_id
from station.tui.widgets.checks import _label

FLAG_STYLE = {"not_on_roster": "bold red", "not_eligible": "bold red", "wrong_slot": "yellow",
              "already_captured": "yellow", "name_mismatch": "yellow", "walk_in": "cyan"}


class IdentityPanel(Widget):
    """Name, masked ID number, department, degree, slot, roster flags and fee status."""

    person: reactive[Any] = reactive(None, always_update=True)

    def render(self) -> Any:
        person = self.person
        if person is None:
            return Text(t("tui.desk.waiting_card"), style="bold", justify="center")
        ident, match = person.identity, person.match
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_row(t("tui.field.name"), Text(ident.name, style="bold"))
        grid.add_row(t("tui.field.id_number"), mask_id(ident.id_number))
        if person.school_code:
            grid.add_row(t("tui.field.school"), person.school_code)
        grid.add_row(t("tui.field.department"), match.department or "—")
        grid.add_row(t("tui.field.degree"), _label("tui.degree", match.degree) if match.degree
                     else "—")
        grid.add_row(t("tui.field.slot"), match.slot_label or "—")
        flags = Text()
        for flag in match.flags:
            flags.append(t(f"tui.flag.{flag}") + " ", style=FLAG_STYLE.get(flag, "yellow"))
        if not match.flags:
            flags.append(t("tui.flag.ok"), style="green")
        if person.override_by:
            flags.append(" " + t("tui.flag.override", name=person.override_by), style="magenta")
        grid.add_row(t("tui.field.flags"), flags)
        fee = (Text(t("tui.fee.paid"), style="bold green") if person.paid
               else Text(t("tui.fee.unpaid"), style="bold red"))
        grid.add_row(t("tui.field.fee"), fee)
        if person.source == "manual":
            grid.add_row(t("tui.field.source"), Text(t("tui.source.manual"), style="magenta"))
        if person.mailing_address:
            grid.add_row(t("tui.field.address"), t("tui.address.recorded"))
        return grid
