"""Review: what merges left for a supervisor to decide (conflicts, named in words, decided with
the option's number) and captures that need a second look (overrides, failed checks, undecided),
which a technician accepts or rejects with a reason, or corrects (the trail is kept). A person
outside the queue is found with / (student number, 图像采集码 or the ID number's last 4-6
characters), a walk-in of another school too (its code shown beside them): their captures are
then listed and judged the same way, until Esc."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Static

from station.i18n import get_language, t
from station.privacy import mask_free_text, mask_id, mask_name
from station.tui.screens._base import SideScreen
from station.tui.screens.dialogs import CorrectionDialog, ReasonDialog, SearchDialog

if TYPE_CHECKING:
    from station.store.core import Store
    from station.store.review import FoundPerson, ReviewItem
    from station.sync.conflicts import ConflictItem


@dataclass
class ReviewData:
    """What the screen lists: open merge conflicts first (for roles that may see them), then the
    captures; one cursor runs over both."""

    conflicts: list[ConflictItem] = field(default_factory=list)
    items: list[ReviewItem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.conflicts) + len(self.items)


def field_word(code: str) -> str:
    """A correctable field in words of the current language ("姓名", "birth date")."""
    key = f"session.field.{code}"
    text = t(key)
    return code if text == key else text


def shown_value(field: str, value: str | None) -> str:
    """A corrected value as the screen shows it: names and ID numbers masked, as everywhere on
    it (``station history --json`` has them in full), others as they are."""
    if not value:
        return "—"
    if field == "name":
        return mask_name(value)
    if field == "id_number":
        return mask_id(value)
    return value


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
    # priority: the scrolling body (focused) would take ↑↓ to scroll once the queue and its
    # pictures overflow the screen (80×24), and the cursor would stay where it was
    BINDINGS = [Binding("up,k", "move(-1)", show=False, priority=True),
                Binding("down,j", "move(1)", show=False, priority=True),
                Binding("a", "decide('accept')", show=False),
                Binding("x", "decide('reject')", show=False),
                Binding("e", "correct", show=False),
                Binding("slash", "search", show=False),
                *(Binding(str(n), f"choose('{n}')", show=False) for n in range(1, 10))]
    KEYS = [("↑↓", "tui.key.select"), ("a", "tui.key.accept"), ("x", "tui.key.reject"),
            ("e", "tui.key.correct"), ("/", "tui.key.search"), ("Esc", "tui.key.back"),
            ("l", "tui.key.lang")]
    CONFLICT_KEYS = [("↑↓", "tui.key.select"), ("1…", "tui.key.choose"), ("a", "tui.key.accept"),
                     ("x", "tui.key.reject"), ("e", "tui.key.correct"), ("/", "tui.key.search"),
                     ("Esc", "tui.key.back"), ("l", "tui.key.lang")]
    FOUND_KEYS = [("↑↓", "tui.key.select"), ("a", "tui.key.accept"), ("x", "tui.key.reject"),
                  ("e", "tui.key.correct"), ("/", "tui.key.search"),
                  ("Esc", "tui.key.back_queue"), ("l", "tui.key.lang")]

    def __init__(self) -> None:
        super().__init__()
        self.cursor = 0
        self.data: ReviewData | None = None
        self.refusal: tuple[str, str] | None = None    # the last key's refusal (zh, en)
        self.found: FoundPerson | None = None          # a person looked up (/): their captures
        self._shown: Any = None                        # what the body shows now

    def on_key(self) -> None:
        if self.refusal is not None:     # a new key: the last refusal is old news
            self.refusal = None
            self.relabel()

    def load(self, store: Store) -> ReviewData:
        from station.store.review import person_captures, review_queue
        from station.sync.conflicts import VIEW_ACTION, ConflictService

        if self.found is not None:          # a person looked up: their captures, again
            return ReviewData([], with_pictures(store, person_captures(store,
                                                                       self.found.id_number)))
        op = self.app.operator
        conflicts = ConflictService(store).items() if op is not None and op.can(VIEW_ACTION) else []
        return ReviewData(conflicts, with_pictures(store, review_queue(store)))

    def _loaded(self, data: Any) -> None:
        """The number keys are offered only while there are conflicts to choose for."""
        from station.tui.widgets.keybar import KeyBar

        keys = (self.FOUND_KEYS if self.found is not None
                else self.CONFLICT_KEYS if data.conflicts else self.KEYS)
        self.query_one("#keys", KeyBar).set_keys(keys)
        self.cursor = min(self.cursor, max(len(data) - 1, 0))
        super()._loaded(data)

    def relabel(self) -> None:
        super().relabel()
        if self.data is not None:
            self.call_after_refresh(self._cursor_in_view)

    def _cursor_in_view(self) -> None:
        """Scroll the body so the selected row (the reversed one) is on screen: the cursor may
        move below a long queue's visible part, or above it."""
        content = self.query_one("#side-content", Static)
        width = content.size.width
        if not width or self._shown is None:
            return
        console = self.app.console
        lines = console.render_lines(self._shown, console.options.update_width(width), pad=False)
        row = next((y for y, line in enumerate(lines)
                    if any(seg.style is not None and seg.style.reverse for seg in line)), None)
        if row is not None:
            self.query_one("#side-body", VerticalScroll).scroll_to_region(
                Region(0, row, width, 1), animate=False, immediate=True)

    def render_body(self, data: ReviewData) -> Any:
        self._shown = body = self._render_body(data)
        return body

    def _render_body(self, data: ReviewData) -> Any:
        body = self._body(data)
        found = self.found
        if found is not None:       # a walk-in of another school: that school's code beside them
            key = "tui.review.found_school" if found.school_code else "tui.review.found"
            body = Group(Text(t(key, name=mask_name(found.name) or "—", id=mask_id(found.id_number),
                                school=found.school_code, student_no=found.student_no or "—",
                                count=len(data.items)), style="bold"), body)
        if self.refusal is None:
            return body
        words = self.refusal[0] if get_language() == "zh" else self.refusal[1]
        return Group(Text(words, style="bold red"), body)

    def _body(self, data: ReviewData) -> Any:
        if self.cursor < len(data.conflicts):
            return Group(self._conflicts(data.conflicts), self._items(data.items, -1),
                         self._conflict_detail(data.conflicts[self.cursor]))
        return self._items(data.items, self.cursor - len(data.conflicts), data.conflicts)

    def _conflicts(self, conflicts: list[ConflictItem]) -> Any:
        """Merge conflicts in words: one line each, the selected one reversed."""
        table = Table(title=t("tui.review.conflicts", count=len(conflicts)), expand=True,
                      title_justify="left", show_header=False)
        table.add_column(no_wrap=False)
        lang = get_language()
        for i, item in enumerate(conflicts):
            table.add_row(item.text(lang), style="reverse" if i == self.cursor else "")
        return table

    def _conflict_detail(self, item: ConflictItem) -> Any:
        """The selected conflict's options, each with the number that chooses it."""
        lang = get_language()
        text = Text(t("tui.review.options") + "\n", style="bold")
        for option in item.options:
            text.append(f"  {option.key}) ", style="bold")
            text.append(option.text(lang) + "\n")
        return text

    def _items(self, items: list[ReviewItem], cursor: int,
               conflicts: list[ConflictItem] | None = None) -> Any:
        body = self._captures(items, cursor)
        if conflicts:
            return Group(self._conflicts(conflicts), body)
        return body

    def _captures(self, data: list[ReviewItem], cursor: int) -> Any:
        table = Table(expand=True)
        for key in ("tui.field.name", "tui.field.id_number", "tui.review.why",
                    "tui.review.decision", "tui.review.override"):
            table.add_column(t(key), no_wrap=True)
        for i, item in enumerate(data):
            style = "reverse" if i == cursor else ""
            table.add_row(mask_name(item.name), mask_id(item.id_number),
                          t(f"tui.review.{item.reason}"),
                          t(f"tui.review.{item.decision or 'none'}"), item.override_by or "—",
                          style=style)
        if not data:
            table.add_row(t("tui.review.empty"), "", "", "", "")
            return table
        if cursor < 0:          # the cursor is on a conflict
            return table
        item = data[min(cursor, len(data) - 1)]
        trail = Text(t("tui.review.trail") + "\n", style="bold")
        names = {item.name} | {c[k] for c in item.corrections if c["field"] == "name"
                               for k in ("old_value", "new_value")}
        for c in item.corrections:
            old, new = (shown_value(c["field"], c[k]) for k in ("old_value", "new_value"))
            trail.append(f"  {field_word(c['field'])}: {old} → {new}  ({mask_free_text(c['reason'], names)}; {c['operator']})\n")
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

    def _capture(self) -> ReviewItem | None:
        """The capture under the cursor (None when it is on a conflict or nothing is listed)."""
        data = self.data
        if data is None:
            return None
        index = self.cursor - len(data.conflicts)
        return data.items[index] if 0 <= index < len(data.items) else None

    def _on_conflict(self) -> bool:
        """A photo's key (a, x, e) with the cursor on a merge conflict: said, not ignored."""
        data = self.data
        if data is None or self.cursor >= len(data.conflicts):
            return False
        from station.i18n import both

        self._refused(both("tui.review.on_conflict"))
        return True

    def action_correct(self) -> None:
        if self._on_conflict():
            return
        item = self._capture()
        op = self.app.operator
        if item is None or op is None:
            return

        def entered(values: dict | None) -> None:
            if values is None:
                return
            from station.session.review import correct

            field = field_code(values["field"])
            self.app.runner.call(
                lambda store: correct(store, op, item, field, values["value"], values["reason"]),
                lambda _v: self.action_reload(), self._refused)

        self.app.push_screen(CorrectionDialog(), entered)

    def action_search(self) -> None:
        """/: a person outside the queue, by student number, 图像采集码 or the ID number's last
        4-6 characters (station.session.review.find); a refusal is said above the list."""
        op = self.app.operator
        if op is None:
            return

        def entered(query: str | None) -> None:
            if query is None:
                return
            from station.session.review import find

            def look(store: Store) -> tuple[FoundPerson, list[ReviewItem]]:
                person, items = find(store, op, query)
                return person, with_pictures(store, items)

            self.app.runner.call(look, self._found_person, self._refused)

        self.app.push_screen(SearchDialog(), entered)

    def _found_person(self, found: tuple[FoundPerson, list[ReviewItem]]) -> None:
        self.found, items = found
        self.cursor = 0
        self._loaded(ReviewData([], items))

    def action_back(self) -> None:
        """Esc: from a person looked up back to the queue; from the queue back to the desk."""
        if self.found is None:
            super().action_back()
            return
        self.found, self.cursor = None, 0
        self.action_reload()

    def action_move(self, delta: int) -> None:
        self.refusal = None      # a priority key: on_key does not see it, yet it is a new key
        if self.data:
            self.cursor = max(0, min(len(self.data) - 1, self.cursor + delta))
        self.relabel()

    def action_choose(self, key: str) -> None:
        """A supervisor settles the selected merge conflict with option ``key``, giving a reason
        (may be empty); the sync service records the decision and its effects as facts."""
        data, op = self.data, self.app.operator
        if data is None or op is None or self.cursor >= len(data.conflicts):
            return
        item = data.conflicts[self.cursor]
        option = next((o for o in item.options if o.key == key), None)
        if option is None:
            return
        from station.sync.conflicts import DECIDE_ACTION

        if not op.can(DECIDE_ACTION):     # refused now (audited), not after a reason is typed
            self.app.runner.call(lambda store: store.operators.require(op, DECIDE_ACTION),
                                 lambda _v: None, self._refused)
            return

        def reasoned(reason: str | None) -> None:
            if reason is None:
                return

            def decide(store: Store) -> None:
                from station.sync.conflicts import DECIDE_ACTION, ConflictService

                store.operators.require(op, DECIDE_ACTION)
                ConflictService(store).decide(item.id, key, op.name, reason or None)

            self.app.runner.call(decide, lambda _v: self.action_reload(), self._refused)

        choice = f"{key}) {option.text(get_language())}"     # what Enter decides, said first
        self.app.push_screen(ReasonDialog("tui.reason.decide", choice=choice), reasoned)

    def _refused(self, words: tuple[str, str]) -> None:
        """A refusal (a technician choosing, accepting a failed photo, a field that cannot be
        corrected) said here, where the key was pressed — never on the desk hidden below —
        above the list until the next key."""
        self.refusal = words
        self.relabel()

    def action_decide(self, decision: str) -> None:
        if self._on_conflict():
            return
        item = self._capture()
        op = self.app.operator
        if item is None or op is None:
            return

        def reasoned(reason: str | None) -> None:
            if reason is None:
                return

            from station.session.review import decide

            self.app.runner.call(lambda store: decide(store, op, item, decision, reason),
                                 lambda _v: self.action_reload(), self._refused)

        subject = t("tui.form.person", name=mask_name(item.name) or "—",
                    id=mask_id(item.id_number))
        self.app.push_screen(ReasonDialog(f"tui.reason.{decision}", subject), reasoned)


def with_pictures(store: Store, items: list[ReviewItem], limit: int = 30) -> list[ReviewItem]:
    """The first ``limit`` items with their export crops (store thread)."""
    from station.store.review import pictures_for

    for item in items[:limit]:
        item.pictures = pictures_for(store, item)
    return items
