"""One answer of `station doctor`, in both languages, and what every area's check receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from station.i18n import both

if TYPE_CHECKING:
    from station.config import SettingsError
    from station.settings import Settings

Status = Literal["pass", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skip")


@dataclass
class DoctorCheck:
    """One answer: area (store, camera, idcard…), name, status and a message in both languages."""

    area: str
    name: str
    status: Status
    message_zh: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_key(cls, area: str, name: str, status: Status, key: str,
                 details: dict[str, Any] | None = None, **params: Any) -> DoctorCheck:
        zh, en = both(key, **params)
        return cls(area, name, status, zh, en, details or {})

    def message(self, lang: str) -> str:
        return self.message_zh if lang == "zh" else self.message_en

    def to_json(self) -> dict[str, Any]:
        return {"area": self.area, "name": self.name, "status": self.status,
                "message_zh": self.message_zh, "message_en": self.message_en,
                "details": self.details}


@dataclass(frozen=True)
class DoctorContext:
    """What the checks look at: this station's data folder and its settings (the defaults when
    the configuration is broken: ``settings_error`` says why, and the settings check fails)."""

    data_dir: Path
    settings: Settings
    settings_error: SettingsError | None = None
