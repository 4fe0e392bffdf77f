"""Faults of the medium in words: a full disk, a read-only folder, a failing USB stick.

Every area writes files (the store, images, batches, bundles, logs). When the disk is full or a
folder is read-only the operator needs to know *which* folder and what to do — not a traceback,
not "bad input". ``media_error`` turns an ``OSError`` or an SQLite error into a
:class:`~station.errors.MediaError` (exit 3) naming the folder; the CLI calls it for anything that
reaches the top, so no command has to remember to. Stored data is never at risk from these
errors: writes are transactions and atomic renames, and a failed one leaves the old state.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from station.errors import MediaError

_KINDS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EFBIG: "full",
    errno.EROFS: "read_only",
    errno.EACCES: "denied",
    errno.EPERM: "denied",
    errno.EIO: "io",
    errno.ENXIO: "gone",
    errno.ENODEV: "gone",
}

# SQLite reports medium faults as text (the Python module drops the extended codes before 3.11's
# sqlite_errorname on some builds); these are its fixed messages.
_SQLITE_KINDS = (
    ("database or disk is full", "full"),
    ("attempt to write a readonly database", "read_only"),
    ("readonly database", "read_only"),
    ("unable to open database file", "denied"),
    ("disk i/o error", "io"),
)


def kind_of(exc: BaseException) -> str | None:
    """``full``, ``read_only``, ``denied``, ``io`` or ``gone`` when ``exc`` is a medium fault."""
    if isinstance(exc, OSError) and exc.errno in _KINDS:
        return _KINDS[exc.errno]
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        for needle, kind in _SQLITE_KINDS:
            if needle in text:
                return kind
    return None


def folder_of(exc: BaseException, default: Path | None) -> Path | None:
    """The folder the failing file lives in (or the folder itself), else ``default``."""
    name = getattr(exc, "filename", None)
    if isinstance(name, str | Path) and str(name):
        path = Path(name)
        return path if path.is_dir() else path.parent
    return default


def nearest_existing(path: Path) -> Path:
    """``path``, or the nearest of its parents that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _shows(kind: str, folder: Path) -> bool:
    """Whether ``folder``'s file system shows the fault now (full, or mounted read-only)."""
    try:
        st = os.statvfs(nearest_existing(folder))
    except OSError:
        return False
    if kind == "full":
        return st.f_bavail * st.f_frsize < 256 * 1024
    if kind == "read_only":
        return bool(st.f_flag & os.ST_RDONLY)
    return False


def media_error(exc: BaseException, default_folder: Path | None,
                candidates: tuple[Path, ...] = ()) -> MediaError | None:
    """The words for a medium fault, or None when ``exc`` is something else.

    The folder named is the failing file's when the error carries it; otherwise the first of
    ``candidates`` (e.g. an export's target, then the data folder) whose file system shows the
    fault — a write() on a full USB stick does not say which file it was."""
    kind = kind_of(exc)
    if kind is None:
        return None
    folder = folder_of(exc, None) if isinstance(exc, OSError) else None
    if folder is None:
        folder = next((c for c in candidates if _shows(kind, c)), default_folder)
    from station.reasons import of

    # the OS's or SQLite's own words go along (not in the sentence): --json shows them as "cause"
    return MediaError(f"media.{kind}", folder=str(folder or "?"), cause=of(exc))
