"""Frame checks against an export profile (CHSI by default) and the export crop.

Heavy dependencies (numpy, OpenCV, onnxruntime) are imported inside the functions, so importing
this package is cheap and `station --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from station.checks.errors import CropError
from station.checks.profile import Profile, load_profile
from station.checks.report import Check, Report

if TYPE_CHECKING:
    from station.checks.calibration import Calibration


def check_image(source: Any, profile: Profile | str | None = None,
                calibration: Calibration | None = None, *, threads: int | None = None) -> Report:
    """Every check on a capture (path, bytes or BGR array), framed as the export would be.
    ``threads``: how many one capture's stages may use (None: two on two cores; 1: in turn)."""
    from station.checks.pipeline import check_image as run

    return run(source, profile, calibration, threads=threads)


def crop_image(source: Any, profile: Profile | str | None = None,
               calibration: Calibration | None = None, *, threads: int | None = None) -> bytes:
    """The export JPEG for a capture; raises CropError when it cannot meet the profile."""
    from station.checks.pipeline import crop_image as run

    return run(source, profile, calibration, threads=threads)


def check_and_crop(source: Any, profile: Profile | str | None = None,
                   calibration: Calibration | None = None, *,
                   threads: int | None = None) -> tuple[Report, bytes]:
    """Check and crop in one pass (what a capture needs); raises CropError if a check fails."""
    from station.checks.pipeline import check_and_crop as run

    return run(source, profile, calibration, threads=threads)


def __getattr__(name: str) -> Any:
    if name in ("LiveChecker", "LiveReport"):
        from station.checks import live

        return getattr(live, name)
    if name in ("Calibration", "load_calibration", "save_calibration", "calibrate"):
        from station.checks import calibration

        return getattr(calibration, name)
    raise AttributeError(name)


__all__ = ["Check", "CropError", "LiveChecker", "LiveReport", "Profile", "Report", "check_and_crop",
           "check_image", "crop_image", "load_profile"]
