"""A normal (non-editable) wheel install works outside the checkout.

Build the wheel from a copy of the sources, install it with its dependencies into a fresh venv,
and run `station doctor` and `station check` from a folder that is not the checkout: the
installed package must find its own export profiles, drivers and model files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("station", "drivers", "exports", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")

pytestmark = pytest.mark.slow


def _tracked(folder: str) -> set[str]:
    """Files of the checkout below ``folder`` (git's list when there is one)."""
    try:
        out = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = [str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*") if p.is_file()
               and "__pycache__" not in p.parts]
    return {p for p in out if (ROOT / p).is_file()}


def _run(cmd: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STATION", "PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the fresh venv's bin folder, the wheel) — built once for this module."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                  str(base / "dist"), str(src)], cwd=base)
    assert built.returncode == 0, built.stderr
    wheel = next((base / "dist").glob("capture_station-*.whl"))
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    assert made.returncode == 0, made.stderr
    # --no-compile: byte-compiling every dependency is most of an install's time, and imports
    # compile what they need anyway
    pip = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile",
                str(wheel)], cwd=base)
    assert pip.returncode == 0, pip.stderr
    return venv / "bin", wheel


def test_the_wheel_carries_every_data_file(installed: tuple[Path, Path]) -> None:
    _bin, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {p for p in _tracked("station") if not p.endswith(".py")}
    wanted |= {f"station/_bundled/{p}" for p in _tracked("drivers") | _tracked("exports")}
    assert wanted and not wanted - names, sorted(wanted - names)


def test_doctor_and_check_run_from_an_installed_wheel(installed: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    bin_dir, _wheel = installed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([str(bin_dir / "python"), "-c",
                  "import json, station, station.paths as p; print(json.dumps("
                  "[station.__file__, str(p.DRIVERS_DIR), str(p.EXPORTS_DIR)]))"], cwd=elsewhere)
    assert where.returncode == 0, where.stderr
    package, drivers, exports = json.loads(where.stdout)
    venv = bin_dir.parent
    assert Path(package).is_relative_to(venv), package          # not the checkout
    assert (Path(exports) / "chsi.toml").is_file() and Path(drivers).is_relative_to(venv)

    data = tmp_path / "data"
    doctor = _run([str(bin_dir / "station"), "--data-dir", str(data), "--lang", "en", "doctor",
                   "--json"], cwd=elsewhere)
    answers = {(c["area"], c["name"]): c for c in json.loads(doctor.stdout)["checks"]}
    assert answers[("system", "packages")]["status"] == "pass", answers[("system", "packages")]
    assert answers[("checks", "profile")]["status"] == "pass", answers[("checks", "profile")]
    assert answers[("checks", "detector")]["status"] == "pass", answers[("checks", "detector")]

    import cv2

    from station.sim.portrait import render

    image = elsewhere / "portrait.jpg"
    cv2.imwrite(str(image), render(1200, 1600)[0])
    check = _run([str(bin_dir / "station"), "--data-dir", str(data), "check", str(image),
                  "--json"], cwd=elsewhere)
    assert check.returncode in (0, 1), check.stderr                 # 1 = a check said no
    result = json.loads(check.stdout)["results"][0]
    assert result["image"].endswith("portrait.jpg") and result["checks"], result
