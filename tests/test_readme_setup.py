"""The README's "Setting up a real station" block, run as it is written, on a fresh data folder.

The test supplies only the world around the commands: a home folder, the project's `.venv` where the
README's first line looks for it, the simulated camera and reader instead of real ones (settings
through the environment, as a station would use station.toml), and — for the one capture the
README takes "with the chair empty" — nobody in front of the simulated camera.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- readme-setup: begin -->", "<!-- readme-setup: end -->"


def setup_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "the README lost its set-up block markers"
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    return block.split("```bash\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_readme_setup_runs_literally_on_a_fresh_machine(tmp_path):
    script = setup_block()
    empty_capture = "station camera capture --out 空背景.jpg"
    assert empty_capture in script
    # the physical world: the chair is empty for that one frame
    script = script.replace(empty_capture, f"STATION__CAMERA__SIM_SCENE=empty {empty_capture}")
    venv = Path(sys.prefix)  # the environment running the tests is the project's .venv
    assert (venv / "bin" / "station").exists(), "run the tests from the project's virtualenv"
    (tmp_path / ".venv").symlink_to(venv)
    (tmp_path / "setup.sh").write_text(script, encoding="utf-8")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "STATION__CAMERA__DRIVER": "sim", "STATION__IDCARD__READER": "sim",
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run(["bash", "-euo", "pipefail", "setup.sh"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    data = tmp_path / "station-data"
    db = sqlite3.connect(data / "station.sqlite3")
    roles = dict(db.execute("SELECT name, role FROM operators"))
    assert roles == {"王主管": "supervisor", "李摄影": "photographer", "赵技术": "technician"}
    assert db.execute("SELECT COUNT(*) FROM schedule_slots").fetchone()[0] == 9
    assert db.execute("SELECT COUNT(*) FROM roster_current WHERE eligible").fetchone()[0] > 2000
    calibration = json.loads((data / "calibration.json").read_text())
    backdrop = calibration["chsi"]["backdrop_rgb"]
    # calibrated on the empty backdrop: the simulator's blue, not a person's colours
    assert backdrop and abs(backdrop[2] - 255) < 25 and abs(backdrop[1] - 197) < 25, backdrop
    assert "station.sqlite3" in os.listdir(data)


def test_readme_names_the_demo_operators_the_demo_creates():
    from station.sim import demo

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, pin in ((demo.DEMO_SUPERVISOR, demo.DEMO_SUPERVISOR_PIN),
                      (demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN)):
        assert f"“{name}”，PIN `{pin}`" in text and f"{name} with PIN `{pin}`" in text
