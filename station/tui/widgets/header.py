"""The desk's header line: who is working, at which station, the time, and the slot running now."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text

from station.domain.localtime import local_naive
from station.i18n import t
from station.tui.widgets._base import StationWidget


class DeskHeader(StationWidget):
    """``operator（role） · station · HH:MM:SS`` on the left, the running slot (or what the day
    holds instead) on the right; the clock ticks on the UI thread, the slot comes with every
    session snapshot."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context: Any = None        # DeskContext from the service, or None before log-in

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

    def show(self, context: Any) -> None:
        self.context = context
        self.refresh()

    def relabel(self) -> None:
        self.refresh()

    def _now(self) -> dt.datetime:
        return local_naive(self.app.clock())

    def render(self) -> Any:
        op = self.app.operator
        context = self.context
        clock = Text(self._now().strftime("%H:%M:%S"), style="bold")
        right = slot_words(context, self.app.walk_in)
        width = self.size.width or 80
        station = context.station_id if context is not None else ""
        # the fullest left side that leaves room for the slot: drop the role, then the station
        for with_role, with_station in ((True, True), (False, True), (False, False)):
            left = Text(no_wrap=True)
            if op is not None:
                left.append(op.name, style="bold")
                if with_role:
                    left.append(t("tui.header.role", role=t(f"tui.role_one.{op.role}")),
                                style="dim")
                left.append("  ")
            if station and with_station:
                left.append(station + "  ")
            left.append_text(clock)
            if left.cell_len + right.cell_len + 2 <= width:
                break
        gap = max(2, width - left.cell_len - right.cell_len)
        line = Text.assemble(left, " " * gap, right, no_wrap=True, overflow="ellipsis")
        line.truncate(width, overflow="ellipsis")
        return line


def slot_words(context: Any, walk_in: Any = None) -> Text:
    """The running slot, in words ("本场 09:00–10:00 文汇楼1403"), or why there is none."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if walk_in is not None:
        text.append(t("tui.header.walk_in", code=walk_in.school_code, name=walk_in.school_name),
                    style="bold cyan")
        return text
    if context is None:
        return text
    state = context.slot_state
    if state == "running":
        rooms = " / ".join(f"{s.start}–{s.end} {s.room}" for s in context.running)
        text.append(t("tui.header.slot", slot=rooms), style="bold")
    elif state == "between" and context.upcoming is not None:
        up = context.upcoming
        text.append(t("tui.header.between", start=up.start, room=up.room), style="yellow")
    elif state == "none_today":     # slots on other days only: most likely the laptop's date
        text.append(t("tui.header.none_today", date=context.now.date().isoformat()),
                    style="bold yellow")
    else:
        text.append(t(f"tui.header.{state}"), style="yellow")
    return text
