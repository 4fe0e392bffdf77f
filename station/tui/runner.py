"""The bridge between the UI thread and the session: one store thread, results as messages.

Every store read and write (log-in, session steps, dashboard queries) runs on one dedicated
thread, in the order the UI asked for them; the UI thread only submits and receives messages, so
it never waits on SQLite, Argon2 or the photo checks.
"""

from __future__ import annotations

import copy
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from station.errors import InputError, StationError
from station.i18n import both
from station.privacy import scrub
from station.tui.messages import DeskSnapshot, SessionChanged, SessionRefused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """Why a step was refused (zh, en) and, for bad input, which field."""

    words: tuple[str, str]
    field: str | None = None


class SessionRunner:
    """Owns the store thread, the store and (after log-in) the CaptureService."""

    def __init__(self, app: Any, open_store: Callable[[], Any]) -> None:
        self.app = app
        self._open_store = open_store
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="station-store")
        self.store: Any = None
        self.service: Any = None
        self._pending = 0
        self._lock = threading.Lock()
        self._closing = False

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._pending > 0

    def _track(self, fut: Future) -> Future:
        with self._lock:
            self._pending += 1

        def done(_f: Future) -> None:
            with self._lock:
                self._pending -= 1

        fut.add_done_callback(done)
        return fut

    def ensure_store(self) -> Any:
        """The open store (store thread only)."""
        if self.store is None:
            self.store = self._open_store()
        return self.store

    def step(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(service, ...)``; post SessionChanged after, or SessionRefused with the reason."""
        return self._track(self.executor.submit(self._step, fn, args, kwargs))

    def _step(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        try:
            result = fn(self.service, *args, **kwargs)
        except StationError as exc:
            # an input on the desk is named (the scan field); a file's name is the message's own
            labelled = isinstance(exc, InputError) and exc.location is not None and exc.location.label
            words = exc.located if isinstance(exc, InputError) and labelled else exc.messages
            self.app.post_message(SessionRefused(words, exc.key))
            return None
        except Exception as exc:  # an unexpected fault: words on screen, details in the log
            words, key = self._fault(exc, "session step failed")
            self.app.post_message(SessionRefused(words, key))
            return None
        self.app.post_message(SessionChanged(self.snapshot()))
        return result

    def call(self, fn: Callable[[Any], Any], on_result: Callable[[Any], None],
             on_error: Callable[[tuple[str, str]], None] | None = None) -> Future:
        """Run ``fn(store)`` on the store thread and hand the result to ``on_result`` on the UI
        (or the refusal's words, zh and en, to ``on_error``)."""

        def job() -> None:
            try:
                value = fn(self.ensure_store())
            except StationError as exc:
                self._to_ui(on_error or self._refused, exc.messages)
                return
            except Exception as exc:
                self._to_ui(on_error or self._refused, self._fault(exc, "store call failed")[0])
                return
            self._to_ui(on_result, value)

        return self._track(self.executor.submit(job))

    def attempt(self, fn: Callable[..., Any], on_done: Callable[[Any], None],
                on_error: Callable[[Refusal], None]) -> Future:
        """Like :meth:`step`, but a refusal goes to ``on_error`` (a form that stays open and
        says what is wrong, and in which field) instead of the desk; success posts
        SessionChanged as usual."""

        def job() -> None:
            try:
                value = fn(self.service)
            except StationError as exc:
                location = exc.location if isinstance(exc, InputError) else None
                field = location.field if location is not None else None
                self._to_ui(on_error, Refusal(exc.messages, field))
                return
            except Exception as exc:
                self._to_ui(on_error, Refusal(self._fault(exc, "session step failed")[0]))
                return
            self.app.post_message(SessionChanged(self.snapshot()))
            self._to_ui(on_done, value)

        return self._track(self.executor.submit(job))

    def _fault(self, exc: Exception, what: str) -> tuple[tuple[str, str], str]:
        """The words (zh, en) and key for an exception no step expected. A medium fault (the disk
        full, the data folder read-only or gone while a photo or a fact is written) is said as
        the CLI says it, naming the folder and what to do (nothing stored is lost; the step can
        be done again); anything else is a failed step, its traceback in the log."""
        from station.media import media_error

        store = self.store if self.store is not None else getattr(self.service, "store", None)
        medium = media_error(exc, getattr(store, "data_dir", None))
        if medium is not None:
            log.warning("%s: %s (%s)", what, medium.key, scrub(str(exc)))
            return medium.messages, medium.key
        log.exception(what)
        if isinstance(exc, OSError | sqlite3.Error):      # the OS's or SQLite's words, in Chinese too
            from station.reasons import of

            return both("tui.step_failed", error=of(exc)), "error"
        return both("tui.step_failed", error=scrub(f"{type(exc).__name__}: {exc}")), "error"

    def _refused(self, words: tuple[str, str]) -> None:
        self.app.post_message(SessionRefused(words))

    def _to_ui(self, fn: Callable[[Any], None], value: Any) -> None:
        """Run ``fn(value)`` on the UI thread and wait for it (the store thread's next job sees
        what it did). Not while the app closes: nobody is left to tell."""
        if self._closing:
            return
        try:
            self.app.call_from_thread(fn, value)
        except RuntimeError:                # the app has gone away
            pass
        except Exception:
            if not self._closing:           # a screen torn down under the answer: expected
                raise

    def snapshot(self) -> DeskSnapshot:
        """A copy of the service's visible state (store thread only)."""
        svc = self.service
        if svc is None:
            return DeskSnapshot("waiting_for_card", None, None)
        svc.refresh_counters()
        return DeskSnapshot(state=svc.state.value, person=copy.copy(svc.person),
                            counters=copy.copy(svc.counters), walk_in=svc.walk_in,
                            context=svc.context)

    def close(self) -> None:
        """Close the store on its thread, after the job on its way. Call it off the UI thread
        while the UI's loop runs (App.on_unmount): that job may be waiting for the UI."""
        self._closing = True

        def shut() -> None:
            if self.store is not None:
                self.store.close()
                self.store = None

        try:
            self.executor.submit(shut).result(timeout=10)
        except Exception:
            log.exception("closing the store failed")
        self.executor.shutdown(wait=True, cancel_futures=True)
