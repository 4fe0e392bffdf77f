"""Temporary copies of personal data stay inside the data folder and die with their process.

A bundle or a merge needs a temporary copy of the database (every ID number of the roster), an
export writes files before renaming them into place. Made in the wrong place, such a copy stays on
a USB stick or in /tmp when the process is killed. So:

- :func:`scratch_dir` gives a private folder ``<data-dir>/tmp/<purpose>-<pid>-<random>`` (0700
  folders, 0600 files), removed when the block ends;
- :func:`staged_output` gives a temporary name beside a file that must end up on another medium
  (the rename must stay on one file system) and registers it under ``<data-dir>/tmp/`` while it
  exists;
- :func:`sweep` / :func:`collect` remove what a killed process left: its scratch folders, its
  registered temporary outputs wherever they are, and (``collect``, run by every command that
  opens the store for writing) the temporary files of interrupted atomic writes
  (``station.fsio``) anywhere in the data folder.

Leftovers are recognised by the process id in their name (and, for atomic-write temporaries, its
start time), so a folder still used by a live process — the desk while a script runs — is never
touched.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from station.fsio import fsync_dir, token_alive
from station.paths import ensure_private_dir

SCRATCH_DIR = "tmp"
OUTPUT_SUFFIX = ".out"
# The owner token of station.fsio's temporary files: ".<name>.<pid>_<start>.<random>.tmp"
_FSIO_TMP = re.compile(r"^\..+\.(\d+_\d+)\.[^.]+\.tmp$")
# Scratch folders and output notes: "<purpose>-<pid>-<random>[.out]"
_OWNED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*-(\d+)-[0-9a-f]+(\.out)?$")
# Folders of versions before the scratch space (tempfile names in the data folder).
_LEGACY = re.compile(r"^\.(merge|bundle)-")
LEGACY_AGE_S = 3600


def scratch_root(data_dir: Path) -> Path:
    return Path(data_dir) / SCRATCH_DIR


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


@contextmanager
def staged_output(data_dir: Path, final: Path) -> Iterator[Path]:
    """A temporary path beside ``final``; renamed to ``final`` (and made durable) when the block
    ends normally, removed when it raises. Registered in the data folder meanwhile, so that the
    next run removes it if this process is killed before either."""
    from station.fsio import owner_token

    final = Path(final)
    root = ensure_private_dir(scratch_root(data_dir))
    token = secrets.token_hex(4)
    temp = final.with_name(f".{final.name}.{owner_token()}.{token}.tmp")
    note = root / f"output-{os.getpid()}-{token}{OUTPUT_SUFFIX}"
    note.write_text(str(temp.resolve()), encoding="utf-8")
    try:
        yield temp
        with temp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(temp, final)
        fsync_dir(final.parent)
    finally:
        with suppress(FileNotFoundError):
            temp.unlink()
        with suppress(FileNotFoundError):
            note.unlink()


@dataclass
class Collected:
    """What :func:`collect` removed (or :func:`leftovers` found): paths, for the log and fsck."""

    scratch: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.scratch or self.outputs or self.temp_files)


def sweep(data_dir: Path) -> list[Path]:
    """Remove the scratch folders and registered outputs of processes that no longer run."""
    found = _scan(Path(data_dir), remove=True, deep=False)
    return [Path(p) for p in (*found.scratch, *found.outputs)]


def leftovers(data_dir: Path) -> Collected:
    """What killed processes left behind (nothing is removed): for fsck."""
    return _scan(Path(data_dir), remove=False, deep=True)


def collect(data_dir: Path) -> Collected:
    """Remove what killed processes left behind; never touches a live process's files."""
    return _scan(Path(data_dir), remove=True, deep=True)


def due(data_dir: Path, task: str, every_s: float) -> bool:
    """True (and the time noted) when ``task`` last ran more than ``every_s`` seconds ago (the
    note is a hidden file in the data folder, so the scratch space stays empty when idle)."""
    marker = Path(data_dir) / f".{task}.last"
    try:
        if time.time() - marker.stat().st_mtime < every_s:
            return False
    except FileNotFoundError:
        pass
    try:
        marker.touch()
    except OSError:
        return False
    return True


def _scan(data_dir: Path, *, remove: bool, deep: bool) -> Collected:
    found = Collected()
    root = scratch_root(data_dir)
    if root.is_dir():
        for entry in sorted(root.iterdir()):
            if entry.name.startswith("."):               # markers (see ``due``)
                continue
            m = _OWNED.match(entry.name)
            if m and process_alive(int(m.group(1))):
                continue
            if m and m.group(2):                        # a registered output on another medium
                target = _read_note(entry)
                if target is not None and target.exists():
                    found.outputs.append(str(target))
                    if remove:
                        _remove(target)
                if remove:
                    _remove(entry)
                continue
            found.scratch.append(str(entry))
            if remove:
                _remove(entry)
    if not deep:
        return found
    for entry in _legacy_dirs(data_dir):
        found.scratch.append(str(entry))
        if remove:
            _remove(entry)
    for path in _fsio_temp_files(data_dir):
        found.temp_files.append(str(path))
        if remove:
            _remove(path)
    return found


def _read_note(note: Path) -> Path | None:
    try:
        text = note.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    path = Path(text)
    # Only ever a temporary file named by our own pattern: a forged note cannot delete anything else.
    return path if path.is_absolute() and _FSIO_TMP.match(path.name) else None


def _legacy_dirs(data_dir: Path) -> Iterator[Path]:
    if not data_dir.is_dir():
        return
    now = time.time()
    for entry in data_dir.iterdir():
        if _LEGACY.match(entry.name) and entry.is_dir():
            with suppress(OSError):
                if now - entry.stat().st_mtime > LEGACY_AGE_S:
                    yield entry


def _fsio_temp_files(data_dir: Path) -> Iterator[Path]:
    """Temporary files of interrupted atomic writes, in the data folder and its subfolders."""
    if not data_dir.is_dir():
        return
    for folder, dirs, files in os.walk(data_dir):
        dirs[:] = [d for d in dirs if d != SCRATCH_DIR]
        for name in files:
            m = _FSIO_TMP.match(name)
            if m and not token_alive(m.group(1)):
                yield Path(folder) / name


def _remove(path: Path) -> None:
    with suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
