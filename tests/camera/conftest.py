"""Camera test fixtures: a folder the virtual camera serves, a fresh interpreter for libgphoto2
(its port drivers are chosen from the environment when it loads them), and a thread-leak guard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def vcamera_dir(tmp_path) -> Path:
    """One JPEG, unique to this test, that every virtual capture must return byte for byte."""
    import cv2
    import numpy as np

    folder = tmp_path / "vcamera"
    folder.mkdir()
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
    img = np.full((480, 640, 3), (219, 142, 67), np.uint8)
    img[100:380, 200:440] = rng.integers(0, 255, (280, 240, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    (folder / "served.jpg").write_bytes(buf.tobytes())
    return folder


def run_python(code: str, env: dict | None = None, timeout: float = 60) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON document as its last line.

    libgphoto2 remembers some settings (the capture target) in $XDG_CONFIG_HOME/gphoto/settings:
    each run gets its own, so tests neither see nor leave such state.
    """
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("STATION") and k not in ("IOLIBS", "VCAMERADIR")}
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    with tempfile.TemporaryDirectory() as config_home:
        full_env.setdefault("XDG_CONFIG_HOME", config_home)
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                              env=full_env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def no_thread_leak():
    """Fails the test if it leaves a thread behind (every service must stop its owner)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra:
            return
        time.sleep(0.05)
    pytest.fail(f"threads leaked: {extra}")


def run_until(clock, done, step: float, limit: float) -> float:
    """Advance the manual clock in ``step``s (letting the owner thread finish each step) until
    ``done()``; returns the simulated seconds it took. No real-time tolerance involved."""
    start = clock.now()
    clock.settle()
    while not done():
        assert clock.now() - start < limit, "not done within the simulated time limit"
        clock.advance(step)
        clock.settle()
    return clock.now() - start
