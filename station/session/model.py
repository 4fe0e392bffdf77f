"""Plain data the session hands to its users (TUI, CLI, simulator): who is at the desk, what
the roster said, what the last capture's checks found, and the desk's counters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from station.domain.identity import Identity

# Roster flags that stop a person from being photographed unless a supervisor overrides.
BLOCKING_FLAGS = frozenset({"not_on_roster", "not_eligible"})


@dataclass
class MatchInfo:
    """What the roster and the schedule say about a person (see station.roster.match)."""

    flags: list[str] = field(default_factory=list)
    department: str | None = None
    degree: str | None = None
    student_no: str | None = None
    slot_id: str | None = None
    slot_label: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> list[str]:
        return [f for f in self.flags if f in BLOCKING_FLAGS]


@dataclass
class CheckLine:
    """One check of a report, in the shape of cli.md's check --json item."""

    name: str
    status: str  # pass | warn | fail
    value: Any = None
    limit: Any = None
    message_zh: str = ""
    message_en: str = ""


@dataclass
class CaptureResult:
    """A capture once stored and fully checked."""

    capture_id: str
    image_sha: str
    passed: bool
    checks: list[CheckLine]
    report: dict[str, Any]
    crop_sha: str | None = None
    crop_jpeg: bytes | None = field(default=None, repr=False)
    crop_error: str | None = None
    at: dt.datetime | None = None

    @property
    def failed(self) -> list[CheckLine]:
        return [c for c in self.checks if c.status == "fail"]


@dataclass
class Person:
    """The person currently at the desk."""

    identity: Identity
    card_read_id: str
    match: MatchInfo
    source: str = "card"  # card | manual
    school_code: str | None = None
    paid: bool = False
    payment_reference: str | None = None
    mailing_address: str | None = None
    override_by: str | None = None  # supervisor who let a blocked person through
    capture_code: str | None = None  # the student's 图像采集码 (code mode), checked, opaque
    capture: CaptureResult | None = None
    retakes: int = 0
    accepted: bool = False


@dataclass
class DeskCounters:
    """Counters shown on the desk: the slot's done/expected, retakes, throughput."""

    done: int = 0
    expected: int | None = None
    retakes: int = 0
    skipped: int = 0
    students_per_hour: float = 0.0
