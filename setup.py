"""Build hook: ship drivers/ and exports/ inside the wheel.

The repository keeps them top-level (device profiles, system files and export profiles are not
Python code); a wheel carries them as ``station/_bundled/drivers`` and ``station/_bundled/exports``,
where ``station.paths`` finds them in an installed station. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("drivers", "exports")


class BuildWithProfiles(build_py):
    """``build_py`` plus the top-level declarative folders, copied below the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout
        here = Path(__file__).resolve().parent
        for name in BUNDLED:
            target = Path(self.build_lib) / "station" / "_bundled" / name
            shutil.copytree(here / name, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithProfiles})
