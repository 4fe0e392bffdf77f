"""Matching a card to the campaign: roster entry, slot, eligibility, and what was already done.

The result carries flags for the desk — ``not_on_roster``, ``not_eligible``, ``wrong_slot``,
``already_captured`` (with when and where), ``name_mismatch`` — each with a message in both
languages; the session decides which ones stop the capture.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from station.domain.localtime import from_ms, local_naive, local_now
from station.i18n import both
from station.store.clock import HLC

if TYPE_CHECKING:
    from station.domain.identity import Identity
    from station.settings import RosterSection
    from station.store.core import Store
    from station.store.roster import RosterEntry, Slot

FLAGS = ("not_on_roster", "not_eligible", "wrong_slot", "already_captured", "name_mismatch")


@dataclass(frozen=True)
class Flag:
    code: str
    message_zh: str
    message_en: str
    details: dict = field(default_factory=dict)

    @classmethod
    def make(cls, code: str, key: str | None = None, details: dict | None = None, **params: Any) -> Flag:
        zh, en = both(key or f"match.{code}", **params)
        return cls(code, zh, en, details or {})

    def to_json(self) -> dict:
        return {"code": self.code, "message_zh": self.message_zh, "message_en": self.message_en,
                **({"details": self.details} if self.details else {})}


@dataclass
class Match:
    identity: Identity
    entry: RosterEntry | None
    slot: Slot | None              # the person's slot per the schedule
    running: list[Slot]            # slots running at ``now``
    flags: list[Flag]
    makeup_day: bool
    now: dt.datetime

    def has(self, code: str) -> bool:
        return any(f.code == code for f in self.flags)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.flags]

    @property
    def ok(self) -> bool:
        return not self.flags

    @property
    def department(self) -> str | None:
        return self.entry.department if self.entry else None

    @property
    def degree(self) -> str | None:
        return self.entry.degree if self.entry else None

    @property
    def eligible(self) -> bool:
        return bool(self.entry and self.entry.eligible)

    def flag(self, code: str) -> Flag | None:
        return next((f for f in self.flags if f.code == code), None)

    def to_json(self) -> dict:
        return {
            "id_number": self.identity.id_number, "name": self.identity.name,
            "on_roster": self.entry is not None,
            "entry": self.entry.to_json() if self.entry else None,
            "slot": self.slot.to_json() if self.slot else None,
            "running": [s.key for s in self.running], "eligible": self.eligible,
            "makeup_day": self.makeup_day, "flags": [f.to_json() for f in self.flags],
        }


# The separator in a minority name ("阿依古丽·买买提") as cards and offices write it: the card's
# U+00B7, or whichever look-alike an input method or a pasted Word text gave (• ・ ‧ ∙ ⋅ . …);
# NFKC folds only some of them, and a dot typed differently is no different name.
_NAME_DOTS = str.maketrans(dict.fromkeys("\u00b7\u2022\u30fb\u2027\u2219\u22c5\u0387\u2024.", ""))


# The card's name field holds 15 UCS-2 characters: a longer name is cut there on the card.
CARD_NAME_UNITS = 15
# What a card holds in place of a character its issuing system could not write: a private-use
# code point (GB 18030 user area) or a placeholder (after NFKC, so "？" is "?").
_PLACEHOLDERS = frozenset("?□■*\ufffd")  # U+FFFD: a character the card cut in half


def _norm_name(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split()).translate(_NAME_DOTS).lower()


def _stand_in(card_char: str, roster_char: str) -> bool:
    """Whether the card's character stands in for a rare roster character: a private-use code or
    a placeholder, for a character outside the BMP or outside GBK (𠈌, 䶮) — never for an ordinary
    character the card could have held."""
    if not ("\ue000" <= card_char <= "\uf8ff" or card_char in _PLACEHOLDERS):
        return False
    if ord(roster_char) > 0xFFFF:
        return True
    try:
        roster_char.encode("gbk")
    except UnicodeEncodeError:
        return True
    return False


def _agrees(card: str, roster: str) -> bool:
    """Same length, every character equal or a stand-in, and at least one really equal. Either
    side may hold the stand-in: GBK-era registry systems wrote rare characters in the PUA too."""
    pairs = list(zip(card, roster, strict=True))
    return (all(c == r or _stand_in(c, r) or _stand_in(r, c) for c, r in pairs)
            and any(c == r for c, r in pairs))


def _same_name(card: str, roster: str) -> bool:
    """Whether the card's name is the roster's name as that card can hold it.

    Spaces, case and the middle dot's look-alikes aside, the card may cut a name at 15 characters
    and write a rare character (生僻字) as a private-use code or a placeholder. Only those two:
    anything else is another name, and the desk stops (the ID number alone is not trusted)."""
    a, b = _norm_name(card), _norm_name(roster)
    if a == b:
        return True
    if len(card.encode("utf-16-le")) // 2 >= CARD_NAME_UNITS and len(b) > len(a):
        b = b[:len(a)]             # the card's field was full: the roster name cut as the card did
    return len(a) == len(b) and a != "" and _agrees(a, b)


def hlc_time(hlc: str) -> dt.datetime:
    """Local wall time of a hybrid clock stamp (for "already captured at …")."""
    return from_ms(HLC.decode(hlc).wall_ms)


def match(store: Store, identity: Identity, now: dt.datetime | None = None,
          settings: RosterSection | None = None, school: str | None = None) -> Match:
    """What the roster and the schedule say about ``identity`` at ``now`` (the station's own
    settings are read from its data dir unless ``settings`` are given). ``school``: match against
    that walk-in school's roster instead of the station's own (the schedule is the station's own
    school's, so no slot is looked for)."""
    if settings is None:
        from station.config import load_settings

        settings = load_settings(store.data_dir).roster
    now = local_naive(now) if now is not None else local_now()
    makeup = now.weekday() in set(settings.makeup_weekdays)
    entry = store.roster.get(identity.id_number, school=school)
    running = store.schedule.slot_at(now)
    flags: list[Flag] = []
    slot = None
    if entry is None:
        flags.append(Flag.make("not_on_roster"))
    else:
        if not entry.eligible:
            from station.roster.eligibility import Rules

            rules = Rules.from_settings(settings)
            reason_zh = rules.label(entry.eligibility_rule or "not_graduating", "zh")
            reason_en = rules.label(entry.eligibility_rule or "not_graduating", "en")
            zh, en = both("match.not_eligible", reason="{reason}")
            flags.append(Flag("not_eligible", zh.format(reason=reason_zh),
                              en.format(reason=reason_en), {"rule": entry.eligibility_rule}))
        if not _same_name(identity.name, entry.name):
            flags.append(Flag.make("name_mismatch", card=identity.name, roster=entry.name,
                                   details={"card": identity.name, "roster": entry.name}))
        slot = store.schedule.slot_for(entry.department, now) if school is None else None
        if school is None and not makeup and store.schedule.slots():
            if slot is None:
                flags.append(Flag.make("wrong_slot", "match.no_slot", department=entry.department))
            elif not slot.contains(now):
                flags.append(Flag.make("wrong_slot", details={"slot": slot.key},
                                       date=slot.date, start=slot.start, end=slot.end,
                                       campus=slot.campus, room=slot.room))
    state = store.person_state(identity.id_number)
    if state.accepted_capture_id:
        when = hlc_time(state.accepted_at or "").strftime("%Y-%m-%d %H:%M")
        flags.append(Flag.make("already_captured", when=when, station=state.accepted_station,
                               details={"capture_id": state.accepted_capture_id, "when": when,
                                        "station_id": state.accepted_station,
                                        "exported": state.exported}))
    return Match(identity, entry, slot, running, flags, makeup, now)
