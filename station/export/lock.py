"""One export at a time per station: an advisory lock file in the data folder.

``export build`` (CLI or TUI) holds it from selection to the last byte of its batch, so a second
build waits and then selects only what the first did not take; it gives up after ``wait_s`` with
words naming the process that holds the lock. The kernel releases the lock when its holder dies
(even by SIGKILL): a crash never leaves the station locked. The store's own check at recording
time (``ExportLedger.record``) still refuses a writer that bypassed this lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from station.errors import RefusedError
from station.export.writer import ExportCancelled

LOCK_NAME = "export.lock"
POLL_S = 0.1


class ExportBusy(RefusedError):
    """Another export kept the lock longer than this one would wait."""


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as it wrote itself into the lock file."""

    pid: int | None
    since: str

    @classmethod
    def read(cls, fd: int) -> Holder:
        try:
            raw = os.pread(fd, 4096, 0)
            data = json.loads(raw.decode("utf-8")) if raw else {}
        except (OSError, ValueError):
            data = {}
        pid = data.get("pid") if isinstance(data, dict) else None
        since = data.get("since", "") if isinstance(data, dict) else ""
        return cls(pid if isinstance(pid, int) else None, str(since))


@contextlib.contextmanager
def export_lock(data_dir: Path, *, wait_s: float = 600.0, on_wait: Callable[[Holder], None] | None = None,
                cancel: threading.Event | None = None) -> Iterator[None]:
    """Hold the station's export lock for the ``with`` block (waiting up to ``wait_s``)."""
    path = Path(data_dir) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, wait_s, on_wait, cancel)
        try:
            stamp = json.dumps({"pid": os.getpid(), "since": datetime.now().astimezone().isoformat(
                timespec="seconds")}).encode("utf-8")
            os.ftruncate(fd, 0)
            os.pwrite(fd, stamp, 0)
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, wait_s: float, on_wait: Callable[[Holder], None] | None,
             cancel: threading.Event | None) -> None:
    deadline = time.monotonic() + max(0.0, wait_s)
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        holder = Holder.read(fd)
        if time.monotonic() >= deadline:
            raise ExportBusy("exports.busy", pid=holder.pid or "?", since=holder.since or "?")
        if not told and on_wait is not None:
            on_wait(holder)
            told = True
        if cancel is not None and cancel.is_set():
            raise ExportCancelled("exports.cancelled")
        time.sleep(POLL_S)
