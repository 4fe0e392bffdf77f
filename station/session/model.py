"""Plain data the session hands to its users (TUI, CLI, simulator): who is at the desk, what
the roster said, what the last capture's checks found, and the desk's counters."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from station.domain.identity import Identity
from station.i18n import Bilingual

# Roster flags that stop a person from being photographed unless a supervisor overrides. A card
# whose name differs from the roster's under the same ID number is a roster typo or another
# person's number: a supervisor looks at the card before the photo (and any fee on record for
# that number) is put under the roster's name.
BLOCKING_FLAGS = frozenset({"not_on_roster", "not_eligible", "name_mismatch", "home_roster", "other_roster"})
# What a walk-in (Friday make-up) desk waives: being on the roster and coming in one's slot. What
# the roster says of a person on it (not eligible, another name, already photographed) still holds.
WALK_IN_WAIVED = frozenset({"not_on_roster", "wrong_slot"})


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

    def at_walk_in(self, school: str, home: str) -> MatchInfo:
        """The same facts as the walk-in desk of ``school`` sees them on a station of ``home``:
        ``walk_in`` first, the waived flags gone; a person on the roster (``home``'s list) at
        another school's desk is ``home_roster`` (their photo would go out under ``school``)."""
        flags = ["walk_in", *(f for f in self.flags if f not in WALK_IN_WAIVED)]
        details = {k: v for k, v in self.details.items() if k not in WALK_IN_WAIVED}
        if school != home and "not_on_roster" not in self.flags:
            from station.i18n import both

            zh, en = both("match.home_roster", home=home, school=school)
            flags.append("home_roster")
            details["home_roster"] = {"zh": zh, "en": en}
        return dataclasses.replace(self, flags=flags, details=details)

    def on_other_roster(self, other: str, school: str) -> MatchInfo:
        """A walk-in at ``school``'s desk whom no roster of that school (nor the station's own)
        holds, but ``other``'s roster imported here does: ``other_roster`` (a session mixing
        schools: their photo would go out in ``school``'s batch, past what ``other``'s roster
        says of them, in-service included)."""
        from station.i18n import both

        zh, en = both("match.other_roster", other=other, school=school)
        details = {**self.details, "other_roster": {"zh": zh, "en": en}}
        return dataclasses.replace(self, flags=[*self.flags, "other_roster"], details=details)


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
    crop_error: str | None = None      # why there is no export crop, in the station's language
    at: dt.datetime | None = None
    # the same reason in both languages (an error message built from it renders each its own)
    crop_problem: Bilingual | None = None

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


@dataclass
class SlotView:
    """A schedule slot as the desk shows it: when, where, who, how far along."""

    date: str
    start: str
    end: str
    room: str
    departments: list[str]
    expected: int | None
    done: int


@dataclass
class DeskContext:
    """What the desk's header says: the station, the time and the slot running now.

    ``slot_state``: ``running`` (``running`` holds the slots), ``between`` (``upcoming`` is the
    next slot today), ``finished`` (today's slots are over), ``none_today`` (slots on other days
    only), ``no_schedule`` (nothing imported)."""

    station_id: str
    now: dt.datetime                    # local time, naive
    slot_state: str
    running: list[SlotView] = field(default_factory=list)
    upcoming: SlotView | None = None

    @property
    def done(self) -> int:
        return sum(s.done for s in self.running)

    @property
    def expected(self) -> int | None:
        if not self.running or any(s.expected is None for s in self.running):
            return None
        return sum(s.expected or 0 for s in self.running)
