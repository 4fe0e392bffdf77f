"""Build hook: ship drivers/ and exports/ inside the wheel.

The repository keeps them top-level (device profiles, system files and export profiles are not
Python code); a wheel carries them as ``station/_bundled/drivers`` and ``station/_bundled/exports``,
where ``station.paths`` finds them in an installed station.

Also the one C extension: the two-core JPEG decode (``station/checks/_splitjpeg.c``, see
``station/checks/splitjpeg.py``). It is optional: without a C compiler the build goes on and the
checks decode with libjpeg on one core. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import Extension, setup
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


SPLIT_JPEG = Extension(
    "station.checks._splitjpeg",
    ["station/checks/_splitjpeg.c"],
    extra_compile_args=["-O3", "-fno-math-errno", "-pthread", "-Wall", "-Wextra",
                        "-Wno-missing-field-initializers"],
    extra_link_args=["-pthread"],
    optional=True,
)

setup(cmdclass={"build_py": BuildWithProfiles}, ext_modules=[SPLIT_JPEG])
