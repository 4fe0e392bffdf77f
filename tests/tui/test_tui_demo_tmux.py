"""`station demo` in a real terminal (tmux): tap a card, pay, capture, accept, quit; the
throw-away data folder is gone afterwards."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
SOCKET: list[Path] = []  # this module's own tmux server (see _own_tmux_server)


def tmux(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-S", str(SOCKET[0]), "-f", "/dev/null", *args], **kwargs)


@pytest.fixture(autouse=True, scope="module")
def _own_tmux_server(tmp_path_factory):
    """A tmux server of these tests' own, with no configuration: a developer's tmux (its options,
    its other sessions' sizes) or another test run's cannot change the terminal the station sees."""
    SOCKET[:] = [tmp_path_factory.mktemp("tmux") / "socket"]
    yield
    tmux("kill-server", capture_output=True)


def start(session: str, command: str, env: dict[str, str]) -> None:
    """``command`` in a detached 120×40 terminal named ``session``."""
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command, check=True, env=env)


def stop(session: str) -> None:
    tmux("kill-session", "-t", session, capture_output=True)


def pane(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session, capture_output=True, text=True,
                check=True).stdout


def wait_for(session: str, pattern: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = pane(session)
        if re.search(pattern, text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never appeared; the screen was:\n{text}")


def keys(session: str, *names: str) -> None:
    tmux("send-keys", "-t", session, *names, check=True)


def test_demo_in_tmux(tmp_path):
    session = f"station-demo-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    command = (f"cd {ROOT} && PYTHONPATH={ROOT} TMPDIR={tmp_path} {sys.executable} -m station "
               f"demo; echo EXITED $?; sleep 60")
    start(session, command, env)
    try:
        wait_for(session, r"刷卡（演示）", timeout=90)
        keys(session, "t")
        wait_for(session, r"名单内，可拍摄")
        screen = pane(session)
        assert not re.search(r"\d{17}[\dX]", screen), "a whole ID number is on screen"
        keys(session, "p")
        wait_for(session, r"微信交易单号")
        keys(session, "4", "2", "0", "0", "Enter")        # a scanner types digits and Enter
        wait_for(session, r"已缴费")
        wait_for(session, r"✓")                           # live checks are running
        keys(session, "Space")
        wait_for(session, r"本次\s+(合格|不合格)")         # the capture fills the centre
        screen = pane(session)
        passed = re.search(r"本次\s+合格", screen) is not None
        if passed:
            keys(session, "a")
            wait_for(session, r"完成！请下一位刷卡")
        keys(session, "l")
        wait_for(session, r"(Done|This photo|Accepted)")  # English at runtime
        keys(session, "C-q")
        if not passed:                                    # mid-student: the desk asks first
            wait_for(session, r"(Quit anyway|确定退出)")
            keys(session, "y")
        wait_for(session, r"EXITED 0", timeout=30)
    finally:
        stop(session)
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith("station-demo-")]
    assert leftovers == [], "the demo's throw-away data folder was not removed"


def test_run_with_the_virtual_reader_takes_a_card_from_the_emulator(tmp_path):
    """`station run --reader virtual`: t puts a roster card on the vpcd reader through the card
    emulator; the desk reads it through pcscd and pyscard like a real one."""
    from station.sim import demo

    data_dir = tmp_path / "data"
    demo.prepare(data_dir, people=2)
    session = f"station-virtual-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    command = (f"cd {ROOT} && PYTHONPATH={ROOT} {sys.executable} -m station --data-dir {data_dir} "
               f"run --camera sim --reader virtual; echo EXITED $?; sleep 60")
    start(session, command, env)
    try:
        wait_for(session, r"PIN", timeout=90)
        keys(session, demo.DEMO_PHOTOGRAPHER, "Enter")
        time.sleep(0.5)
        keys(session, demo.DEMO_PHOTOGRAPHER_PIN, "Enter")
        wait_for(session, r"刷卡（模拟）", timeout=90)      # the footer offers the test card
        keys(session, "t")
        screen = wait_for(session, r"身份证号\s+\d{3}\*+\d{3}[\dX]", timeout=90)
        assert "设备故障" not in screen
        keys(session, "C-q")
        if "EXITED" not in pane(session):
            time.sleep(1)
            if re.search(r"(确定退出|Quit anyway)", pane(session)):
                keys(session, "y")
        wait_for(session, r"EXITED 0", timeout=60)
    finally:
        stop(session)


def test_demo_in_code_mode_reads_the_code_the_student_holds_up(tmp_path):
    """`station demo --mode code`: the student holds up a phone with a QR code; v reads the
    图像采集码 from the live view and the identity panel shows its last six characters."""
    session = f"station-code-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    command = (f"cd {ROOT} && PYTHONPATH={ROOT} TMPDIR={tmp_path} {sys.executable} -m station "
               f"demo --mode code --people 2; echo EXITED $?; sleep 60")
    start(session, command, env)
    try:
        wait_for(session, r"刷卡（演示）", timeout=90)
        keys(session, "t")
        wait_for(session, r"采集码\s+未扫描")
        keys(session, "p")
        wait_for(session, r"微信交易单号")
        keys(session, "4", "2", "0", "0", "Enter")
        wait_for(session, r"已缴费")
        wait_for(session, r"✓")                           # live view and checks are running
        keys(session, "v")
        wait_for(session, r"采集码\s+…[A-Z0-9]{6}")        # read from the QR code on the phone
        keys(session, "C-q")
        wait_for(session, r"(Quit anyway|确定退出)")      # mid-student: the desk asks first
        keys(session, "y")
        wait_for(session, r"EXITED 0", timeout=30)
    finally:
        stop(session)
