"""The station's camera preset: settings re-applied after every (re)connect, saved in the data dir.

The configured ``[camera.preset]`` comes first; what an operator saved (``station camera settings
--set … --save``) overrides it. Stored as JSON, written atomically, private to the station user.
"""

from __future__ import annotations

import json
from pathlib import Path

from station import reasons
from station.errors import InputError, Location
from station.fsio import atomic_write as write_atomic

PRESET_FILE = "camera-preset.json"


def load_preset(data_dir: Path | None) -> dict[str, str]:
    if data_dir is None or not (Path(data_dir) / PRESET_FILE).is_file():
        return {}
    path = Path(data_dir) / PRESET_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError("common.bad_config", Location(str(path)), path=str(path), error=reasons.of(exc)) from None
    if not isinstance(data, dict):
        raise InputError("common.bad_config", Location(str(path)), path=str(path),
                         error="expected a JSON object of setting names to values")
    return {str(k): str(v) for k, v in data.items()}


def save_preset(data_dir: Path, preset: dict[str, str]) -> Path:
    text = json.dumps(dict(sorted(preset.items())), ensure_ascii=False, indent=2) + "\n"
    return write_atomic(Path(data_dir) / PRESET_FILE, text.encode("utf-8"))
