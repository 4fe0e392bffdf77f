"""The capture-session state machine alone: no store, no devices, no UI."""

import datetime as dt

import pytest

from station.errors import RefusedError
from station.session.states import Event, SessionMachine, State

T0 = dt.datetime(2026, 6, 12, 9, 0, tzinfo=dt.UTC)


def machine():
    ticks = iter(T0 + dt.timedelta(seconds=i) for i in range(1000))
    m = SessionMachine(clock=lambda: next(ticks))
    seen = []
    m.listeners.append(seen.append)
    return m, seen


def test_whole_student_with_a_retake():
    m, seen = machine()
    for event in (Event.CARD, Event.PAY, Event.FRAME, Event.CAPTURE, Event.RETAKE,
                  Event.CAPTURE, Event.ACCEPT, Event.NEXT):
        m.fire(event)
    assert m.state is State.WAITING
    assert [s.target for s in seen] == [
        State.IDENTIFIED, State.PAID, State.FRAMING, State.CAPTURED, State.FRAMING,
        State.CAPTURED, State.ACCEPTED, State.WAITING]
    assert seen[0].at < seen[-1].at
    assert seen[3].to_json()["from"] == "framing"


@pytest.mark.parametrize("state_events,bad", [
    ((), Event.PAY),                                    # no card yet
    ((), Event.ACCEPT),
    ((Event.CARD,), Event.CAPTURE),                     # not paid
    ((Event.CARD, Event.PAY, Event.FRAME), Event.ACCEPT),  # nothing captured
    ((Event.CARD, Event.PAY, Event.FRAME, Event.CAPTURE, Event.ACCEPT), Event.CAPTURE),
])
def test_refused_events_change_nothing(state_events, bad):
    m, seen = machine()
    for event in state_events:
        m.fire(event)
    before, count = m.state, len(seen)
    with pytest.raises(RefusedError) as info:
        m.fire(bad)
    assert m.state is before and len(seen) == count
    assert bad.value in info.value.message or bad.value in str(info.value)


def test_a_retake_right_after_an_accept_frames_the_student_again():
    m, seen = machine()
    for event in (Event.CARD, Event.PAY, Event.FRAME, Event.CAPTURE, Event.ACCEPT, Event.RETAKE):
        m.fire(event)
    assert m.state is State.FRAMING and seen[-1].source is State.ACCEPTED


def test_failsafe_resumes_where_it_was():
    m, seen = machine()
    for event in (Event.CARD, Event.PAY, Event.FRAME, Event.CAPTURE):
        m.fire(event)
    m.fire(Event.DEVICE_ERROR, device="camera")
    assert m.state is State.FAILSAFE
    with pytest.raises(RefusedError):
        m.fire(Event.ACCEPT)
    m.fire(Event.DEVICE_ERROR, device="camera")   # a second error keeps the resume point
    m.fire(Event.DEVICE_OK, device="camera")
    assert m.state is State.CAPTURED                 # the captured photo is kept
    m.fire(Event.RETAKE)
    m.fire(Event.DEVICE_ERROR)
    m.fire(Event.DEVICE_OK)
    assert m.state is State.FRAMING


def test_failsafe_skip_goes_back_to_waiting():
    m, _ = machine()
    m.fire(Event.CARD)
    m.fire(Event.DEVICE_ERROR)
    m.fire(Event.SKIP)
    assert m.state is State.WAITING and m.resume_to is None


def test_failing_listener_leaves_state_unchanged():
    m, _ = machine()

    def broken(step):
        raise OSError("disk full")

    m.listeners.append(broken)
    with pytest.raises(OSError):
        m.fire(Event.CARD)
    assert m.state is State.WAITING
