"""Per-station calibration: the backdrop colour this camera actually sees and its sharpness baseline.

Measured from an empty-chair frame (backdrop) and a test subject (sharpness), stored as JSON in the
data dir so every check on this station compares with its own backdrop and lens, not a textbook one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from station.errors import InputError, Location
from station.fsio import atomic_write

FILE_NAME = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    profile: str
    backdrop_rgb: tuple[int, int, int]
    backdrop_lab: tuple[float, float, float]
    sharpness: float | None
    measured_at: str

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Calibration:
        return cls(profile=str(data["profile"]), backdrop_rgb=tuple(data["backdrop_rgb"]),
                   backdrop_lab=tuple(data["backdrop_lab"]), sharpness=data.get("sharpness"),
                   measured_at=str(data.get("measured_at", "")))


def calibration_path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def load_calibration(data_dir: Path, profile: str = "chsi") -> Calibration | None:
    """This station's calibration for ``profile``, or None if it was never calibrated."""
    path = calibration_path(data_dir)
    if not path.exists():
        return None
    try:
        entry = json.loads(path.read_text("utf-8")).get(profile)
        return Calibration.from_json(entry) if entry else None
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError("checks.calibration_invalid", Location(str(path), field=profile),
                         path=str(path), error=str(exc)) from None


def save_calibration(data_dir: Path, calibration: Calibration) -> Path:
    """Write atomically (temp file, fsync, rename, fsync dir), keeping other profiles' entries."""
    from station.paths import ensure_private_dir

    path = calibration_path(data_dir)
    ensure_private_dir(path.parent)
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text("utf-8"))
        except ValueError:
            data = {}
    data[calibration.profile] = calibration.to_json()
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))
    return path


def calibrate(empty, subject, profile) -> Calibration:
    """Measure the backdrop on an empty-chair frame and the sharpness of a test subject's face.

    An "empty" frame that shows a face is refused (``checks.calibration_empty_has_face``): a
    portrait given there (the two files swapped, or one file twice) would become the backdrop's
    blue, and every later check of a good photo would fail framing and backdrop colour."""
    import numpy as np

    from station.checks.framing import to_lab
    from station.checks.imageio import open_source
    from station.checks.pipeline import analyse

    found = analyse(empty, profile, None)
    if found.measurements is not None and found.measurements.face is not None:
        raise InputError("checks.calibration_empty_has_face", Location("--empty"), path=str(empty))
    src = open_source(empty)
    img = src.decode(_reduction_for(src.size))
    h, w = img.shape[:2]
    centre = img[int(h * 0.1):int(h * 0.9), int(w * 0.1):int(w * 0.9)]
    rgb = np.median(centre.reshape(-1, 3), axis=0)[::-1]
    lab = np.median(to_lab(centre).reshape(-1, 3), axis=0)
    sharp = None
    if subject is not None:
        result = analyse(subject, profile, None)
        if result.measurements is None or result.measurements.face is None:
            raise InputError("checks.calibration_no_face", Location(str(subject)), path=str(subject))
        sharp = float(result.measurements.values.get("sharpness", 0.0))
    r, g, b = (int(round(c)) for c in rgb)
    lab_l, lab_a, lab_b = (round(float(c), 2) for c in lab)
    return Calibration(profile=profile.name, backdrop_rgb=(r, g, b),
                       backdrop_lab=(lab_l, lab_a, lab_b), sharpness=sharp,
                       measured_at=datetime.now(UTC).isoformat(timespec="seconds"))


def _reduction_for(size: tuple[int, int]) -> int:
    for r in (8, 4, 2):
        if min(size) // r >= 480:
            return r
    return 1
