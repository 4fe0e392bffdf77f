"""The desk's one instruction for each state, in both languages: what the photographer does next.

Pure functions of the session's state and the person, so every prompt agrees with what the
identity panel shows (fee paid, address recorded, typed identity, failed checks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from station.i18n import Bilingual, Words, both

if TYPE_CHECKING:
    from station.session.model import CaptureResult, Person
    from station.tui.widgets.identity import DeskFacts

Prompt = tuple[tuple[str, str], str]      # (zh, en), level: info | ok | warn | fail


def desk_prompt(state: str, person: Person | None, facts: DeskFacts,
                last_done: object = None) -> Prompt:
    """The instruction for ``state`` with ``person`` at the desk."""
    yuan = facts.fee_yuan
    if state == "failsafe":       # with or without a student: no card is taken until it is back
        return both("tui.say.failsafe"), "fail"
    if state == "waiting_for_card" or person is None:
        if last_done is not None:
            return both("tui.say.next_student"), "info"
        return both("tui.say.tap_card"), "info"
    typed = person.source == "manual" and not facts.typed_exported
    needs_address = facts.walk_in and not person.mailing_address
    needs_code = facts.code_mode and not person.capture_code
    done = already_done(person)
    if state == "identified":
        if person.match.blocking and not person.override_by:
            return both("tui.say.blocked"), "fail"
        if done is not None and not (needs_address or needs_code):
            return both("tui.say.already_pay", done=done, yuan=yuan), "warn"
        if needs_address:
            return both("tui.say.pay_walk_in", yuan=yuan), "info"
        if needs_code:
            return both("tui.say.pay_and_code", yuan=yuan), "info"
        return both("tui.say.pay", yuan=yuan), "info"
    if state in ("fee_confirmed", "framing"):
        if needs_code:      # the service takes no photo before the code (code mode)
            return both("tui.say.code_first"), "warn"
        if done is not None:
            return both("tui.say.already_framing", done=done), "warn"
        return both("tui.say.framing"), "info"
    if state == "captured":
        result = person.capture
        if result is None or not result.passed:
            return failed_words(result), "fail"
        if needs_address:
            return both("tui.say.accept_needs_address"), "warn"
        if needs_code:
            return both("tui.say.accept_needs_code"), "warn"
        if typed:
            return both("tui.say.accept_typed"), "warn"
        if done is not None:      # a new accept replaces the photo accepted before
            return both("tui.say.already_accept", done=done), "warn"
        return both("tui.say.accept"), "ok"
    if state == "accepted":
        return (both("tui.say.done_typed"), "warn") if typed else (both("tui.say.done"), "ok")
    return ("", ""), "info"


def first_words(state: str, person: Person | None) -> tuple[str, str]:
    """What must happen first when a key does nothing in ``state`` (Space before the fee, A
    while framing): the step the desk is waiting for."""
    if state == "identified" and person is not None and person.match.blocking \
            and not person.override_by:
        return both("tui.say.blocked")
    key = {"waiting_for_card": "tui.first.card", "identified": "tui.first.pay",
           "fee_confirmed": "tui.first.capture", "framing": "tui.first.capture",
           "captured": "tui.first.decide", "accepted": "tui.first.done",
           "failsafe": "tui.say.failsafe"}.get(state, "tui.first.card")
    return both(key)


def already_done(person: Person) -> Bilingual | None:
    """The roster's "已于 … 采集并通过" for a student with an accepted photo already, or None."""
    if "already_captured" not in person.match.flags:
        return None
    details = person.match.details if isinstance(person.match.details, dict) else {}
    words = details.get("already_captured")
    if isinstance(words, dict) and words.get("zh") and words.get("en"):
        return Bilingual(str(words["zh"]), str(words["en"]))
    return Bilingual(*both("tui.say.already_done"))


def failed_words(result: CaptureResult | None) -> tuple[str, str]:
    """"The photo fails (clothing colour): ask the student to change into a non-blue top. Press R
    to retake": the failed checks named in words, and what the photographer does about the first
    one (its advice, the part of the check's message after the colon)."""
    failed = [c for c in result.checks if c.status == "fail"] if result is not None else []
    names = [c.name for c in failed]
    if result is not None and result.crop_error and not names:
        names = ["crop"]
    if not names:
        return both("tui.say.retake")
    checks = Words(tuple(f"checks.name.{name}" for name in names[:3]), ", ", "、")
    advice = (_advice(failed[0].message_zh, "："), _advice(failed[0].message_en, ": ")) \
        if failed else ("", "")
    if not all(advice):
        return both("tui.say.retake_because", checks=checks)
    return both("tui.say.retake_advice", checks=checks, advice=Bilingual(*advice))


def _advice(message: str, colon: str) -> str:
    """The action in a check's message ("Clothes too close to the backdrop (ΔE 3.1): ask the
    student to change into a non-blue top" → "ask the student …"); the message when it has none."""
    head, found, action = (message or "").partition(colon)
    return (action if found and action.strip() else head).strip().rstrip("。.")
