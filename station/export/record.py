"""What a batch is made of, as plain data: the record the store keeps and the writer renders.

A ``BatchRecord`` holds everything needed to write the batch again byte for byte: its id, the
creation time (the only timestamp in the files), the profile, and per item the person fields as
they were when the batch was made plus the SHA-256 of the export JPEG. Rebuilding a batch by id is
rendering its stored record again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

# Stations run in China (UTC+8, no daylight saving); batch dates and times are local to it.
DEFAULT_UTC_OFFSET_HOURS = 8


@lru_cache(maxsize=8)
def local_zone(offset_hours: float = DEFAULT_UTC_OFFSET_HOURS) -> timezone:
    """The station's fixed offset (one object per offset: selection asks once per capture)."""
    return timezone(timedelta(hours=offset_hours))


def iso_local(ms: int, offset_hours: float = DEFAULT_UTC_OFFSET_HOURS) -> str:
    """Milliseconds since the epoch as local ISO time to the second, e.g. 2026-06-01T09:30:00+08:00."""
    return datetime.fromtimestamp(ms / 1000, tz=local_zone(offset_hours)).replace(microsecond=0).isoformat()


OVERRIDE_FIELDS = ("override_by", "override_reason")


@dataclass
class BatchItem:
    """One photo of a batch: who it is, which capture, which export JPEG (by hash)."""

    capture_id: str
    id_number: str
    name: str
    sha256: str
    student_no: str = ""
    department: str = ""
    gender: str = ""
    captured_at: str = ""
    kind: str = "new"               # "new" or "replacement"
    replaces_batch: str = ""        # the earlier batch this photo or record replaces
    identity_verified: bool = True
    capture_code: str = ""          # the student's 图像采集码 (code mode), opaque
    override_by: str = ""           # a supervisor accepted this photo over failed checks …
    override_reason: str = ""       # … for this reason (verify then reports, not fails, them)

    def to_json(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its deep copy costs a second per 3,000 items; values are flat.
        # The override fields only when set: a batch without overrides (or rebuilt from before
        # they existed) keeps the manifest bytes it always had.
        return {name: getattr(self, name) for name in self.__dataclass_fields__
                if name not in OVERRIDE_FIELDS or getattr(self, name)}

    @property
    def overridden(self) -> bool:
        """Accepted by a supervisor although the station's checks failed it."""
        return bool(self.override_by)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchItem:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Correction(BatchItem):
    """A change for a person whose photo the pipeline already has (CHSI takes no second photo).

    ``correction`` is ``photo`` (a newer photo was accepted: it travels in the corrections folder)
    or ``record`` (name, student number, … corrected: ``changes`` says what, old → new).
    ``replaces_batch`` is the batch that delivered the person's photo.
    """

    correction: str = "record"
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["changes"] = [dict(c) for c in self.changes]
        return data

    @property
    def has_photo(self) -> bool:
        return self.correction == "photo"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Correction:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Skipped:
    """A person of the selection who is not in the batch, and why (a message key of exports.toml)."""

    id_number: str
    name: str
    reason: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BatchRecord:
    batch_id: str
    created_ms: int
    profile: str
    school_code: str
    station_id: str
    items: list[BatchItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)
    utc_offset_hours: float = DEFAULT_UTC_OFFSET_HOURS
    corrections: list[Correction] = field(default_factory=list)
    fee_cents: int = 3000               # the full fee that made a person "paid" (settings.fee.cents)

    @property
    def created_at(self) -> str:
        return iso_local(self.created_ms, self.utc_offset_hours)

    @property
    def date(self) -> str:
        return self.created_at[:10].replace("-", "")

    def sorted_items(self, name_field: str = "id_number") -> list[BatchItem]:
        """The one order of a batch: by the field that names the file, then capture id."""
        return sorted(self.items, key=lambda i: (getattr(i, name_field) or "", i.capture_id))

    def sorted_corrections(self, name_field: str = "id_number") -> list[Correction]:
        return sorted(self.corrections, key=lambda i: (getattr(i, name_field) or "", i.capture_id))

    @property
    def empty(self) -> bool:
        return not self.items and not self.corrections

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id, "created_ms": self.created_ms, "profile": self.profile,
            "school_code": self.school_code, "station_id": self.station_id,
            "filters": self.filters, "utc_offset_hours": self.utc_offset_hours,
            "items": [i.to_json() for i in self.items],
            "skipped": [s.to_json() for s in self.skipped],
            "corrections": [c.to_json() for c in self.corrections], "fee_cents": self.fee_cents,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchRecord:
        return cls(
            batch_id=data["batch_id"], created_ms=int(data["created_ms"]), profile=data["profile"],
            school_code=data["school_code"], station_id=data["station_id"],
            items=[BatchItem.from_json(i) for i in data.get("items", [])],
            skipped=[Skipped(**s) for s in data.get("skipped", [])],
            filters=data.get("filters", {}),
            utc_offset_hours=data.get("utc_offset_hours", DEFAULT_UTC_OFFSET_HOURS),
            corrections=[Correction.from_json(c) for c in data.get("corrections", [])],
            fee_cents=int(data.get("fee_cents", 3000)),
        )
