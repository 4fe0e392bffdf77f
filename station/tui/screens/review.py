"""Review: captures that need a second look (overrides, failed checks, undecided); a technician
accepts or rejects with a reason, or corrects an identity field (the trail is kept)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding

from station.i18n import t
from station.privacy import mask_id, mask_name
from station.tui.screens._base import SideScreen
from station.tui.screens.dialogs import CorrectionDialog, ReasonDialog


def field_word(code: str) -> str:
    """A correctable field in words of the current language ("姓名", "birth date")."""
    key = f"session.field.{code}"
    text = t(key)
    return code if text == key else text


def field_code(typed: str) -> str:
    """The field a person typed, in either language or as its code; "name" when left empty."""
    from station.i18n import LANGUAGES
    from station.session.review import CORRECTABLE

    typed = typed.strip().lower()
    if not typed:
        return "name"
    for code in CORRECTABLE:
        if typed == code or typed in (t(f"session.field.{code}", lang).lower()
                                      for lang in LANGUAGES):
            return code
    return typed            # refused by the service, which names the fields it takes


class ReviewScreen(SideScreen):
    TITLE_KEY = "tui.review.title"
    BINDINGS = [Binding("up,k", "move(-1)", show=False), Binding("down,j", "move(1)", show=False),
                Binding("a", "decide('accept')", show=False),
                Binding("x", "decide('reject')", show=False),
                Binding("e", "correct", show=False)]
    KEYS = [("↑↓", "tui.key.select"), ("a", "tui.key.accept"), ("x", "tui.key.reject"),
            ("e", "tui.key.correct"), ("Esc", "tui.key.back"), ("l", "tui.key.lang")]

    def __init__(self) -> None:
        super().__init__()
        self.cursor = 0

    def load(self, store: Any) -> Any:
        from station.store.review import pictures_for, review_queue

        items = review_queue(store)
        for item in items[:30]:
            item.pictures = pictures_for(store, item)
        return items

    def render_body(self, data: Any) -> Any:
        table = Table(expand=True)
        for key in ("tui.field.name", "tui.field.id_number", "tui.review.why",
                    "tui.review.decision", "tui.review.override"):
            table.add_column(t(key), no_wrap=True)
        for i, item in enumerate(data):
            style = "reverse" if i == self.cursor else ""
            table.add_row(mask_name(item.name), mask_id(item.id_number),
                          t(f"tui.review.{item.reason}"),
                          t(f"tui.review.{item.decision or 'none'}"), item.override_by or "—",
                          style=style)
        if not data:
            table.add_row(t("tui.review.empty"), "", "", "", "")
            return table
        item = data[min(self.cursor, len(data) - 1)]
        trail = Text(t("tui.review.trail") + "\n", style="bold")
        for c in item.corrections:
            old = mask_name(c["old_value"]) if c["field"] == "name" else (c["old_value"] or "—")
            new = mask_name(c["new_value"]) if c["field"] == "name" else c["new_value"]
            trail.append(f"  {field_word(c['field'])}: {old} → {new}  ({c['reason']}; {c['operator']})\n")
        if not item.corrections:
            trail.append("  " + t("tui.review.no_corrections") + "\n", style="dim")
        return Group(table, self._side_by_side(item), trail)

    def _side_by_side(self, item: Any) -> Any:
        """This capture's export crop beside the person's previous one (when there is one)."""
        import cv2
        import numpy as np

        from station.tui.widgets.picture import CellPicture, picture_lines

        grid = Table.grid(padding=(0, 2))
        cells = []
        for i, (_cid, jpeg) in enumerate(item.pictures):
            img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            if img is None:
                continue
            label = t("tui.review.this_capture" if i == 0 else "tui.review.previous")
            cells.append(Group(Text(label, style="dim"), CellPicture(picture_lines(img, 20, 13), center=False)))
        if not cells:
            return Text("")
        for _ in cells:
            grid.add_column()
        grid.add_row(*cells)
        return grid

    def action_correct(self) -> None:
        if not self.data:
            return
        item = self.data[self.cursor]
        op = self.app.operator
        if op is None:
            return

        def entered(values: dict | None) -> None:
            if values is None:
                return
            from station.session.review import correct

            field = field_code(values["field"])
            self.app.runner.call(
                lambda store: correct(store, op, item, field, values["value"], values["reason"]),
                lambda _v: self.action_reload())

        self.app.push_screen(CorrectionDialog(), entered)

    def action_move(self, delta: int) -> None:
        if self.data:
            self.cursor = max(0, min(len(self.data) - 1, self.cursor + delta))
            self.relabel()

    def action_decide(self, decision: str) -> None:
        if not self.data:
            return
        item = self.data[self.cursor]
        op = self.app.operator
        if op is None:
            return

        def reasoned(reason: str | None) -> None:
            if reason is None:
                return

            from station.session.review import decide

            self.app.runner.call(lambda store: decide(store, op, item, decision, reason),
                                 lambda _v: self.action_reload())

        self.app.push_screen(ReasonDialog(), reasoned)
