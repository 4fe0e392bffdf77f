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


def media_error(exc: BaseException, default_folder: Path | None) -> MediaError | None:
    """The words for a medium fault, or None when ``exc`` is something else."""
    kind = kind_of(exc)
    if kind is None:
        return None
    folder = folder_of(exc, default_folder) if isinstance(exc, OSError) else default_folder
    return MediaError(f"media.{kind}", folder=str(folder or "?"))
