"""Private scratch space inside the data folder, cleaned up even after a process was killed.

Temporary copies of the database or of images (bundle snapshots, bundles being merged) hold
personal data, so they never go to the system temp dir or to the target medium: they live in
``<data-dir>/tmp/<purpose>-<pid>-<random>`` (0700 folders, 0600 files). A SIGKILL leaves the
folder behind; ``sweep`` removes every folder whose process is gone, and each command that uses
scratch space sweeps first, so leftovers last until the next run at most.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from station.paths import ensure_private_dir

SCRATCH_DIR = "tmp"


def scratch_root(data_dir: Path) -> Path:
    return Path(data_dir) / SCRATCH_DIR


def _owner_alive(name: str) -> bool:
    """True while the process named in ``<purpose>-<pid>-<random>`` may still be using it."""
    parts = name.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    return process_alive(int(parts[1]))


def process_alive(pid: int) -> bool:
    """True when a process ``pid`` runs on this machine (ours included)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # someone else's live process
        return True
    return True


def sweep(data_dir: Path) -> list[Path]:
    """Remove scratch folders left by processes that no longer run; returns what was removed."""
    root = scratch_root(data_dir)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for entry in sorted(root.iterdir()):
        if _owner_alive(entry.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


@contextmanager
def scratch_dir(data_dir: Path, purpose: str) -> Iterator[Path]:
    """A fresh private folder for one command's temporary files; removed when the block ends."""
    if not purpose.isidentifier():
        raise ValueError(f"scratch purpose must be a plain word, not {purpose!r}")
    root = ensure_private_dir(scratch_root(data_dir))
    sweep(data_dir)
    folder = root / f"{purpose}-{os.getpid()}-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 (e.g. before ``VACUUM INTO``, which needs it empty)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    return path
