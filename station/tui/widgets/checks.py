"""A list of photo checks with pass / warn / fail marks, in the current language."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from station.i18n import get_language, t

MARK = {"pass": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "bold red")}


def check_table(checks: list[Any], compact: bool = False) -> Table:
    """Rows of mark, check name, and (not compact) the message for warn/fail."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    if not compact:
        grid.add_column()
    en = get_language() == "en"
    for c in checks:
        status = _get(c, "status") or "warn"
        mark, style = MARK.get(status, ("?", "dim"))
        name = _get(c, "name") or "?"
        label = _label("checks.name", name)
        row = [Text(mark, style=style), Text(label, style=style if status != "pass" else "")]
        if not compact:
            msg = _get(c, "message_en" if en else "message_zh") if status != "pass" else ""
            row.append(Text(msg or "", style="dim"))
        grid.add_row(*row)
    return grid


def _label(prefix: str, code: str) -> str:
    """The catalog's word for ``code``, or the code itself when the catalog has none."""
    key = f"{prefix}.{code}"
    text = t(key)
    return code if text == key else text


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


class CheckList(Widget):
    """The live checks of the newest frame."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks: list[Any] = []

    def show(self, checks: list[Any]) -> None:
        resized = len(checks) != len(self.checks)
        self.checks = list(checks)
        self.refresh(layout=resized)  # a new layout only when the list grows or shrinks

    def render(self) -> Any:
        if not self.checks:
            return Text(t("tui.live.no_checks"), style="dim")
        return check_table(self.checks, compact=self.size.width < 30)
