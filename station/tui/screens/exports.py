"""Exports and sync: entry points for technicians and supervisors, or why they are not here yet."""

from __future__ import annotations

import importlib.util
from typing import Any

from rich.table import Table
from rich.text import Text

from station.i18n import t
from station.tui.screens._base import SideScreen

SERVICES = (("station.export.batch", "tui.exports.build", "station export build --out DIR"),
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

    def load(self, store: Any) -> Any:
        pending = len(store.facts.accepted_captures(exported=False))
        return pending, [(label, cmd, _available(module)) for module, label, cmd in SERVICES]

    def render_body(self, data: Any) -> Any:
        pending, services = data
        table = Table(title=t("tui.exports.pending", count=pending), expand=True,
                      title_justify="left")
        table.add_column(t("tui.exports.service"))
        table.add_column(t("tui.exports.command"))
        table.add_column(t("tui.exports.status"))
        for label, cmd, ok in services:
            table.add_row(t(label), cmd, Text(t("tui.exports.ready"), style="green") if ok
                          else Text(t("tui.exports.missing"), style="dim"))
        return table
