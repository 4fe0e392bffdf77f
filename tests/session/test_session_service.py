"""CaptureService over a real store: facts, audit, refusals, override, walk-in."""

import pytest

from station.domain.schools import WalkIn
from station.errors import RefusedError
from station.session.service import CaptureService
from station.session.states import State

from .conftest import (
    PHO_PIN,
    PHOTOGRAPHER,
    SUP_PIN,
    SUPERVISOR,
    MarkerChecker,
    person,
    rows,
    table_match,
)


def service(store, table=None, **kw):
    op = store.operators.authenticate(PHOTOGRAPHER, PHO_PIN)
    return CaptureService(store, op, checker=MarkerChecker(), match=table_match(table or {}), **kw)


def test_student_with_retake_leaves_every_fact_and_audit(store):
    p = person(1)
    svc = service(store, {p.id_number: []})
    svc.identify(p)
    assert svc.state is State.IDENTIFIED
    svc.pay("4200001234567890")
    assert svc.state is State.FRAMING
    bad = svc.capture(b"BLURRY", file_name="DSC_0001.JPG")
    assert not bad.passed and svc.state is State.CAPTURED
    with pytest.raises(RefusedError):
        svc.accept()
    svc.retake()
    good = svc.capture(b"GOOD photo", file_name="DSC_0002.JPG")
    svc.accept()
    svc.next()
    assert svc.state is State.WAITING and svc.counters.done == 1 and svc.counters.retakes == 1

    state = store.person_state(p.id_number)
    assert state.accepted_capture_id == good.capture_id
    assert state.paid_cents == 3000 and state.payments[0]["reference"] == "4200001234567890"
    assert [c["decision"] for c in state.captures] == ["accept", "reject"]
    assert store.images.get(good.crop_sha) == b"CROPGOOD photo"
    events = [(e["event"], e["to_state"]) for e in rows(store, "session_events")]
    assert events == [("card", "identified"), ("pay", "fee_confirmed"), ("frame", "framing"),
                      ("capture", "captured"), ("retake", "framing"), ("capture", "captured"),
                      ("accept", "accepted"), ("next", "waiting_for_card")]
    actions = [a["action"] for a in rows(store, "audit")]
    for event, _ in events:
        assert f"session.{event}" in actions
    assert store.audit.verify() == []


def test_refused_accept_records_nothing(store):
    p = person(2)
    svc = service(store, {p.id_number: []})
    svc.identify(p)
    svc.pay()
    svc.capture(b"BAD")
    before = len(rows(store, "acceptances")), len(rows(store, "session_events"))
    with pytest.raises(RefusedError):
        svc.accept()
    assert (len(rows(store, "acceptances")), len(rows(store, "session_events"))) == before
    assert svc.state is State.CAPTURED


def test_supervisor_override_accepts_failed_photo_and_is_audited(store):
    p = person(3)
    svc = service(store, {p.id_number: []})
    svc.identify(p)
    svc.pay()
    svc.capture(b"BAD")
    photographer = store.operators.authenticate(PHOTOGRAPHER, PHO_PIN)
    with pytest.raises(RefusedError):
        svc.accept(override_by=photographer)
    sup = store.operators.authenticate(SUPERVISOR, SUP_PIN)
    svc.accept(override_by=sup, reason="glasses glare judged acceptable")
    acc = rows(store, "acceptances")[-1]
    assert acc["decision"] == "accept" and acc["override_by"] == SUPERVISOR
    audit = [a for a in rows(store, "audit") if a["action"] == "session.override_accept"]
    assert audit and audit[0]["operator"] == SUPERVISOR


def test_ineligible_student_cannot_pay_until_supervisor_overrides(store):
    p = person(4)
    svc = service(store, {p.id_number: ["not_eligible"]})
    info = svc.identify(p)
    assert info.match.blocking == ["not_eligible"]
    with pytest.raises(RefusedError):
        svc.pay()
    assert rows(store, "payments") == []
    svc.override_block(store.operators.authenticate(SUPERVISOR, SUP_PIN), "dean's letter")
    svc.pay()
    assert svc.state is State.FRAMING


def test_manual_entry_needs_supervisor(store):
    from station.session.manual import manual_identity

    p = person(5)
    svc = service(store, {p.id_number: []})
    typed = manual_identity(p.name, p.id_number.lower())
    with pytest.raises(RefusedError):
        svc.identify(typed, source="manual",
                     approved_by=store.operators.authenticate(PHOTOGRAPHER, PHO_PIN))
    assert rows(store, "card_reads") == []
    svc.identify(typed, source="manual",
                 approved_by=store.operators.authenticate(SUPERVISOR, SUP_PIN))
    assert rows(store, "card_reads")[0]["reader"] == "manual"
    assert any(a["action"] == "session.manual_entry" for a in rows(store, "audit"))


def test_already_paid_goes_straight_to_framing(store):
    p = person(6)
    svc = service(store, {p.id_number: []})
    svc.identify(p)
    svc.pay()
    svc.skip()
    svc.identify(p)            # comes back later for the photo
    assert svc.state is State.FRAMING
    assert len(rows(store, "payments")) == 1


def test_device_error_failsafe_and_resume(store):
    p = person(7)
    svc = service(store, {p.id_number: []})
    svc.identify(p)
    svc.pay()
    svc.device_error("camera", "camera.disconnected")
    assert svc.state is State.FAILSAFE
    with pytest.raises(RefusedError):
        svc.capture(b"GOOD")
    svc.device_ok("camera")
    assert svc.state is State.FRAMING
    svc.capture(b"GOOD")
    svc.accept()
    kinds = [e["event"] for e in rows(store, "session_events")]
    assert "device_error" in kinds and "device_ok" in kinds


def test_a_reader_fault_is_recorded_and_only_the_cameras_return_ends_failsafe(store):
    p = person(15)
    svc = service(store, {p.id_number: []})
    svc.identify(p)
    svc.pay()
    svc.device_error("reader", "idcard.reader_gone")     # the next card waits; p does not
    assert svc.state is State.FRAMING
    svc.device_error("camera", "camera.disconnected")
    svc.device_ok("reader")                              # the reader back, the camera still out
    assert svc.state is State.FAILSAFE
    svc.device_ok("camera")
    assert svc.state is State.FRAMING
    audit = [(a["action"], a["details"].get("device")) for a in rows(store, "audit")
             if a["action"] in ("session.device_error", "session.device_ok")]
    assert audit == [("session.device_error", "reader"), ("session.device_error", "camera"),
                     ("session.device_ok", "reader"), ("session.device_ok", "camera")]


def test_a_camera_lost_while_a_photo_waits_stops_the_desk_only_when_it_is_needed_again(store):
    a, b = person(16), person(17)
    svc = service(store, {a.id_number: [], b.id_number: []})
    svc.identify(a)
    svc.pay()
    svc.capture(b"GOOD")
    svc.device_error("camera", "camera.down")            # the photo is taken: decide on it
    assert svc.state is State.CAPTURED
    svc.accept()
    svc.next()                                           # the next card needs no camera, but
    assert svc.state is State.FAILSAFE                   # the desk stops here as it did
    svc.device_ok("camera")
    assert svc.state is State.WAITING
    svc.identify(b)
    svc.pay()
    svc.capture(b"BLURRY")
    svc.device_error("camera", "camera.down")
    svc.device_ok("camera")                              # back before the decision
    svc.device_error("camera", "camera.down")
    svc.retake()                                         # framing needs the camera
    assert svc.state is State.FAILSAFE and svc.machine.resume_to is State.FRAMING
    svc.device_ok("camera")
    assert svc.state is State.FRAMING


def test_walk_in_records_school_and_address(store):
    from station.config import default_settings
    from station.domain.schools import walk_in_for

    walk = walk_in_for(default_settings().schools, "10673")
    assert walk == WalkIn("10673", "云南大学")
    p = person(8)
    svc = service(store, walk_in=walk)
    svc.identify(p)
    assert svc.person.match.flags == ["walk_in"] and svc.person.school_code == "10673"
    svc.pay()
    svc.capture(b"GOOD")
    with pytest.raises(RefusedError):
        svc.accept()                       # no mailing address yet
    svc.set_mailing_address("云南省昆明市五华区翠湖北路2号")
    result = svc.accept()
    walk_row = rows(store, "walk_ins")[0]
    assert walk_row["capture_id"] == result.capture_id and walk_row["school_code"] == "10673"
    assert walk_row["mailing_address"].startswith("云南省")


def test_unknown_school_code_is_a_clear_error():
    from station.config import default_settings
    from station.domain.schools import walk_in_for
    from station.errors import InputError

    with pytest.raises(InputError) as info:
        walk_in_for(default_settings().schools, "99999")
    assert "99999" in info.value.message
    # where the table really is (there is no schools.toml): the station's own settings file
    from station.i18n import t
    for lang in ("zh", "en"):
        words = t(info.value.key, lang, **info.value.params)
        assert "station.toml" in words and "[schools]" in words and "schools.toml" not in words


def test_desk_context_follows_the_slot_running_now(store):
    """The header's slot is the one running at the desk's clock (local time), with its progress;
    between slots it names the next one, after the last it says the day is over."""
    import datetime as dt

    from station.config import load_settings
    from station.roster.schedule import import_schedule

    csv = store.data_dir / "schedule.csv"
    csv.write_text("date,campus,room,start,end,departments,expected\n"
                   "2017-10-25,呈贡,文汇楼1403,08:00,09:00,物理学院,3\n"
                   "2017-10-25,呈贡,文汇楼1403,10:00,11:00,化学学院,\n", encoding="utf-8")
    import_schedule(store, csv, load_settings(store.data_dir).roster, SUPERVISOR)
    zone = dt.timezone(dt.timedelta(hours=8))   # the station's local time, not the machine's
    when = {"now": dt.datetime(2017, 10, 25, 8, 30, tzinfo=zone).astimezone(dt.UTC)}
    svc = service(store, clock=lambda: when["now"])
    ctx = svc.desk_context()
    assert ctx.slot_state == "running" and ctx.now == dt.datetime(2017, 10, 25, 8, 30)
    assert [(s.start, s.room, s.expected) for s in ctx.running] == [("08:00", "文汇楼1403", 3)]
    when["now"] = dt.datetime(2017, 10, 25, 9, 30, tzinfo=zone)
    ctx = svc.desk_context()
    assert ctx.slot_state == "between" and ctx.upcoming.start == "10:00"
    when["now"] = dt.datetime(2017, 10, 25, 12, 0, tzinfo=zone)
    assert svc.desk_context().slot_state == "finished"
    when["now"] = dt.datetime(2017, 10, 26, 9, 0, tzinfo=zone)
    assert svc.desk_context().slot_state == "none_today"


def test_typed_identity_keeps_nothing_until_fields_and_supervisor_are_right(store):
    """Typed entry: a bad ID number or a wrong PIN records nothing; the approval names the
    supervisor; the export policy is answered by the service (the desk says it at accept)."""
    p = person(7)
    svc = service(store, {p.id_number: []})
    with pytest.raises(Exception) as bad_number:
        svc.identify_typed(p.name, p.id_number[:-1], SUPERVISOR, SUP_PIN)
    assert "id_number" in str(bad_number.value.location)
    with pytest.raises(RefusedError):
        svc.identify_typed(p.name, p.id_number, SUPERVISOR, "0000")
    with pytest.raises(RefusedError):
        svc.identify_typed(p.name, p.id_number, PHOTOGRAPHER, PHO_PIN)   # not a supervisor
    assert rows(store, "card_reads") == [] and svc.state is State.WAITING
    person_at_desk = svc.identify_typed(p.name, p.id_number, SUPERVISOR, SUP_PIN)
    assert person_at_desk.source == "manual" and svc.state is State.IDENTIFIED
    approvals = [a for a in rows(store, "audit") if a["action"] == "session.manual_entry"]
    assert [a["operator"] for a in approvals] == [SUPERVISOR]
    assert svc.typed_identity_exported() is False        # the CHSI batch profile's policy


def test_approve_overrides_a_block_then_failed_checks(store):
    p = person(8)
    svc = service(store, {p.id_number: ["not_eligible"]})
    svc.identify(p)
    with pytest.raises(RefusedError):
        svc.approve(PHOTOGRAPHER, PHO_PIN, "no")
    svc.approve(SUPERVISOR, SUP_PIN, "letter from the school")
    assert svc.person.override_by == SUPERVISOR
    svc.pay(None)
    svc.capture(b"BLURRY")
    svc.approve(SUPERVISOR, SUP_PIN, "judged fine")
    assert svc.state is State.ACCEPTED


def test_a_card_tapped_while_a_photo_waits_for_its_decision_is_refused_not_a_silent_skip(store):
    a, b = person(9), person(10)
    svc = service(store, {a.id_number: [], b.id_number: []})
    svc.identify(a)
    svc.pay(None)
    svc.capture(b"GOOD")
    with pytest.raises(RefusedError) as refused:
        svc.identify(b)
    assert refused.value.key == "session.decide_first"
    assert svc.state is State.CAPTURED and svc.person.identity.id_number == a.id_number
    assert len(rows(store, "card_reads")) == 1           # b's tap recorded nothing
    svc.accept()
    svc.identify(b)                                      # after the decision: b's turn
    assert svc.person.identity.id_number == b.id_number


def test_another_card_while_the_paid_student_is_framed_is_refused_and_the_same_card_is_kept(store):
    a, b = person(13), person(14)
    svc = service(store, {a.id_number: [], b.id_number: []})
    svc.identify(b)
    svc.pay(None)
    svc.skip()                                           # b paid, then stepped away
    svc.identify(a)
    assert svc.identify(a).card_read_id == svc.person.card_read_id   # tapped twice: kept
    svc.pay(None)
    svc.identify(a)                                      # and once more while framing
    with pytest.raises(RefusedError) as refused:
        svc.identify(b)                                  # b's paid card would go to framing
    assert refused.value.key == "session.photographing"
    assert svc.state is State.FRAMING and svc.person.identity.id_number == a.id_number
    assert [e["event"] for e in rows(store, "session_events")].count("skip") == 1
    assert svc.counters.skipped == 1
    assert len(rows(store, "card_reads")) == 2           # b's first tap and a's first tap
    svc.capture(b"GOOD")
    svc.accept()
    svc.identify(b)
    assert svc.state is State.FRAMING and svc.person.identity.id_number == b.id_number


def test_a_form_opened_for_one_student_is_not_applied_to_the_next(store):
    """The pay and approval forms carry the card read they were opened for: a card read while
    one is open makes the service refuse it (nothing recorded), never apply it to the next."""
    a, b = person(11), person(12)
    svc = service(store, {a.id_number: [], b.id_number: ["not_eligible"]})
    opened_for_a = svc.identify(a).card_read_id
    svc.identify(b)                                       # a card read while A's form is open
    with pytest.raises(RefusedError) as refused:
        svc.pay("4200000000000001", opened_for=opened_for_a)
    assert refused.value.key == "session.person_changed"
    with pytest.raises(RefusedError) as refused:
        svc.approve(SUPERVISOR, SUP_PIN, "clothes fine", opened_for=opened_for_a)
    assert refused.value.key == "session.person_changed"
    assert rows(store, "payments") == []
    assert not [r for r in rows(store, "audit") if r["action"] == "session.override_block"]
    assert svc.person.override_by is None
    svc.approve(SUPERVISOR, SUP_PIN, "letter", opened_for=svc.person.card_read_id)
    assert svc.person.override_by == SUPERVISOR


def test_a_walk_in_desk_still_applies_what_the_roster_says(store):
    """Friday make-ups waive the roster's presence and the slot, not its verdict: an in-service
    master on the roster is not eligible at the walk-in desk either (a supervisor may override),
    and an earlier photo is named; a stranger to the roster is a plain walk-in."""
    from station.config import default_settings
    from station.domain.schools import walk_in_for

    in_service, stranger = person(21, "在职"), person(22, "外校")
    store.insert("roster_entries", {"id_number": in_service.id_number, "name": in_service.name,
                                    "department": "物理学院", "degree": "master", "program_years": 3,
                                    "entry_year": 2015, "study_mode": "part_time", "eligible": 0,
                                    "eligibility_rule": "part_time"})
    op = store.operators.authenticate(PHOTOGRAPHER, PHO_PIN)
    svc = CaptureService(store, op, checker=MarkerChecker(),
                         walk_in=walk_in_for(default_settings().schools, "10673"))
    svc.identify(in_service)
    assert svc.person.match.flags == ["walk_in", "not_eligible"]
    with pytest.raises(RefusedError) as info:
        svc.pay()
    assert info.value.key == "session.blocked"
    svc.skip()
    svc.identify(stranger)
    assert svc.person.match.flags == ["walk_in"]          # no not_on_roster, no wrong_slot
    svc.pay()
    svc.capture(b"GOOD")


def test_a_home_roster_student_at_another_schools_walk_in_desk_is_stopped(store):
    """The roster is this station's school's list: someone on it photographed at the walk-in desk
    of another school would go out in that school's batch. The desk says so and waits for a
    supervisor; at the desk of the station's own school the same person is a plain walk-in."""
    from station.config import default_settings
    from station.domain.schools import walk_in_for

    ours = person(23, "本校")
    store.insert("roster_entries", {"id_number": ours.id_number, "name": ours.name,
                                    "department": "物理学院", "degree": "master", "program_years": 3,
                                    "entry_year": 2015, "study_mode": "full_time", "eligible": 1,
                                    "eligibility_rule": "master_3y_2015"})
    op = store.operators.authenticate(PHOTOGRAPHER, PHO_PIN)
    schools = default_settings().schools
    other = CaptureService(store, op, checker=MarkerChecker(), walk_in=walk_in_for(schools, "10674"))
    other.identify(ours)
    assert other.person.match.flags == ["walk_in", "home_roster"]
    assert "10673" in other.person.match.details["home_roster"]["zh"]
    with pytest.raises(RefusedError):
        other.pay()
    other.skip()
    home = CaptureService(store, op, checker=MarkerChecker(), walk_in=walk_in_for(schools, "10673"))
    home.identify(ours)
    assert home.person.match.flags == ["walk_in"]


def test_a_skip_with_nobody_at_the_desk_is_refused_in_failsafe_not_recorded_or_counted(store):
    svc = service(store)
    svc.device_error("camera", "camera.disconnected")    # between students: nobody here
    assert svc.state is State.FAILSAFE and svc.person is None
    before = rows(store, "session_events")
    with pytest.raises(RefusedError) as refused:
        svc.skip()
    assert refused.value.key == "session.bad_transition"
    assert rows(store, "session_events") == before       # no skip of nobody recorded
    assert svc.counters.skipped == 0
    assert svc.state is State.FAILSAFE                   # the camera is still out
    svc.device_ok("camera")
    assert svc.state is State.WAITING
    with pytest.raises(RefusedError):
        svc.skip()
    assert svc.counters.skipped == 0
    assert [e["event"] for e in rows(store, "session_events")].count("skip") == 0
