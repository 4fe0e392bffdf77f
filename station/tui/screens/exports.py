"""Exports and sync: entry points for technicians and supervisors, or why they are not here yet.

A batch is built in a thread worker on its own store connection, so the UI and the store thread
stay free; progress arrives as replaceable messages and ``x`` (or leaving the screen) cancels the
worker, whose cancellation the export service sees as its cancel event.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import ProgressBar
from textual.worker import Worker, get_current_worker

from station.export.profile import profile_for_mode
from station.i18n import both, get_language, t
from station.privacy import scrub
from station.tui.screens._base import SideScreen
from station.tui.widgets.keybar import KeyBar

log = logging.getLogger(__name__)
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


class WorkerCancel(threading.Event):
    """The service's cancel event, also set by cancelling the Textual worker that runs it."""

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = worker

    def is_set(self) -> bool:
        return super().is_set() or self.worker.is_cancelled


class ExportsScreen(SideScreen):
    TITLE_KEY = "tui.exports.title"
    BINDINGS = [Binding("b", "build", show=False), Binding("x", "cancel_build", show=False)]
    KEYS = [("b", "tui.exports.build"), ("Esc", "tui.key.back"), ("l", "tui.key.lang")]
    BUILDING_KEYS = [("x", "tui.exports.cancel"), ("Esc", "tui.key.back"), ("l", "tui.key.lang")]
    DEFAULT_CSS = """
    #export-progress { display: none; height: 1; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.last: tuple[str, str] | None = None
        self.building = False
        self.cancelled = False

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, KeyBar):
                yield ProgressBar(id="export-progress", show_eta=False)
            yield widget

    def action_build(self) -> None:
        """Build a batch of every accepted, not yet exported photo into <data-dir>/exports."""
        if not _available("station.export.service"):
            return
        if self.building:
            self.last = both("tui.exports.busy")
            self.relabel()
            return
        self.building, self.cancelled, self.last = True, False, both("tui.exports.building")
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.query_one("#keys", KeyBar).set_keys(self.BUILDING_KEYS)
        self.relabel()
        throttle_s = self.app.settings.exports.throttle_ms / 1000
        exports = self.app.settings.exports
        profile = profile_for_mode(self.app.settings.session.mode, exports.profile, exports.batch_profile or None)
        fee_cents = self.app.settings.fee.cents
        self.run_worker(lambda: self._build(self.app.operator, self.app.options.data_dir, throttle_s,
                                            profile, fee_cents),
                        thread=True, group="export", exit_on_error=False)

    def action_cancel_build(self) -> None:
        """Cancel the running export; the service removes whatever it had written."""
        if self.building:
            self.workers.cancel_group(self, "export")

    def _build(self, op: Any, data_dir: Path, throttle_s: float,
               profile: str, fee_cents: int) -> None:  # worker thread
        """The whole export on its own store connection; always ends with ExportFinished."""
        from station.errors import StationError
        from station.export.profile import load_batch_profile
        from station.export.selection import Filters
        from station.export.service import build_batch
        from station.export.writer import ExportCancelled
        from station.store import open_store

        cancel = WorkerCancel(get_current_worker())
        words: tuple[str, str]
        cancelled = False
        store = None
        try:
            store = open_store(data_dir, migrate=False)
            store.operators.require(op, "export")
            def progress(done: int, total: int, _stage: str) -> None:
                self.post_message(ExportProgress(done, total))

            result = build_batch(store, load_batch_profile(profile), data_dir / "exports",
                                 Filters(fee_cents=fee_cents),
                                 operator=op.name, cancel=cancel, throttle_s=throttle_s,
                                 progress=progress)
            data = result.to_json()
            words = both("tui.exports.built", photos=data["photos"], path=data["path"] or "—")
        except ExportCancelled:
            words, cancelled = both("tui.exports.cancelled"), True
        except StationError as exc:
            words = exc.messages
        except Exception as exc:  # an unexpected fault: words on screen, details in the log
            log.exception("export failed")
            words = both("tui.step_failed", error=scrub(f"{type(exc).__name__}: {exc}"))
        finally:
            if store is not None:
                store.close()
        self.post_message(ExportFinished(words, cancelled))

    def on_export_progress(self, message: ExportProgress) -> None:
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=message.total, progress=message.done)

    def on_export_finished(self, message: ExportFinished) -> None:
        self.building, self.cancelled, self.last = False, message.cancelled, message.words
        self.query_one("#keys", KeyBar).set_keys(self.KEYS)
        self.action_reload()

    def load(self, store: Any) -> Any:
        pending = len(store.facts.accepted_captures(exported=False))
        return pending, [(label, cmd, _available(module)) for module, label, cmd in SERVICES]

    def render_body(self, data: Any) -> Any:
        pending, services = data
        if self.last:
            words = self.last[0] if get_language() == "zh" else self.last[1]
            return Group(Text(words, style="bold"), self._table(pending, services))
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
