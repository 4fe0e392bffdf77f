"""Who may be photographed this campaign: rules from configuration (``roster.eligibility``).

The default encodes the reference notice; a school changes the rules in ``station.toml``, not in
code. The result says which rule made a person eligible, or why not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from station.config import Config

RULE_KEYS = ("degree", "entry_year", "program_years")


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    rule: str   # the matching rule's name, "earlier_uncaptured", "part_time" or "not_graduating"


class Rules:
    def __init__(self, rules: list[dict[str, Any]], modes: list[str], earlier_ok: bool) -> None:
        self.rules = rules
        self.modes = set(modes)
        self.earlier_ok = earlier_ok

    @classmethod
    def from_config(cls, config: Config) -> Rules:
        return cls(list(config.get("roster.eligibility", []) or []),
                   list(config.get("roster.eligible_study_modes", ["full_time"])),
                   bool(config.get("roster.earlier_uncaptured_eligible", True)))

    def label(self, rule: str, lang: str) -> str:
        for r in self.rules:
            if r.get("name") == rule:
                return str(r.get(f"label_{lang}", rule))
        from station.i18n import t

        return t(f"roster.rule.{rule}", lang)

    def judge(self, degree: str | None, entry_year: int | None, program_years: float | None,
              study_mode: str | None, earlier_uncaptured: bool) -> Verdict:
        if study_mode not in self.modes:
            return Verdict(False, "part_time")
        facts = {"degree": degree, "entry_year": entry_year, "program_years": program_years}
        for rule in self.rules:
            if all(facts[k] == rule[k] for k in RULE_KEYS if k in rule):
                return Verdict(True, str(rule.get("name", "rule")))
        if earlier_uncaptured and self.earlier_ok:
            return Verdict(True, "earlier_uncaptured")
        return Verdict(False, "not_graduating")
