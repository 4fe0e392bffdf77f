"""The session's thin adapters to the other areas: store facts, roster matching, photo checks.

Everything the session needs from the store, ``station.roster`` and ``station.checks`` goes
through here, so a change in one of those APIs is fixed in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from station.domain.identity import Identity
from station.session.model import CheckLine, MatchInfo
from station.store.dashboard import slot_done

if TYPE_CHECKING:
    from station.checks.calibration import Calibration
    from station.checks.pipeline import Analysis
    from station.checks.profile import Profile
    from station.settings import RosterSection
    from station.store.core import Store
    from station.store.roster import Slot

# ---------------------------------------------------------------- store facts + audit


class Recorder:
    """Writes the session's facts and audit entries into the store (insert-only).

    The store's ``record_*`` calls audit each fact themselves; session transitions and walk-in
    details go to the session's own fact tables (``session_events``, ``walk_ins``).
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def unit(self) -> AbstractContextManager[Store]:
        """One all-or-nothing unit of work: a step's facts and its transition commit together."""
        return self.store.transaction()

    def audit(self, op_name: str, action: str, subject: str | None,
              details: dict[str, Any]) -> None:
        self.store.audit.append(op_name, action, subject, details)

    def card_read(self, identity: Identity, source: str, operator: str) -> str:
        return self.store.facts.record_card_read(identity, reader=source, operator=operator)

    def payment(self, id_number: str, amount_cents: int, method: str, reference: str | None,
                operator: str) -> str:
        return self.store.facts.record_payment(id_number, amount_cents, method,
                                               reference=reference, operator=operator)

    def put_image(self, data: bytes) -> str:
        return self.store.images.put(data)

    def capture(self, id_number: str, image_sha: str, file_name: str, camera: dict[str, Any],
                operator: str, card_read_id: str | None, capture_code: str | None = None) -> str:
        return self.store.facts.record_capture(id_number, image_sha, source_name=file_name,
                                               camera=camera, card_read_id=card_read_id,
                                               operator=operator, capture_code=capture_code)

    def check_report(self, capture_id: str, report: dict[str, Any], passed: bool, operator: str) -> str:
        return self.store.facts.record_check(capture_id, report, passed, operator=operator)

    def acceptance(self, capture_id: str, decision: str, reason: str | None, operator: str,
                   override_by: str | None) -> str:
        return self.store.facts.record_acceptance(capture_id, decision, reason=reason,
                                                  override_by=override_by, operator=operator)

    def session_event(self, id_number: str | None, event: str, source: str, target: str,
                      operator: str, data: dict[str, Any]) -> str:
        return self.store.insert("session_events", {
            "id_number": id_number, "event": event, "from_state": source, "to_state": target,
            "operator": operator, "data": data})

    def walk_in(self, id_number: str, capture_id: str, school_code: str,
                mailing_address: str | None, operator: str) -> str:
        return self.store.insert("walk_ins", {
            "id_number": id_number, "capture_id": capture_id, "school_code": school_code,
            "mailing_address": mailing_address, "operator": operator})


# ---------------------------------------------------------------- roster

# How the session asks the roster about a person: (store, identity, now) → MatchInfo.
MatchFn = Callable[["Store", Identity, dt.datetime], MatchInfo]


def match(store: Store, identity: Identity, now: dt.datetime,
          settings: RosterSection | None = None, school: str | None = None) -> MatchInfo:
    """Roster and schedule facts about ``identity`` (station.roster.match), as MatchInfo;
    ``school``: against that walk-in school's own roster."""
    from station.roster.match import match as roster_match

    found = roster_match(store, identity, now, settings, school=school)
    entry, slot = found.entry, found.slot
    details: dict[str, Any] = {f.code: {"zh": f.message_zh, "en": f.message_en}
                               for f in found.flags}
    if slot is not None and slot.expected_count is not None:
        details["slot_expected"] = slot.expected_count
    if slot is not None and slot.departments:
        details["slot_done"] = slot_done(store, list(slot.departments))
    return MatchInfo(
        flags=found.codes,
        department=entry.department if entry else None,
        degree=entry.degree if entry else None,
        student_no=entry.student_no if entry else None,
        slot_id=slot.key if slot is not None else None,
        slot_label=_slot_label(slot),
        details=details,
    )


def _slot_label(slot: Slot | None) -> str | None:
    if slot is None:
        return None
    return " ".join(p for p in (slot.date, f"{slot.start}–{slot.end}", slot.room) if p)


# ---------------------------------------------------------------- checks


class PhotoChecker(Protocol):
    """What the session needs from the photo checks (tests substitute a marker checker)."""

    def check(self, data: bytes) -> tuple[bool, list[CheckLine], dict[str, Any]]: ...

    def crop(self, data: bytes) -> bytes: ...


class Checker:
    """Full-tier checks and the export crop for one profile."""

    def __init__(self, profile_name: str = "chsi", calibration: Calibration | None = None,
                 data_dir: Path | None = None, threads: int | None = None) -> None:
        self.profile_name = profile_name
        self.threads = threads
        self._calibration = calibration
        self.data_dir = data_dir
        self._profile: Profile | None = None
        self._loaded = calibration is not None or data_dir is None
        self._last: tuple[bytes, Analysis] | None = None

    @property
    def calibration(self) -> Calibration | None:
        """This station's backdrop/sharpness calibration (``station calibrate``), if any."""
        if not self._loaded and self.data_dir is not None:
            from station.checks.calibration import load_calibration

            self._calibration = load_calibration(self.data_dir, self.profile_name)
            self._loaded = True
        return self._calibration

    @property
    def profile(self) -> Profile:
        """The photo profile, loaded on first use (the desk opens before the first capture)."""
        if self._profile is None:
            from station.checks import load_profile

            self._profile = load_profile(self.profile_name)
        return self._profile

    def check(self, data: bytes) -> tuple[bool, list[CheckLine], dict[str, Any]]:
        """Every check on a capture, framed as the export would be (one analysis pass, kept
        for ``crop`` of the same bytes)."""
        from station.checks.pipeline import analyse

        # the export JPEG is started with the analysis (the desk crops right after)
        result = analyse(data, self.profile, self.calibration, threads=self.threads, encode=True)
        self._last = (data, result)
        as_json = result.report.to_json()
        lines = [CheckLine(name=c["name"], status=c["status"], value=c.get("value"),
                           limit=c.get("limit"), message_zh=c.get("message_zh", ""),
                           message_en=c.get("message_en", ""))
                 for c in as_json.get("checks", [])]
        return bool(as_json.get("passed")), lines, as_json

    def crop(self, data: bytes) -> bytes:
        """The export JPEG. Made even when a check fails (a supervisor may accept it anyway);
        CropError only when there is no face to frame."""
        from station.checks.errors import CropError

        if self._last is None or self._last[0] is not data:
            self.check(data)
        assert self._last is not None
        result = self._last[1]
        if result.frame is None:
            failed = ", ".join(result.report.failed()) or "readable"
            raise CropError("checks.cannot_crop", image=result.report.image, failed=failed)
        return result.export_jpeg(self.profile)


def paid_before(store: Store, id_number: str, fee_cents: int) -> bool:
    """Whether the full fee is already on record (a retake visit, or paid at another desk)."""
    return bool(store.person_state(id_number).paid(fee_cents))


def payment_reference_owner(store: Store, reference: str) -> str | None:
    """Whose payment already carries this transaction number (ID number), if anyone's."""
    return store.facts.payment_reference_owner(reference)


def capture_code_owner(store: Store, code: str, besides: str | None = None) -> str | None:
    """Who else (ID number, not ``besides``) holds this 图像采集码, if anyone: on an uploaded, the
    current accepted or a pending photo (``StoreFacts.capture_code_owner``)."""
    return store.facts.capture_code_owner(code, besides)
