"""Exports and sync: entry points for technicians and supervisors, or why they are not here yet."""

from __future__ import annotations

import importlib.util
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding

from station.i18n import t
from station.tui.screens._base import SideScreen

SERVICES = (("station.export.service", "tui.exports.build", "station export build --out DIR"),
            ("station.export.verify", "tui.exports.verify", "station export verify DIR"),
            ("station.export.report", "tui.exports.report", "station report daily"),
            ("station.sync.bundle", "tui.exports.bundle", "station bundle create --out FILE"),
            ("station.sync.merge", "tui.exports.merge", "station merge BUNDLE"))


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class ExportsScreen(SideScreen):
    TITLE_KEY = "tui.exports.title"
    BINDINGS = [Binding("b", "build", show=False)]
    KEYS = [("b", "tui.exports.build"), ("Esc", "tui.key.back"), ("l", "tui.key.lang")]

    def __init__(self) -> None:
        super().__init__()
        self.last: str = ""

    def action_build(self) -> None:
        """Build a batch of every accepted, not yet exported photo into <data-dir>/exports."""
        if not _available("station.export.service"):
            return
        op = self.app.operator
        out = self.app.options.data_dir / "exports"

        def build(store: Any) -> str:
            from station.export.profile import load_batch_profile
            from station.export.selection import Filters
            from station.export.service import build_batch

            store.operators.require(op, "export")
            result = build_batch(store, load_batch_profile("chsi"), out, Filters(), operator=op.name)
            data = result.to_json()
            return t("tui.exports.built", photos=data["photos"], path=data["path"] or "—")

        def done(message: str) -> None:
            self.last = message
            self.action_reload()

        self.app.runner.call(build, done, done)

    def load(self, store: Any) -> Any:
        pending = len(store.facts.accepted_captures(exported=False))
        return pending, [(label, cmd, _available(module)) for module, label, cmd in SERVICES]

    def render_body(self, data: Any) -> Any:
        pending, services = data
        if self.last:
            return Group(Text(self.last, style="bold"), self._table(pending, services))
        return self._table(pending, services)

    def _table(self, pending: int, services: list) -> Table:
        table = Table(title=t("tui.exports.pending", count=pending), expand=True,
                      title_justify="left")
        table.add_column(t("tui.exports.service"))
        table.add_column(t("tui.exports.command"))
        table.add_column(t("tui.exports.status"))
        for label, cmd, ok in services:
            table.add_row(t(label), cmd, Text(t("tui.exports.ready"), style="green") if ok
                          else Text(t("tui.exports.missing"), style="dim"))
        return table
