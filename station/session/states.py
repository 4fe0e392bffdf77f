"""The capture-session state machine, free of devices, store and UI so it can be tested alone.

One student at a time moves through::

    waiting_for_card → identified → fee_confirmed → framing → captured → accepted → (next) waiting
                                                        ↑          │          │
                                                        └─ retake ─┴──────────┘

A device error from any state leads to ``failsafe``; when the device is back the session resumes
where it was (a captured photo is kept, framing restarts). Every accepted event produces one
:class:`Transition`, handed to the listeners (the service turns them into store facts and audit
entries). A refused event raises :class:`~station.errors.RefusedError` and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from station.errors import RefusedError
from station.i18n import Words


class State(StrEnum):
    WAITING = "waiting_for_card"
    IDENTIFIED = "identified"
    PAID = "fee_confirmed"
    FRAMING = "framing"
    CAPTURED = "captured"
    ACCEPTED = "accepted"
    FAILSAFE = "failsafe"


class Event(StrEnum):
    CARD = "card"            # a card was read (or a manual identity approved)
    PAY = "pay"              # the fee is confirmed (now or earlier)
    FRAME = "frame"          # live view and live checks start
    CAPTURE = "capture"      # a photo was taken and fully checked
    RETAKE = "retake"        # the photo is discarded, framing again
    ACCEPT = "accept"        # the photo is accepted for this person
    NEXT = "next"            # done with this person
    SKIP = "skip"            # the person leaves without an accepted photo
    DEVICE_ERROR = "device_error"
    DEVICE_OK = "device_ok"


# (state, event) → next state. FAILSAFE and its way back are handled separately.
TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.WAITING, Event.CARD): State.IDENTIFIED,
    (State.IDENTIFIED, Event.PAY): State.PAID,
    (State.IDENTIFIED, Event.SKIP): State.WAITING,
    (State.IDENTIFIED, Event.CARD): State.IDENTIFIED,   # the next student tapped before a skip
    (State.PAID, Event.FRAME): State.FRAMING,
    (State.PAID, Event.SKIP): State.WAITING,
    (State.FRAMING, Event.CAPTURE): State.CAPTURED,
    (State.FRAMING, Event.SKIP): State.WAITING,
    (State.CAPTURED, Event.RETAKE): State.FRAMING,
    (State.CAPTURED, Event.ACCEPT): State.ACCEPTED,
    (State.CAPTURED, Event.SKIP): State.WAITING,
    (State.ACCEPTED, Event.NEXT): State.WAITING,
    (State.ACCEPTED, Event.RETAKE): State.FRAMING,      # a mistaken accept: photograph again
    (State.ACCEPTED, Event.CARD): State.IDENTIFIED,     # the next card also means "next"
}

# Where a session resumes after failsafe: framing restarts, everything else stays put.
RESUME = {State.FRAMING: State.FRAMING, State.CAPTURED: State.CAPTURED}


@dataclass(frozen=True)
class Transition:
    """One step of the session, as recorded: from, to, why, when, and the event's data."""

    source: State
    target: State
    event: Event
    at: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"from": self.source.value, "to": self.target.value, "event": self.event.value,
                "at": self.at.isoformat(), **self.data}


Listener = Callable[[Transition], None]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SessionMachine:
    """The states of one station's desk; ``fire`` is the only way to move."""

    def __init__(self, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.state = State.WAITING
        self.resume_to: State | None = None
        self.clock = clock
        self.listeners: list[Listener] = []

    def allowed(self, event: Event) -> bool:
        if self.state is State.FAILSAFE:
            return event in (Event.DEVICE_OK, Event.DEVICE_ERROR, Event.SKIP)
        return event is Event.DEVICE_ERROR or (self.state, event) in TRANSITIONS

    def fire(self, event: Event, **data: Any) -> Transition:
        """Move on ``event``, tell the listeners, return the transition; refuse a wrong event."""
        source = self.state
        if not self.allowed(event):
            raise RefusedError("session.bad_transition", event=Words((f"session.event.{event.value}",)),
                               state=Words((f"session.state.{source.value}",)))
        resume_to = self.resume_to
        if event is Event.DEVICE_ERROR:
            if source is not State.FAILSAFE:
                resume_to = RESUME.get(source, source)
            target = State.FAILSAFE
        elif source is State.FAILSAFE:
            target = (resume_to or State.WAITING) if event is Event.DEVICE_OK else State.WAITING
            resume_to = None
        else:
            target = TRANSITIONS[(source, event)]
        step = Transition(source, target, event, self.clock(), dict(data))
        for listener in list(self.listeners):
            listener(step)  # a listener that fails (store write) leaves the state unchanged
        self.state, self.resume_to = target, resume_to
        return step
