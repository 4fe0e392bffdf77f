"""The schedule dashboard: slots with progress bars (the running one marked), who is missing per
department, throughput."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from station.domain.localtime import local_naive
from station.i18n import t
from station.tui.screens._base import SideScreen


class ScheduleScreen(SideScreen):
    TITLE_KEY = "tui.schedule.title"

    def load(self, store: Any) -> Any:
        from station.store.dashboard import dashboard

        return dashboard(store)

    def render_body(self, data: Any) -> Any:
        narrow = self.size.width < 100
        now = local_naive(self.app.clock())
        slots = Table(title=t("tui.schedule.slots"), expand=True, title_justify="left")
        slots.add_column("", no_wrap=True, width=1)
        for key in ("tui.schedule.date", "tui.schedule.time", "tui.schedule.room"):
            slots.add_column(t(key), no_wrap=True)
        # a short heading where the table is narrow: the names below fold, never the heading
        slots.add_column(t("tui.schedule.departments_short" if narrow else "tui.schedule.departments"),
                         ratio=1, overflow="fold")
        slots.add_column(t("tui.schedule.progress"), no_wrap=True)
        slots.add_column(t("tui.schedule.done"), no_wrap=True, justify="right")
        for s in data.slots:
            total = max(s.expected, 1)
            running = s.date == now.date().isoformat() and s.start <= now.strftime("%H:%M") < s.end
            slots.add_row(Text("▶", style="bold green") if running else "", s.date[5:] if narrow
                          else s.date, f"{s.start}–{s.end}", s.room, "、".join(s.departments),
                          ProgressBar(total=total, completed=min(s.done, total),
                                      width=6 if narrow else 14),
                          f"{s.done}/{s.expected}", style="bold" if running else "")
        if not data.slots:
            slots.add_row("", t("tui.schedule.none"), "", "", "", "", "")
        missing = Table(title=t("tui.schedule.missing"), expand=True, title_justify="left")
        missing.add_column(t("tui.schedule.department"), no_wrap=True)
        missing.add_column(t("tui.schedule.count"), justify="right")
        missing.add_column(t("tui.schedule.people"))
        for dept, names in sorted(data.missing.items()):
            shown = "、".join(names[:8]) + (" …" if len(names) > 8 else "")
            missing.add_row(dept, str(len(names)), shown)
        chart = Text(t("tui.schedule.throughput") + "\n", style="bold")
        peak = max((n for _, n in data.per_hour), default=0)
        for hour, n in data.per_hour:
            bar = "█" * max(1, round(30 * n / peak)) if peak else ""
            chart.append(f"{hour}:00 {bar} {n}\n")
        if not data.per_hour:
            chart.append(t("tui.schedule.no_captures") + "\n", style="dim")
        totals = Text(t("tui.schedule.totals", accepted=data.accepted_total,
                        roster=data.roster_total))
        return Group(totals, slots, missing, chart)
