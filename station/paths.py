"""Where the project's declarative files live and where a station keeps its data.

``drivers/`` (device profiles, udev rules, pcscd config) and ``exports/`` (export profiles) are
top-level folders of the repository. An installed wheel carries them as ``station/_bundled/…``
(see setup.py); a checkout (or an editable install) reads them beside the package. The
environment variables ``STATION_DRIVERS_DIR`` / ``STATION_EXPORTS_DIR`` point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = PACKAGE_DIR / "_bundled"


def shipped_dir(name: str) -> Path:
    """The folder ``name`` ("drivers" or "exports"): bundled in the wheel, else the checkout's."""
    bundled = BUNDLED_DIR / name
    return bundled if bundled.is_dir() else PACKAGE_DIR.parent / name


DRIVERS_DIR = Path(os.environ.get("STATION_DRIVERS_DIR") or shipped_dir("drivers"))
EXPORTS_DIR = Path(os.environ.get("STATION_EXPORTS_DIR") or shipped_dir("exports"))


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
