"""Crash-safe file writing shared by every area: temp file, fsync, rename, fsync of the folder.

A power cut at any moment leaves either the old file or the new one, never half of one. Files
default to owner-only (0600): most of what the station writes is personal data. A temporary file
carries its writer's owner token (process id and start time) in its name, so the next run can
remove what a killed writer left without touching a live one's (station.store.scratch).
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def owner_token(pid: int | None = None) -> str:
    """``<pid>_<start time>`` of this (or that) process: names temporary files and folders."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}_{_start_time(pid) or 0}"


def token_alive(token: str) -> bool:
    """Whether the process that made ``token`` still runs (pid alive with the same start time)."""
    pid_text, _, start_text = token.partition("_")
    try:
        pid, start = int(pid_text), int(start_text or 0)
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _start_time(pid)
    return now is None or start == 0 or now == start


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_filesystem(path: Path) -> None:
    """Make every write and rename on the file system holding ``path`` durable, in one call.

    For many new files (a merge adopting hundreds of images) one ``syncfs`` costs what one fsync
    does, where a fsync per file and per folder costs hundreds. Falls back to ``sync``.
    """
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """A whole file's bytes in one open, fstat, read and close: no Python file object (an export
    reads thousands of photos on its copy threads, where each object's cost holds the GIL)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)     # a short read of a regular file means its end
        if len(data) <= size:
            return data
        parts = [data]                   # it grew meanwhile: read on to its end
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o600, *, make_parents: bool = True) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, nothing else.

    ``make_parents=False`` for a path a user gave (``--out``): a mistyped folder is an error to
    report, not a folder to create. A failure names ``path`` — never the temporary file beside it,
    which the user never heard of.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        if make_parents:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        elif not folder.is_dir():
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(folder))
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{owner_token()}.", suffix=".tmp",
                                   dir=folder)  # 0600 from birth
    except OSError as exc:
        raise _naming(exc, path) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from exc
        raise
    fsync_dir(folder)
    return path


def _naming(exc: OSError, path: Path) -> OSError:
    """The same error (type and errno, so a full disk is still told as one), naming ``path``."""
    if exc.filename == str(path) and exc.filename2 is None:
        return exc
    if exc.filename is not None and Path(exc.filename) == path.parent:
        return exc  # the folder itself is the problem: name the folder
    named = type(exc)(exc.errno, exc.strerror or str(exc), str(path))
    return named
