"""Exports and sync: entry points for technicians and supervisors.

A batch is built in a thread worker of its own, on a store connection of its own (opened and
closed in that thread, as `station export build` in another process would), through the export
service: the desk's store thread stays free, so a card read during an export is answered at
once. Progress arrives as replaceable messages and ``x`` (or leaving the screen) sets the cancel
event the service watches, which removes whatever it had written.

A batch is one school's. The screen lists, per school with accepted photos not yet exported, how
many there are (the station's own school first, then the walk-in schools of Friday make-ups), and
``s`` chooses the school the next batch is built for (``station export build --school-code``);
the station's own school until another is chosen.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import ProgressBar

from station.export.profile import profile_for_mode
from station.i18n import both, get_language, t
from station.privacy import scrub
from station.tui.screens._base import SideScreen
from station.tui.widgets.keybar import KeyBar

log = logging.getLogger(__name__)
SERVICES = (("tui.exports.build", "station export build --out DIR"),
            ("tui.exports.verify", "station export verify DIR"),
            ("tui.exports.report", "station report daily"),
            ("tui.exports.bundle", "station bundle create --out FILE"),
            ("tui.exports.merge", "station merge BUNDLE"))


class ExportProgress(Message):
    """How far the running export is (a newer one replaces it)."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ExportProgress)


class ExportFinished(Message):
    """The export thread has ended: what to say (zh, en) and whether it was cancelled."""

    def __init__(self, words: tuple[str, str], cancelled: bool = False) -> None:
        super().__init__()
        self.words = words
        self.cancelled = cancelled


def build_job(op: Any, out: Path, profile_name: str, fee_cents: int, throttle_s: float,
              cancel: threading.Event, post: Any, *, school_code: str | None = None,
              station_school: str | None = None) -> Any:
    """``job(store)`` for the export's thread: the whole export through the export service, ending
    with the words to show (zh, en) and whether it was cancelled; never raises. ``school_code``:
    the batch of that school's walk-ins (``--school-code``); None: the station's own school
    (``station_school``, the configured one, when the store does not say)."""

    def job(store: Any) -> tuple[tuple[str, str], bool]:
        from station.errors import StationError
        from station.export.profile import load_batch_profile
        from station.export.selection import Filters
        from station.export.service import build_batch
        from station.export.writer import ExportCancelled

        try:
            store.operators.require(op, "export")
            result = build_batch(store, load_batch_profile(profile_name), out,
                                 Filters(fee_cents=fee_cents, school_code=school_code),
                                 operator=op.name, school_code=station_school,
                                 cancel=cancel, throttle_s=throttle_s,
                                 progress=lambda done, total, _stage: post(
                                     ExportProgress(done, total)))
            return built_words(result.to_json(), school_code), False
        except ExportCancelled:
            return both("tui.exports.cancelled"), True
        except StationError as exc:
            return exc.messages, False
        except Exception as exc:  # an unexpected fault: words on screen, details in the log
            log.exception("export failed")
            return both("tui.step_failed", error=scrub(f"{type(exc).__name__}: {exc}")), False

    return job


def built_words(data: dict[str, Any], school_code: str | None) -> tuple[str, str]:
    """What a build did, as `station export build` says it (zh, en): the batch written (a walk-in
    school's named), or that none was; then the people of the selection left out — how many,
    each reason with its count (names and ID numbers are in the list beside the batch, masked)."""
    if not data["path"]:
        zh, en = both("exports.nothing")
    elif school_code is not None:         # a walk-in school's batch says whose it is
        zh, en = both("tui.exports.built_school", photos=data["photos"], school=school_code,
                      path=data["path"])
    else:
        zh, en = both("tui.exports.built", photos=data["photos"], path=data["path"])
    lines_zh, lines_en = [zh], [en]
    skipped = data["not_in_batch"]
    if skipped:
        zh, en = both("exports.not_in_batch", count=len(skipped))
        lines_zh.append(zh)
        lines_en.append(en)
        for (why_zh, why_en), count in Counter((s["message_zh"], s["message_en"])
                                               for s in skipped).items():
            lines_zh.append(f"  {why_zh}（{count}）")
            lines_en.append(f"  {why_en} ({count})")
        if data.get("report"):
            zh, en = both("exports.report_file", path=data["report"])
            lines_zh.append(zh)
            lines_en.append(en)
    return "\n".join(lines_zh), "\n".join(lines_en)


class ExportsScreen(SideScreen):
    TITLE_KEY = "tui.exports.title"
    BINDINGS = [Binding("b", "build", show=False), Binding("x", "cancel_build", show=False),
                Binding("s", "next_school", show=False)]
    KEYS = [("b", "tui.exports.build"), ("s", "tui.exports.school"), ("Esc", "tui.key.back"),
            ("l", "tui.key.lang")]
    BUILDING_KEYS = [("x", "tui.exports.cancel"), ("Esc", "tui.key.back"), ("l", "tui.key.lang")]
    DEFAULT_CSS = """
    #export-progress { display: none; height: 1; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.last: tuple[str, str] | None = None
        self.building = False
        self.cancelled = False
        self._cancel = threading.Event()
        self.school: str | None = None     # the school the next batch is for; None: the home school

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, KeyBar):
                yield ProgressBar(id="export-progress", show_eta=False)
            yield widget

    def action_build(self) -> None:
        """Build a batch of every accepted, not yet exported photo into <data-dir>/exports, in a
        thread worker on its own store connection, with progress and cancel."""
        if self.building:
            self.last = both("tui.exports.busy")
            self.relabel()
            return
        self.building, self.cancelled, self.last = True, False, both("tui.exports.building")
        self._cancel = threading.Event()
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.query_one("#keys", KeyBar).set_keys(self.BUILDING_KEYS)
        self.relabel()
        app = self.app
        throttle_s = app.settings.exports.throttle_ms / 1000
        exports = app.settings.exports
        profile = profile_for_mode(app.settings.session.mode, exports.profile,
                                   exports.batch_profile or None)
        school = self.chosen_school()
        job = build_job(app.operator, app.options.data_dir / "exports", profile,
                        app.settings.fee.cents, throttle_s, self._cancel, self.post_message,
                        school_code=None if school == self.home_school() else school,
                        station_school=app.settings.station.school_code)

        self._build_worker(job, app.options.data_dir)

    @work(thread=True, group="export", exclusive=True, exit_on_error=False)
    def _build_worker(self, job: Any, data_dir: Path) -> None:
        """The export on a connection only this thread uses (SQLite in WAL mode lets the desk's
        store thread read and write beside it); the words to show come back as a message."""
        from station.errors import StationError
        from station.store import open_store

        try:     # the app opened (and checked) this store already: no migration, no check
            store = open_store(data_dir, migrate=False, check=False)
        except StationError as exc:
            self.post_message(ExportFinished(exc.messages))
            return
        try:
            words = job(store)
        finally:
            store.close()
        self.post_message(ExportFinished(*words))

    def action_cancel_build(self) -> None:
        """Cancel the running export; the service removes whatever it had written."""
        if self.building:
            self._cancel.set()

    def action_back(self) -> None:
        """Esc: back to the desk; while a batch is being written, only once asked (leaving
        cancels it, and nothing would say so at the desk)."""
        if not self.building:
            super().action_back()
            return
        from station.tui.screens.dialogs import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if yes and self.is_current:
                super(ExportsScreen, self).action_back()

        self.app.push_screen(ConfirmDialog(t("tui.exports.leave_confirm"),
                                           "tui.exports.leave_hint"), answered)

    def on_unmount(self) -> None:
        if self.building:          # leaving the screen cancels, as x does: said, not silent
            self._cancel.set()
            self.app.notify(t("tui.exports.left_cancelled"), severity="warning")

    def on_export_progress(self, message: ExportProgress) -> None:
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=message.total, progress=message.done)

    def on_export_finished(self, message: ExportFinished) -> None:
        self.building, self.cancelled, self.last = False, message.cancelled, message.words
        bar = self.query_one("#export-progress", ProgressBar)
        if bar.total is None:      # never started counting (nothing to write): not left pulsing
            bar.display = False
        self.query_one("#keys", KeyBar).set_keys(self.KEYS)
        self.action_reload()

    def load(self, store: Any) -> dict[str, int]:
        """Accepted photos not yet exported, per school: the home school first (store thread)."""
        from station.store.people import unexported_by_school

        return unexported_by_school(store, store.meta("school_code")
                                    or self.app.settings.station.school_code)

    def home_school(self) -> str:
        """The station's own school: the first of the loaded counts."""
        if self.data:
            return str(next(iter(self.data)))
        return self.app.settings.station.school_code

    def schools(self) -> dict[str, int]:
        """The schools to choose from and their waiting photos: those loaded, and the chosen one
        even once its batch took every photo it had (0), so the screen still says whose it was."""
        schools = dict(self.data or {})
        if self.school is not None and self.school not in schools:
            schools[self.school] = 0
        return schools or {self.home_school(): 0}

    def chosen_school(self) -> str:
        return self.school if self.school is not None else self.home_school()

    def action_next_school(self) -> None:
        """s: the next school's batch (home school, then each walk-in school, then home again);
        not while a batch is being built."""
        if self.building:
            self.last = both("tui.exports.busy")
            self.relabel()
            return
        codes = list(self.schools())
        chosen = self.chosen_school()
        at = codes.index(chosen) if chosen in codes else -1
        after = codes[(at + 1) % len(codes)]
        self.school = None if after == self.home_school() else after
        self.relabel()

    def render_body(self, data: Any) -> Any:
        parts: list[Any] = []
        if self.last:
            parts.append(Text(self.last[0] if get_language() == "zh" else self.last[1],
                              style="bold"))
        parts += [self._schools(), self._table()]
        return Group(*parts)

    def _school_name(self, code: str) -> str:
        return self.app.settings.schools.get(code, "")

    def _schools(self) -> Table:
        """One row per school with photos waiting (the chosen one marked): what b exports."""
        schools, chosen, home = self.schools(), self.chosen_school(), self.home_school()
        table = Table(title=t("tui.exports.pending", count=sum(schools.values())), expand=True,
                      title_justify="left", caption=t("tui.exports.for_school", code=chosen,
                                                      name=self._school_name(chosen)),
                      caption_justify="left")
        table.add_column("", width=1, no_wrap=True)
        table.add_column(t("tui.field.school"), no_wrap=True)
        table.add_column(t("tui.label.school"), ratio=1)
        table.add_column(t("tui.exports.waiting"), justify="right", no_wrap=True)
        for code, count in schools.items():
            name = self._school_name(code)
            if code == home:
                name = t("tui.exports.home", name=name or code)
            mine = code == chosen
            table.add_row("▶" if mine else "", code, name, str(count),
                          style="reverse" if mine else "")
        return table

    def _table(self) -> Table:
        table = Table(expand=True)
        table.add_column(t("tui.exports.service"))
        table.add_column(t("tui.exports.command"))
        for label, cmd in SERVICES:
            table.add_row(t(label), cmd)
        return table
