"""Real media faults for tests and the fault harness: small tmpfs mounts (a full disk, a USB stick
that fills up) and read-only remounts. The tests run as root (CI does); where mounting is not
allowed, ``mount_problem()`` says why and the caller skips with that reason."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def mount_problem() -> str | None:
    """None when this process can mount a tmpfs; otherwise the reason it cannot."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    import tempfile

    probe = Path(tempfile.mkdtemp(prefix="mount-probe-"))
    try:
        r = _run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe))
        if r.returncode != 0:
            return f"mount -t tmpfs failed: {r.stderr.strip()}"
        _run("umount", str(probe))
        return None
    finally:
        probe.rmdir()


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """``path`` as a fresh tmpfs of ``size`` (e.g. "8m") for the duration of the block."""
    path.mkdir(parents=True, exist_ok=True)
    r = _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    if r.returncode != 0:
        raise RuntimeError(f"mount tmpfs on {path}: {r.stderr.strip()}")
    try:
        yield path
    finally:
        remount(path, read_only=False)
        _run("umount", "-l", str(path))


def remount(path: Path, *, read_only: bool) -> None:
    r = _run("mount", "-o", f"remount,{'ro' if read_only else 'rw'}", str(path))
    if r.returncode != 0:
        raise RuntimeError(f"remount {path}: {r.stderr.strip()}")


def fill(folder: Path, leave_bytes: int = 0) -> Path:
    """Fill the file system of ``folder`` up to ``leave_bytes`` free; returns the filler file."""
    filler = folder / "filler.bin"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with filler.open("wb") as fh:
        remaining = max(0, free - leave_bytes)
        block = b"\0" * (1 << 20)
        try:
            while remaining > 0:
                n = fh.write(block[:min(len(block), remaining)])
                remaining -= n
            fh.flush()
        except OSError:
            pass
    return filler


def kill_at_marker(proc: subprocess.Popen[bytes], marker: Path, point: str,
                   timeout: float = 240) -> None:
    """SIGKILL ``proc`` once it has written ``marker`` (it paused at fault point ``point``, see
    STATION_FAULT_PAUSE); the test fails if it exits or times out before getting there."""
    import signal
    import time

    import pytest

    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"never reached {point}: exit {proc.returncode}: {err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {point}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    if proc.stderr:
        proc.stderr.close()
