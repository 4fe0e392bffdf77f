"""Fixtures of the ID card tests: a real pcscd with vpcd readers, and a virtual card on them.

The session starts its own pcscd. Where the machine allows a private mount namespace (root in CI
and on the team's machines) it runs in one, with its own socket directory and its own vpcd ports,
so that several test runs at once never share a reader. Otherwise it uses the system's pcscd
(starting ``pcscd -f`` with the packaged vpcd config if none runs) and serialises test sessions
with a lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

VPCD_PATHS = ("/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
              "/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
              "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so")
SYSTEM_SOCKET = "/run/pcscd/pcscd.comm"
READER_NAME = "Station Virtual SAM"


@dataclass
class PcscEnv:
    socket: str
    port: int                    # vpcd port of the first virtual reader (the second is port + 1)
    readers: list[str]
    private: bool


def _free_port_pair() -> int:
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


def _wait_readers(deadline: float, proc: subprocess.Popen | None) -> list[str]:
    from smartcard import scard

    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return []
        hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult == scard.SCARD_S_SUCCESS:
            hresult, readers = scard.SCardListReaders(ctx, [])
            scard.SCardReleaseContext(ctx)
            if hresult == scard.SCARD_S_SUCCESS and readers:
                return list(readers)
        time.sleep(0.1)
    return []


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _start_private(base: Path, vpcd: str) -> tuple[subprocess.Popen, PcscEnv] | None:
    """pcscd in its own mount namespace: own /run/pcscd (bind-mounted) and own vpcd ports."""
    if not shutil.which("unshare"):
        return None
    run_dir, conf_dir = base / "run", base / "reader.conf.d"
    run_dir.mkdir()
    conf_dir.mkdir()
    port = _free_port_pair()
    (conf_dir / "vpcd").write_text(
        f'FRIENDLYNAME "{READER_NAME}"\nDEVICENAME   /dev/null:0x{port:04X}\n'
        f"LIBPATH      {vpcd}\nCHANNELID    0x{port:04X}\n")
    script = (f"mkdir -p /run/pcscd && mount --bind '{run_dir}' /run/pcscd && "
              f"exec pcscd -f -c '{conf_dir}'")
    log = (base / "pcscd.log").open("wb")
    proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    os.environ["PCSCLITE_CSOCK_NAME"] = str(run_dir / "pcscd.comm")
    readers = _wait_readers(time.monotonic() + 10, proc)
    if not readers:
        _stop(proc)
        del os.environ["PCSCLITE_CSOCK_NAME"]
        return None
    return proc, PcscEnv(str(run_dir / "pcscd.comm"), port, readers, True)


def _system_pcscd_alive() -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(SYSTEM_SOCKET)
            return True
        except OSError:
            return False


@pytest.fixture(scope="session")
def pcsc_env(tmp_path_factory):
    if not shutil.which("pcscd"):
        pytest.fail("pcscd is not installed: run scripts/setup-system.sh test "
                    "(apt-get install pcscd vsmartcard-vpcd)")
    vpcd = next((p for p in VPCD_PATHS if Path(p).exists()), None)
    if vpcd is None:
        pytest.fail("the vpcd driver is not installed: apt-get install vsmartcard-vpcd")
    base = tmp_path_factory.mktemp("pcscd")
    started = _start_private(base, vpcd)
    if started is not None:
        proc, env = started
        yield env
        _stop(proc)
        return
    # Shared system pcscd: one test session at a time on port 35963.
    with open("/tmp/station-idcard-vpcd.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = None
        if not _system_pcscd_alive():
            proc = subprocess.Popen(["pcscd", "-f"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
        readers = _wait_readers(time.monotonic() + 10, proc)
        if not any("Virtual PCD" in r or READER_NAME in r for r in readers):
            if proc is not None:
                _stop(proc)
            pytest.fail(f"pcscd shows no vpcd reader (readers: {readers}); "
                        "is /etc/reader.conf.d/vpcd installed?")
        try:
            yield PcscEnv(SYSTEM_SOCKET, 35963, readers, False)
        finally:
            if proc is not None:
                _stop(proc)


def wait_reader_state(reader: str, present: bool, timeout: float = 5.0) -> bool:
    """Block (via PC/SC events) until pcscd reports the reader with or without a card."""
    from smartcard import scard

    hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS
    try:
        states = [(reader, scard.SCARD_STATE_UNAWARE)]
        deadline = time.monotonic() + timeout
        wait = 0
        while True:
            hresult, states = scard.SCardGetStatusChange(ctx, wait, states)
            if hresult == scard.SCARD_S_SUCCESS:
                event = states[0][1]
                if bool(event & scard.SCARD_STATE_PRESENT) == present:
                    return True
                states = [(reader, event & ~scard.SCARD_STATE_CHANGED)]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait = int(remaining * 1000)
    finally:
        scard.SCardReleaseContext(ctx)


@pytest.fixture
def reader_state():
    """``reader_state(reader, present, timeout)``: wait for pcscd to report (no) card."""
    return wait_reader_state


@pytest.fixture
def vcard(pcsc_env):
    """The card side of the first virtual reader; the card is taken off after the test."""
    from station.idcard.vpcd_card import VpcdCard

    card = VpcdCard(port=pcsc_env.port, mute_seconds=2.0)
    yield card
    card.remove()
    with contextlib.suppress(Exception):
        wait_reader_state(pcsc_env.readers[0], present=False)


@pytest.fixture
def samples():
    from station.idcard.demo import sample_identities

    return sample_identities()
