"""CaptureService: one desk's capture session over the store, the roster and the photo checks.

The TUI, ``station ingest`` and ``station simulate`` all drive a student through the same calls:
``identify`` → ``pay`` → ``capture`` → ``retake``/``accept`` → ``next``. Every step is a
transition of :class:`SessionMachine`, recorded as a store fact and an audit entry. Device work
(reading the card, taking the photo) is the caller's; this class gets the results.

Not thread-safe by design: the caller gives it one thread (the TUI's store worker).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from station.config import default_settings
from station.domain.identity import Identity
from station.domain.localtime import local_naive
from station.domain.schools import WalkIn
from station.errors import InputError, Location, RefusedError, StationError
from station.export.profile import BatchProfile, load_batch_profile, profile_for_mode
from station.i18n import Bilingual, Words, both, get_language
from station.privacy import mask_id, mask_name
from station.session.model import (
    CaptureResult,
    DeskContext,
    DeskCounters,
    MatchInfo,
    Person,
    SlotView,
)
from station.session.ports import (
    Checker,
    MatchFn,
    PhotoChecker,
    Recorder,
    capture_code_owner,
    paid_before,
    payment_reference_owner,
)
from station.session.ports import match as roster_match
from station.session.states import Event, SessionMachine, State, Transition
from station.store.dashboard import slot_done, slot_expected

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from station.settings import Settings
    from station.store.core import Store
    from station.store.operators import Operator


# The devices without which the desk cannot go on (failsafe until they are back): no photo can
# be taken without the camera. A card reader only brings the next card.
STOPS_THE_DESK = frozenset({"camera"})


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CaptureService:
    """The capture session of one desk, acting as ``operator`` (an authenticated Operator)."""

    def __init__(self, store: Store, operator: Operator, *, checker: PhotoChecker | None = None,
                 settings: Settings | None = None, walk_in: WalkIn | None = None,
                 clock: Callable[[], dt.datetime] = _utcnow, recorder: Recorder | None = None,
                 match: MatchFn | None = None) -> None:
        self.store = store
        self.operator = operator
        self.settings = settings if settings is not None else default_settings()
        self.checker: PhotoChecker = checker or Checker(
            self.settings.exports.profile, data_dir=store.data_dir,
            threads=self.settings.session.check_threads)
        self.walk_in = walk_in
        self.clock = clock
        self.recorder = recorder or Recorder(store)
        roster = self.settings.roster
        self._match: MatchFn = match or (
            lambda store, identity, now: roster_match(store, identity, now, roster))
        self.fee_cents = self.settings.fee.cents
        self.payment_method = self.settings.session.payment_method
        self.mode = self.settings.session.mode
        self._batch_profile_name = profile_for_mode(self.mode, self.settings.exports.profile,
                                                    self.settings.exports.batch_profile or None)
        self._batch_profile: BatchProfile | None = None
        self.machine = SessionMachine(clock)
        self.machine.listeners.append(self._record_transition)
        self.person: Person | None = None
        self.counters = DeskCounters()
        self.context: DeskContext | None = None
        self._accepted_at: list[dt.datetime] = []
        self._started = clock()
        self._down: dict[str, str] = {}      # devices of STOPS_THE_DESK out now → the reason

    # ------------------------------------------------------------ properties

    @property
    def state(self) -> State:
        return self.machine.state

    @property
    def needs_capture_code(self) -> bool:
        """Code mode: every capture needs the student's 图像采集码 before it is taken."""
        return self.mode == "code"

    @property
    def op_name(self) -> str:
        return self.operator.name

    # ------------------------------------------------------------ steps

    def identify(self, identity: Identity, *, source: str = "card",
                 approved_by: Operator | None = None) -> Person:
        """A card was read (or, with a supervisor's approval, typed): match it to the roster.
        Only ``source="card"`` records the identity as read from a card (verified); anything
        else (manual entry, a file given to ``ingest``) is recorded as typed. The card of the
        person at the desk read again changes nothing; another card is refused while a photo
        waits for its decision or the paid student is being framed (S skips them first)."""
        if source == "manual":
            _require_supervisor(approved_by, "session.manual_entry")
        identity = dataclasses.replace(identity, source="card" if source == "card" else "typed")
        if self.state is State.FAILSAFE:
            raise RefusedError("session.bad_transition", event=Words(("session.event.card",)),
                               state=Words((f"session.state.{self.state.value}",)))
        if self.state is State.CAPTURED and self.person is not None:
            # a photo on screen waits for its decision: an early tap must not drop it unseen
            raise RefusedError("session.decide_first", name=mask_name(self.person.identity.name))
        here = self.person
        if here is not None and self.state in (State.IDENTIFIED, State.PAID, State.FRAMING):
            if source == "card" and here.source == "card" \
                    and here.identity.id_number == identity.id_number:
                return here     # the same card again (tapped twice): nothing changes
            if self.state is State.FRAMING:
                # the paid student is in front of the camera: the next student's tap must not
                # put their name on this student's photo (a paid card went straight to framing)
                raise RefusedError("session.photographing", name=mask_name(here.identity.name))
        if self.state in (State.IDENTIFIED, State.PAID, State.FRAMING):
            self.skip(reason="next_card")
        now = self.clock()
        info = self._walk_in_match(identity, now) or self._match(self.store, identity, now)
        with self.recorder.unit():
            read_id = self.recorder.card_read(identity, source, self.op_name)
            if approved_by is not None:
                self.recorder.audit(approved_by.name, "session.manual_entry", identity.id_number,
                                    {"card_read_id": read_id})
            self.machine.fire(Event.CARD, subject=identity.id_number, card_read_id=read_id,
                              flags=info.flags, source=source)
        person = Person(identity=identity, card_read_id=read_id, match=info, source=source,
                        school_code=self._school_code())
        self.person = person
        if paid_before(self.store, identity.id_number, self.fee_cents) and not info.blocking:
            with self.recorder.unit():
                self._confirm_paid(reference=None, earlier=True)
        return person

    def _walk_in_match(self, identity: Identity, now: dt.datetime) -> MatchInfo | None:
        """At a walk-in desk: what that school's own roster says when it holds the person (an
        imported roster of 10674 at a 10673 station), else what this station's roster says, with
        ``home_roster`` for someone on it at another school's desk (``MatchInfo.at_walk_in``),
        and ``other_roster`` for someone on neither but on a third school's roster imported here
        (a session mixing schools). None at a regular desk."""
        if not self.walk_in:
            return None
        school, home = self.walk_in.school_code, self.store.meta("school_code") or ""
        if school != home and self.store.roster.get(identity.id_number, school=school) is not None:
            found = roster_match(self.store, identity, now, self.settings.roster, school=school)
            return found.at_walk_in(school, school)
        info = self._match(self.store, identity, now)
        seen = info.at_walk_in(school, home)
        if "not_on_roster" in info.flags:      # on no roster of this desk: another school's?
            other = next((s for s in self.store.roster.schools_of(identity.id_number)
                          if s not in (school, home)), None)
            if other is not None:
                return seen.on_other_roster(other, school)
        return seen

    # ------------------------------------------------------------ approvals (name + PIN)

    def supervisor(self, name: str, pin: str, action: str) -> Operator:
        """The supervisor approving ``action`` at the desk, authenticated by name and PIN (the
        store records a wrong PIN and locks out repeated ones); refused for other roles."""
        op = self.store.operators.authenticate(name.strip(), pin)
        _require_supervisor(op, action)
        return op

    def identify_typed(self, name: str, id_number: str, sup_name: str, sup_pin: str, *,
                       opened_for: str | None = None) -> Person:
        """A typed identity (the card cannot be read), checked field by field first, then
        approved by a supervisor: nothing is recorded unless both are right."""
        from station.session.manual import manual_identity

        self.still_at_desk(opened_for)
        identity = manual_identity(name, id_number)
        approved = self.supervisor(sup_name, sup_pin, "session.manual_entry")
        return self.identify(identity, source="manual", approved_by=approved)

    def approve(self, sup_name: str, sup_pin: str, reason: str, *,
                opened_for: str | None = None) -> None:
        """A supervisor's approval of what stops the desk now: a roster block before the photo,
        failed checks after it (the photo is then accepted). The reason is required: an
        override is audited with its why (as ``ingest --force --reason``), and it goes out in
        the batch manifest beside the supervisor's name."""
        self.still_at_desk(opened_for)
        reason = (reason or "").strip()
        if not reason:
            raise InputError("session.override_needs_reason", Location("approval", field="reason"))
        if self.state is State.CAPTURED:
            self.accept(override_by=self.supervisor(sup_name, sup_pin, "session.override"),
                        reason=reason)
            return
        self._need(State.IDENTIFIED, State.PAID, State.FRAMING)
        self.override_block(self.supervisor(sup_name, sup_pin, "session.override"), reason)

    def typed_identity_exported(self) -> bool:
        """Whether the export profile takes photos of typed (not card-read) identities, so the
        desk can say at accept time what will happen to them."""
        from station.export.profile import load_batch_profile

        return bool(load_batch_profile(self._batch_profile_name).allow_unverified_identity)

    def override_block(self, supervisor: Operator, reason: str) -> None:
        """A supervisor lets a person flagged not-on-roster / not-eligible be photographed."""
        person = self._need(State.IDENTIFIED, State.PAID, State.FRAMING, State.CAPTURED)
        _require_supervisor(supervisor, "session.override")
        person.override_by = supervisor.name
        self.recorder.audit(supervisor.name, "session.override_block", person.identity.id_number,
                            {"flags": person.match.blocking, "reason": reason})

    def set_mailing_address(self, address: str) -> None:
        """Walk-in desks record where the prints go back to."""
        person = self._need(State.IDENTIFIED, State.PAID, State.FRAMING, State.CAPTURED)
        address = address.strip()
        if not address:
            raise RefusedError("session.address_required")
        person.mailing_address = address
        self.recorder.audit(self.op_name, "session.mailing_address", person.identity.id_number,
                            {"length": len(address)})

    def set_capture_code(self, code: str, *, replace: bool = False,
                         where: Location | None = None) -> str:
        """The student's 图像采集码 (code mode), from the desk's scanner field or ``ingest``.

        Checked against the form in the batch profile (the content is encrypted for the pipeline
        and never read here), refused when another person's capture already carries it, and kept
        for this person's captures. Returns the code as stored. The audit keeps a short hash of
        it, not the code. A different code than the one this person has is refused unless
        ``replace`` (typed on purpose): a scan may be the next student's phone.
        """
        person = self._need(State.IDENTIFIED, State.PAID, State.FRAMING, State.CAPTURED)
        if self.mode != "code":
            raise RefusedError("session.capture_code_card_mode")
        if self._batch_profile is None:
            self._batch_profile = load_batch_profile(self._batch_profile_name)
        code = self._batch_profile.check_capture_code(code.strip() if isinstance(code, str) else code,
                                                      where or Location.on_desk("session.where.scan_field"))
        idn = person.identity.id_number
        if person.capture_code is not None and person.capture_code != code and not replace:
            # most likely the next student's phone under the scanner: never re-key this one's
            # photos silently (skip and tap the card again to start over with the right code)
            raise RefusedError("session.capture_code_other", name=mask_name(person.identity.name))
        owner = capture_code_owner(self.store, code, besides=idn)
        if owner is not None:
            raise RefusedError("session.capture_code_taken", other=mask_id(owner))
        person.capture_code = code
        self.recorder.audit(self.op_name, "session.capture_code", idn,
                            {"code_sha256": hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]})
        return code

    def scan_capture_code(self, frame: npt.NDArray[np.uint8]) -> str:
        """Code mode: the 图像采集码 from the QR code the student holds up to the camera.

        The desk calls it on a key press with the frame the camera sees (on its store thread: the
        decoding takes a moment). Exactly one distinct code must be readable; it is then taken as
        :meth:`set_capture_code` takes a scanned one.
        """
        self._need(State.IDENTIFIED, State.PAID, State.FRAMING, State.CAPTURED)
        if self.mode != "code":
            raise RefusedError("session.capture_code_card_mode")
        from station.export.capture_code import read_qr_codes  # OpenCV: only when a frame comes

        texts = read_qr_codes(frame)
        if not texts:
            raise RefusedError("session.capture_code_not_found")
        if len(texts) > 1:
            raise RefusedError("session.capture_code_several", count=len(texts))
        return self.set_capture_code(texts[0], where=Location.on_desk("session.where.camera_qr"))

    def pay(self, reference: str | None = None, *, opened_for: str | None = None) -> None:
        """The fee was paid (WeChat); ``reference`` is the transaction number when scanned."""
        self.still_at_desk(opened_for)
        person = self._need(State.IDENTIFIED)
        if person.match.blocking and not person.override_by:
            raise RefusedError("session.blocked", flags=_flag_words(person.match.blocking))
        reference = (reference or "").strip() or None
        if reference is not None:     # the last student's phone scanned again, a screenshot
            owner = payment_reference_owner(self.store, reference)
            if owner is not None and owner != person.identity.id_number:
                raise RefusedError("session.reference_used", other=mask_id(owner))
        with self.recorder.unit():
            self.recorder.payment(person.identity.id_number, self.fee_cents, self.payment_method,
                                  reference, self.op_name)
            self._confirm_paid(reference=reference, earlier=False)

    def pay_later(self) -> None:
        """Go on without a payment on record (scripts: ``ingest`` without ``--paid``); the
        person stays unpaid in the derived state, so reports still show the fee as owed."""
        person = self._need(State.IDENTIFIED)
        if person.match.blocking and not person.override_by:
            raise RefusedError("session.blocked", flags=_flag_words(person.match.blocking))
        with self.recorder.unit():
            self.machine.fire(Event.PAY, subject=person.identity.id_number, unpaid=True)
            self.machine.fire(Event.FRAME, subject=person.identity.id_number)
            self._stop_if_down()

    def capture(self, data: bytes, *, file_name: str = "capture.jpg",
                camera: dict[str, Any] | None = None) -> CaptureResult:
        """A photo was taken: store it, run every check, make the export crop."""
        person = self._need(State.FRAMING)
        if self.needs_capture_code and not person.capture_code:
            raise RefusedError("session.capture_code_required")
        now = self.clock()
        passed, lines, report = self.checker.check(data)
        crop_jpeg = crop_error = crop_sha = crop_problem = None
        try:
            crop_jpeg = self.checker.crop(data)
        except StationError as exc:  # CropError: there is nothing to frame
            # the checker sees bytes only: the reason names the photo by its file, in each language
            params = {**exc.params, "image": file_name} if "image" in exc.params else exc.params
            crop_problem = Bilingual(*both(exc.key, **params))
            crop_error = crop_problem.render(get_language())
            passed = False
        image_sha = self.recorder.put_image(data)
        if crop_jpeg is not None:
            crop_sha = self.recorder.put_image(crop_jpeg)
        camera = dict(camera or {})
        if crop_sha:
            camera["crop_sha256"] = crop_sha
        idn = person.identity.id_number
        with self.recorder.unit():
            capture_id = self.recorder.capture(idn, image_sha, file_name, camera, self.op_name,
                                               person.card_read_id, person.capture_code)
            self.recorder.check_report(capture_id, report, passed, self.op_name)
            failed = [c.name for c in lines if c.status == "fail"]
            self.machine.fire(Event.CAPTURE, subject=idn, capture_id=capture_id, passed=passed,
                              failed=failed, crop_error=crop_error)
        result = CaptureResult(capture_id=capture_id, image_sha=image_sha, passed=passed,
                               checks=lines, report=report, crop_sha=crop_sha,
                               crop_jpeg=crop_jpeg, crop_error=crop_error, at=now,
                               crop_problem=crop_problem)
        person.capture = result
        return result

    def retake(self, reason: str = "retake") -> None:
        """Discard the last capture (recorded as rejected) and frame again. Right after an
        accept (the photographer saw too late that the eyes were half shut): frame the same
        student again; the photo just accepted stays theirs until a new one is accepted (S
        keeps it), exactly as for a student who comes back and taps again."""
        if self.state is State.ACCEPTED:
            self._again(reason)
            return
        person = self._need(State.CAPTURED)
        assert person.capture is not None
        with self.recorder.unit():
            self.recorder.acceptance(person.capture.capture_id, "reject", reason, self.op_name,
                                     None)
            self.machine.fire(Event.RETAKE, subject=person.identity.id_number,
                              capture_id=person.capture.capture_id, reason=reason)
        person.retakes += 1
        self.counters.retakes += 1
        self._stop_if_down()

    def accept(self, *, override_by: Operator | None = None,
               reason: str | None = None) -> CaptureResult:
        """Accept the last capture; refused while a check fails unless a supervisor overrides."""
        person = self._need(State.CAPTURED)
        result = person.capture
        assert result is not None
        if not result.passed:
            if override_by is None:
                names = tuple(f"checks.name.{c.name}" for c in result.failed) or ("checks.name.crop",)
                raise RefusedError("session.accept_refused", checks=Words(names))
            self.store.operators.require(override_by, "accept.override")
            if result.crop_jpeg is None:
                raise RefusedError("session.no_crop",
                                   error=result.crop_problem or result.crop_error or "")
        if self.walk_in and not person.mailing_address:
            raise RefusedError("session.address_required")
        over = override_by.name if override_by is not None else None
        idn = person.identity.id_number
        with self.recorder.unit():
            self.recorder.acceptance(result.capture_id, "accept", reason, self.op_name, over)
            if self.walk_in:
                self.recorder.walk_in(idn, result.capture_id, self.walk_in.school_code,
                                      person.mailing_address, self.op_name)
            if over:
                self.recorder.audit(over, "session.override_accept", idn,
                                    {"capture_id": result.capture_id,
                                     "failed": [c.name for c in result.failed], "reason": reason})
            self.machine.fire(Event.ACCEPT, subject=idn, capture_id=result.capture_id,
                              override_by=over)
        person.accepted = True
        self.counters.done += 1            # refresh_counters recounts from the store
        self._accepted_at.append(self.clock())
        return result

    def _again(self, reason: str) -> None:
        person = self._need(State.ACCEPTED)
        assert person.capture is not None
        with self.recorder.unit():
            self.machine.fire(Event.RETAKE, subject=person.identity.id_number,
                              capture_id=person.capture.capture_id, reason=reason,
                              after_accept=True)
        person.accepted = False
        if "already_captured" not in person.match.flags:   # the desk says: A replaces, S keeps
            person.match = dataclasses.replace(
                person.match, flags=[*person.match.flags, "already_captured"])
        person.retakes += 1
        self.counters.retakes += 1
        self.counters.done = max(self.counters.done - 1, 0)
        if self._accepted_at:
            self._accepted_at.pop()
        self._stop_if_down()

    def next(self) -> None:
        """Done with this person; the desk waits for the next card."""
        self._need(State.ACCEPTED)
        with self.recorder.unit():
            self.machine.fire(Event.NEXT, subject=self._subject())
        self.person = None
        self._stop_if_down()

    def skip(self, reason: str = "skipped") -> None:
        """The person leaves without an accepted photo (nothing is deleted). With nobody at the
        desk (waiting, or failsafe between students) there is nobody to skip: refused, so no
        skip of nobody is recorded or counted."""
        if self.state is State.ACCEPTED:
            return self.next()
        if self.person is None:
            raise RefusedError("session.bad_transition", event=Words(("session.event.skip",)),
                               state=Words((f"session.state.{self.state.value}",)))
        with self.recorder.unit():
            self.machine.fire(Event.SKIP, subject=self._subject(), reason=reason)
        self.counters.skipped += 1
        self.person = None
        self._stop_if_down()

    def device_error(self, device: str, reason: str) -> None:
        """A device failed. The camera: the desk goes to failsafe and remembers where it was.
        Any other (the card reader) is recorded and stops nothing: the student at the desk is
        photographed to the end, and M (typed identity) still works while the reader is out.
        A photo already taken needs no camera: while it waits for its decision (or has just
        been accepted) the camera's loss is recorded and A, R, S still work; the desk stops
        when it would need the camera again (framing, or waiting for the next card)."""
        deferred = device in STOPS_THE_DESK and self.state in (State.CAPTURED, State.ACCEPTED)
        if device in STOPS_THE_DESK:
            self._down[device] = reason
        if device not in STOPS_THE_DESK or deferred:
            self.recorder.audit(self.op_name, "session.device_error", self._subject(),
                                {"device": device, "reason": reason, "state": self.state.value})
            return
        with self.recorder.unit():
            self.machine.fire(Event.DEVICE_ERROR, subject=self._subject(), device=device,
                              reason=reason)

    def _stop_if_down(self) -> None:
        """The desk has come to a step that needs the camera while it is out: failsafe now."""
        if self._down and self.state in (State.FRAMING, State.WAITING):
            device, reason = next(iter(self._down.items()))
            with self.recorder.unit():
                self.machine.fire(Event.DEVICE_ERROR, subject=self._subject(), device=device,
                                  reason=reason)

    def device_ok(self, device: str) -> None:
        """A device is back; only the camera's return ends failsafe (a reader coming back while
        the camera is still out must not let the desk go on without it)."""
        self._down.pop(device, None)
        if device not in STOPS_THE_DESK or self.state is not State.FAILSAFE:
            self.recorder.audit(self.op_name, "session.device_ok", self._subject(),
                                {"device": device, "state": self.state.value})
            return
        if not self._down:
            with self.recorder.unit():
                self.machine.fire(Event.DEVICE_OK, subject=self._subject(), device=device)

    # ------------------------------------------------------------ counters

    def throughput(self, window: dt.timedelta = dt.timedelta(hours=1)) -> float:
        """Accepted students per hour over the last ``window`` (or since start, if shorter)."""
        now = self.clock()
        span = min(window, max(now - self._started, dt.timedelta(minutes=1)))
        recent = [t for t in self._accepted_at if now - t <= window]
        return round(len(recent) / (span.total_seconds() / 3600), 1)

    def refresh_counters(self) -> DeskCounters:
        """Throughput, and "this slot" as the slot running now (not the last student's slot);
        a walk-in desk or a time between slots counts this desk's accepted photos."""
        self.counters.students_per_hour = self.throughput()
        context = self.desk_context()
        if context.running:
            self.counters.done, self.counters.expected = context.done, context.expected
        else:
            self.counters.done, self.counters.expected = len(self._accepted_at), None
        self.context = context
        return self.counters

    def desk_context(self) -> DeskContext:
        """Station, local time and the schedule around now: the slot(s) running, with progress,
        or what the day holds instead."""
        now = local_naive(self.clock())
        station = self.store.station_id or ""
        slots = [] if self.walk_in else self.store.schedule.slots()
        if not slots:
            return DeskContext(station, now, "no_schedule")
        running = [s for s in slots if s.contains(now)]
        if running:
            return DeskContext(station, now, "running", [self._slot_view(s) for s in running])
        today = [s for s in slots if s.date == now.date().isoformat()]
        later = [s for s in today if s.starts_at > now]
        if later:
            return DeskContext(station, now, "between", upcoming=self._slot_view(later[0]))
        return DeskContext(station, now, "finished" if today else "none_today")

    def _slot_view(self, slot: Any) -> SlotView:
        departments = list(slot.departments)
        expected = slot.expected_count
        if expected is None and departments:
            expected = slot_expected(self.store, departments)
        done = slot_done(self.store, departments) if departments else 0
        return SlotView(slot.date, slot.start, slot.end, slot.room, departments, expected, done)

    # ------------------------------------------------------------ internals

    def _confirm_paid(self, reference: str | None, earlier: bool) -> None:
        person = self.person
        assert person is not None
        self.machine.fire(Event.PAY, subject=person.identity.id_number, reference=reference,
                          earlier=earlier)
        person.paid, person.payment_reference = True, reference
        self.machine.fire(Event.FRAME, subject=person.identity.id_number)
        self._stop_if_down()

    def still_at_desk(self, opened_for: str | None) -> None:
        """A form is applied to the person it was opened for, or refused: ``opened_for`` is
        that person's card read id ("" for nobody; None: no form, nothing to compare)."""
        if opened_for is None:
            return
        if (self.person.card_read_id if self.person is not None else "") != opened_for:
            raise RefusedError("session.person_changed")

    def _need(self, *states: State) -> Person:
        if self.state not in states or self.person is None:
            raise RefusedError("session.wrong_state",
                               state=Words((f"session.state.{self.state.value}",)))
        return self.person

    def _school_code(self) -> str | None:
        return self.walk_in.school_code if self.walk_in else None

    def _subject(self) -> str | None:
        return self.person.identity.id_number if self.person else None

    def _record_transition(self, step: Transition) -> None:
        data = {k: v for k, v in step.data.items() if k != "subject"}
        subject: str | None = step.data.get("subject")
        self.recorder.session_event(subject, step.event.value, step.source.value,
                                    step.target.value, self.op_name, data)
        self.recorder.audit(self.op_name, f"session.{step.event.value}", subject,
                            {"from": step.source.value, "to": step.target.value, **data})


def _require_supervisor(op: Operator | None, action: str) -> None:
    """Only a supervisor approves manual entry and overrides (actions unknown to the
    permission table are supervisor-only, so ``can`` agrees with the role check)."""
    if op is None or op.role != "supervisor":
        raise RefusedError("session.supervisor_required",
                           action=Words((f"session.action.{action.split('.')[-1]}",)))


def _flag_words(flags: list[str]) -> Words:
    """Roster flags in words of the message's language ("不符合条件、不在名单")."""
    return Words(tuple(f"session.flag.{f}" for f in flags), ", ", "、")

