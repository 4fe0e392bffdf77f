"""Who may be photographed this campaign: rules from the settings (``roster.eligibility``).

The default encodes the reference notice; a school changes the rules in ``station.toml``, not in
code. The result says which rule made a person eligible, or why not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from station.settings import EligibilityRule, RosterSection


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    rule: str   # the matching rule's name, "earlier_uncaptured", "part_time" or "not_graduating"


class Rules:
    def __init__(self, rules: Iterable[EligibilityRule], modes: Iterable[str],
                 earlier_ok: bool) -> None:
        self.rules = list(rules)
        self._named = [(rule.name, tuple(rule.named().items())) for rule in self.rules]
        self.modes = set(modes)
        self.earlier_ok = earlier_ok

    @classmethod
    def from_settings(cls, roster: RosterSection) -> Rules:
        return cls(roster.eligibility, roster.eligible_study_modes,
                   roster.earlier_uncaptured_eligible)

    def label(self, rule: str, lang: str) -> str:
        for r in self.rules:
            if r.name == rule:
                return (r.label_zh if lang == "zh" else r.label_en) or rule
        from station.i18n import t

        return t(f"roster.rule.{rule}", lang)

    def judge(self, degree: str | None, entry_year: int | None, program_years: float | None,
              study_mode: str | None, earlier_uncaptured: bool) -> Verdict:
        if study_mode not in self.modes:
            return Verdict(False, "part_time")
        facts = {"degree": degree, "entry_year": entry_year, "program_years": program_years}
        for name, wanted in self._named:     # per roster row: the rules' keys read once
            if all(facts[k] == value for k, value in wanted):
                return Verdict(True, name)
        if earlier_uncaptured and self.earlier_ok:
            return Verdict(True, "earlier_uncaptured")
        return Verdict(False, "not_graduating")
