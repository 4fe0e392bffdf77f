"""Readers that disappear: pcscd stopping under a waiting read, a serial port unplugged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from station.idcard import ReaderGoneError, open_reader
from station.idcard.emulator import SerialSamServer, VirtualSam

ROOT = Path(__file__).resolve().parents[2]

# Runs in its own process: libpcsclite binds a process to one pcscd socket for good.
CHILD = r"""
import json, sys, tempfile, threading, time
from pathlib import Path
from station.errors import DeviceError
from station.idcard import open_reader, virtual_pcscd

server = virtual_pcscd.start(Path(tempfile.mkdtemp()))
if server is None:
    print(json.dumps({"skip": "no private pcscd"})); sys.exit(0)
reader = open_reader(f"pcsc:{server.readers[0]}")
threading.Timer(0.5, server.stop).start()
started = time.monotonic()
try:
    reader.read(timeout=120)
    out = {"error": None}
except DeviceError as exc:
    out = {"error": exc.key, "exit_code": exc.exit_code, "en": exc.messages[1]}
out["seconds"] = time.monotonic() - started
print(json.dumps(out))
"""


@pytest.mark.pcsc
def test_pcscd_stopping_under_a_waiting_read_is_reported(pcsc_env, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PCSCLITE_CSOCK_NAME", None)
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if "skip" in out:
        pytest.skip(out["skip"])
    assert out["error"] in ("idcard.no_pcscd", "idcard.reader_gone"), out
    assert out["exit_code"] == 3
    # Far below the read's 120 s: reported, not waited out (no tighter bound: the machine may be
    # loaded).
    assert out["seconds"] < 60, "a vanished service must be reported, not waited out"


def test_serial_port_unplugged_while_waiting():
    master, slave = os.openpty()
    server = SerialSamServer(master, VirtualSam()).start()
    reader = open_reader(f"serial:{os.ttyname(slave)}")
    os.close(slave)

    def unplug():
        server.stop()
        os.close(master)

    threading.Timer(0.2, unplug).start()
    started = time.monotonic()
    with pytest.raises(ReaderGoneError) as info:
        reader.read(timeout=120)
    assert time.monotonic() - started < 60      # reported, not waited out
    assert "serial" in info.value.messages[1].lower()
    reader.close()
