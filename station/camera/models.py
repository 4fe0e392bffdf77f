"""Per-model tables (``drivers/cameras/*.toml``): station setting names → vendor widgets and values.

Vendors spell the same thing differently ("Memory card" vs "card"); keeping those spellings in
data files lets a technician add a camera body without touching code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from station.camera.errors import CameraError
from station.config import read_toml
from station.errors import InputError, Location


def tables_dir() -> Path:
    from station.paths import DRIVERS_DIR

    return DRIVERS_DIR / "cameras"


def _read(path: Path) -> dict:
    data = read_toml(path, "camera.bad_table")
    for section in ("settings", "values"):
        for name, entry in data.get(section, {}).items():
            if not isinstance(entry, dict):
                raise InputError("camera.bad_table", Location(str(path), field=f"{section}.{name}"),
                                 path=str(path), error=f"{section}.{name} must be a table")
    return data


def _matches(data: dict, manufacturer: str, model: str) -> bool:
    match = data.get("match", {})
    want_make = str(match.get("manufacturer", "")).lower()
    want_model = str(match.get("model", "")).lower()
    return want_make in manufacturer.lower() and want_model in model.lower()


def _specificity(data: dict) -> int:
    match = data.get("match", {})
    return bool(match.get("manufacturer")) + 2 * bool(match.get("model"))


@dataclass
class ModelTable:
    """The merged table for one camera: which widgets and spellings to try, in order."""

    widgets: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @classmethod
    def for_camera(cls, manufacturer: str, model: str, folder: Path | None = None) -> ModelTable:
        folder = folder or tables_dir()
        found = [(path, _read(path)) for path in sorted(folder.glob("*.toml"))]
        found = [(p, d) for p, d in found if _matches(d, manufacturer, model)]
        found.sort(key=lambda item: _specificity(item[1]))  # generic first, specific last
        table = cls()
        for path, data in found:
            table.sources.append(path.name)
            for name, entry in data.get("settings", {}).items():
                extra = [str(w) for w in entry.get("widgets", [])]
                table.widgets[name] = extra + [w for w in table.widgets.get(name, []) if w not in extra]
            for name, entry in data.get("values", {}).items():
                merged = table.values.setdefault(name, {})
                for station_value, spellings in entry.items():
                    spellings = [spellings] if isinstance(spellings, str) else list(spellings)
                    old = merged.get(str(station_value), [])
                    merged[str(station_value)] = [str(s) for s in spellings] + [s for s in old if s not in spellings]
        return table

    def widget_names(self, name: str) -> list[str]:
        return self.widgets.get(name, [name])

    def vendor_value(self, name: str, value: str, choices: tuple[str, ...] | list[str]) -> str:
        """The camera's spelling of ``value`` for setting ``name``; raises if not offered."""
        choices = [str(c) for c in choices]
        candidates = list(self.values.get(name, {}).get(str(value), [])) + [str(value)]
        for candidate in candidates:
            if not choices or candidate in choices:
                return candidate
        lowered = {c.lower(): c for c in choices}
        for candidate in candidates:
            if candidate.lower() in lowered:
                return lowered[candidate.lower()]
        raise CameraError("camera.setting_value", transient=False, name=name, value=value,
                          choices=", ".join(choices))

    def station_value(self, name: str, vendor_value: str) -> str | None:
        """The station's name for a vendor spelling, if the table has one."""
        for station_value, spellings in self.values.get(name, {}).items():
            if vendor_value in spellings:
                return station_value
        return None
