"""Shared test helpers. Area-specific fixtures live in each area's own conftest or module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def run_station_cmd(args: list[str], data_dir: Path | None = None, env: dict | None = None,
                    stdin: str | None = None, timeout: float = 120) -> Result:
    """Run `python -m station ARGS` as a real process, the way scripts use the contract."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    if data_dir is not None:
        full_env["STATION_DATA_DIR"] = str(data_dir)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "station", *args], cwd=ROOT, env=full_env,
                          input=stdin, capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def run_station(tmp_path):
    """Call the CLI in a subprocess with a private data dir (tmp_path/'data')."""
    data_dir = tmp_path / "data"

    def run(*args: str, env: dict | None = None, stdin: str | None = None, timeout: float = 120):
        return run_station_cmd(list(args), data_dir=data_dir, env=env, stdin=stdin, timeout=timeout)

    run.data_dir = data_dir
    return run
