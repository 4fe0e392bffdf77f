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
import subprocess
from dataclasses import dataclass

import pytest


@dataclass
class PcscEnv:
    socket: str
    port: int                    # vpcd port of the first virtual reader (the second is port + 1)
    readers: list[str]
    private: bool


@pytest.fixture(scope="session")
def pcsc_env(tmp_path_factory):
    from station.idcard import virtual_pcscd as vp

    if not shutil.which("pcscd"):
        pytest.fail("pcscd is not installed: run scripts/setup-system.sh test "
                    "(apt-get install pcscd vsmartcard-vpcd)")
    if vp.vpcd_driver() is None:
        pytest.fail("the vpcd driver is not installed: apt-get install vsmartcard-vpcd")
    # STATION_TEST_SYSTEM_PCSCD=1 forces the shared path (to test it where namespaces work).
    server = None if os.environ.get("STATION_TEST_SYSTEM_PCSCD") else vp.start(
        tmp_path_factory.mktemp("pcscd"))
    if server is not None:
        yield PcscEnv(server.socket, server.port, server.readers, True)
        server.stop()
        return
    # Shared system pcscd: one test session at a time on vpcd's packaged port 35963.
    with open("/tmp/station-idcard-vpcd.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = None
        if not vp.socket_answers(vp.SYSTEM_SOCKET, 0.1):
            proc = subprocess.Popen(["pcscd", "-f"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            vp.socket_answers(vp.SYSTEM_SOCKET, 10, proc)
        readers = vp.wait_for_readers(10, proc)
        server = vp.VirtualPcscd(vp.SYSTEM_SOCKET, 35963, readers, proc)
        try:
            if not any("Virtual PCD" in r for r in readers):
                pytest.fail(f"pcscd shows no vpcd reader (readers: {readers}); "
                            "is /etc/reader.conf.d/vpcd installed?")
            readers.sort(key=lambda r: "Virtual PCD" not in r)
            yield PcscEnv(vp.SYSTEM_SOCKET, 35963, readers, False)
        finally:
            server.stop()


def wait_reader_state(reader: str, present: bool, timeout: float = 5.0) -> bool:
    """Block (via PC/SC events) until pcscd reports the reader with or without a card."""
    from station.idcard.readers.virtual import wait_for_card_state

    return wait_for_card_state(reader, present, timeout)


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
    from station.sim.identities import sample_identities

    return sample_identities()


class FakeClock:
    """Monotonic time that moves only when a reader sleeps between polls: a 10-second hold of a
    card on a polling reader runs in milliseconds, with every poll a real frame exchange."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds
        self.slept += seconds


@pytest.fixture
def fake_clock():
    return FakeClock()


def close_during_read(reader, read_timeout: float, join_timeout: float) -> list[Exception]:
    """Close ``reader`` while another thread waits in ``read``; the errors that read raised.
    The caller asserts the waiting thread was woken (a read that hung would fail the join)."""
    import threading
    import time

    errors: list[Exception] = []

    def wait() -> None:
        try:
            reader.read(timeout=read_timeout)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.3)                 # let it reach the wait; closing earlier is refused the same way
    reader.close()
    thread.join(timeout=join_timeout)
    assert not thread.is_alive(), "read() still waits after close()"
    return errors
