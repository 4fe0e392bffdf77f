"""Where the project's declarative files live and where a station keeps its data."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DRIVERS_DIR = Path(os.environ.get("STATION_DRIVERS_DIR", PROJECT_ROOT / "drivers"))
EXPORTS_DIR = Path(os.environ.get("STATION_EXPORTS_DIR", PROJECT_ROOT / "exports"))


def default_data_dir() -> Path:
    """The platform's user data dir, unless STATION_DATA_DIR says otherwise."""
    env = os.environ.get("STATION_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("capture-station", appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create a folder readable only by its owner (personal data lives below it)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
