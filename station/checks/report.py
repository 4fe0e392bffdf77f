"""The result of checking one image: named checks with values, limits and advice in two languages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Which fix the photographer should make first when several checks fail (top instruction).
PRIORITY = ("readable", "face_count", "framing", "resolution", "face_width", "centring", "head_top",
            "eye_line", "roll", "facing", "second_person", "clothing_contrast", "exposure", "sharpness",
            "backdrop_shadow", "backdrop_colour", "backdrop_uniformity", "lighting", "glasses_glare", "glasses_tint", "eyes_open",
            "mouth_closed", "file_size")


@dataclass
class Check:
    name: str
    status: str  # "pass" | "warn" | "fail"
    value: Any
    limit: Any
    message_zh: str
    message_en: str

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "value": _round(self.value),
                "limit": _round(self.limit), "message_zh": self.message_zh,
                "message_en": self.message_en}


def top_instruction(checks: list[Check]) -> tuple[str, str] | None:
    """The single most important fix, (zh, en): first failure by priority, else first warning."""
    for status in ("fail", "warn"):
        hits = sorted((c for c in checks if c.status == status),
                      key=lambda c: PRIORITY.index(c.name) if c.name in PRIORITY else 99)
        if hits:
            return hits[0].message_zh, hits[0].message_en
    return None


@dataclass
class Report:
    image: str
    checks: list[Check]
    geometry: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.status != "fail" for c in self.checks)

    def status(self, name: str) -> str | None:
        for c in self.checks:
            if c.name == name:
                return c.status
        return None

    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.status == "fail"]

    def warned(self) -> list[str]:
        return [c.name for c in self.checks if c.status == "warn"]

    @property
    def top_instruction(self) -> tuple[str, str] | None:
        """The single most important fix, (zh, en): first failure by priority, else first warning."""
        return top_instruction(self.checks)

    def to_json(self) -> dict:
        return {"image": self.image, "passed": self.passed,
                "checks": [c.to_json() for c in self.checks],
                "geometry": _round(self.geometry), "elapsed_ms": round(self.elapsed_ms, 1)}


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(float(value), 3)
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value
