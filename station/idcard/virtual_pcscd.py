"""A pcscd of our own with vpcd readers: the real PC/SC stack for tests, benchmarks and demos.

Where the machine allows a private mount namespace (root, as in CI), pcscd runs in one with its
own socket directory bind-mounted over /run/pcscd and its own vpcd ports, so several users of
this module never share a reader, and the system's pcscd is left alone. Clients find it through
``PCSCLITE_CSOCK_NAME`` (set in this process by ``start``; pass it on to child processes).
Without a namespace, ``start`` returns None and callers fall back to the system pcscd.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

VPCD_PATHS = ("/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
              "/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
              "/usr/lib/x86_64-linux-gnu/pcsc/drivers/serial/libifdvpcd.so",
              "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so")
READER_NAME = "Station Virtual SAM"
SOCKET_ENV = "PCSCLITE_CSOCK_NAME"
SYSTEM_SOCKET = "/run/pcscd/pcscd.comm"


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the starting process dies (no orphaned pcscd)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG = 1


def vpcd_driver() -> str | None:
    return next((p for p in VPCD_PATHS if Path(p).exists()), None)


def free_port_pair() -> int:
    """A TCP port P with P+1 also free (vpcd opens two reader slots on consecutive ports)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 65000:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("0.0.0.0", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free TCP port pair for vpcd")


def wait_for_readers(timeout: float, proc: subprocess.Popen | None = None) -> list[str]:
    """Reader names once pcscd (the one ``PCSCLITE_CSOCK_NAME`` points at) lists any."""
    from smartcard import scard

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return []
        hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult == scard.SCARD_S_SUCCESS:
            hresult, readers = scard.SCardListReaders(ctx, [])
            scard.SCardReleaseContext(ctx)
            if hresult == scard.SCARD_S_SUCCESS and readers:
                return list(readers)
        time.sleep(0.05)
    return []


@dataclass
class VirtualPcscd:
    """A running private pcscd: its socket, the vpcd port of its first reader, reader names."""

    socket: str
    port: int
    readers: list[str]
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def env(self) -> dict[str, str]:
        """Environment for child processes that must talk to this pcscd."""
        return {SOCKET_ENV: self.socket}

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def start(base: Path, timeout: float = 10.0) -> VirtualPcscd | None:
    """Start a private pcscd under ``base`` (a fresh folder); None when this machine can't."""
    vpcd = vpcd_driver()
    if vpcd is None or not shutil.which("pcscd") or not shutil.which("unshare"):
        return None
    run_dir, conf_dir = base / "run", base / "reader.conf.d"
    run_dir.mkdir(parents=True, exist_ok=True)
    conf_dir.mkdir(parents=True, exist_ok=True)
    port = free_port_pair()
    (conf_dir / "vpcd").write_text(
        f'FRIENDLYNAME "{READER_NAME}"\nDEVICENAME   /dev/null:0x{port:04X}\n'
        f"LIBPATH      {vpcd}\nCHANNELID    0x{port:04X}\n")
    script = (f"mkdir -p /run/pcscd && mount --bind '{run_dir}' /run/pcscd && "
              f"exec pcscd -f -c '{conf_dir}'")
    with (base / "pcscd.log").open("wb") as log:
        proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_die_with_parent)
    server = VirtualPcscd(str(run_dir / "pcscd.comm"), port, [], proc)
    # libpcsclite remembers the socket name on first use: touch pyscard only once ours answers.
    if not socket_answers(server.socket, timeout, proc):
        server.stop()
        return None
    os.environ[SOCKET_ENV] = server.socket
    server.readers = wait_for_readers(timeout, proc)
    if not server.readers:
        server.stop()
        raise RuntimeError(f"pcscd started but lists no vpcd reader; see {base / 'pcscd.log'}")
    return server


def socket_answers(path: str, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """True once something accepts connections on the UNIX socket ``path``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(path)
                return True
            except OSError:
                pass
        time.sleep(0.05)
    return False
