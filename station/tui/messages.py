"""Messages the workers post to the UI: small dataclasses, one line of docstring each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class DeskSnapshot:
    """An immutable copy of the session as the UI should show it."""

    state: str
    person: Any            # station.session.model.Person (a copy) or None
    counters: Any          # DeskCounters (a copy)
    walk_in: Any = None    # WalkIn or None


class SessionChanged(Message):
    """The session moved; here is its new snapshot."""

    def __init__(self, snapshot: DeskSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class SessionRefused(Message):
    """A session step was refused or failed; the words say why."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__()
        self.message = message
        self.key = key


class LiveFrame(Message, bubble=False):
    """The newest live-view frame with its live-check report (a newer one replaces it)."""

    def __init__(self, image: Any, report: Any, seq: int) -> None:
        super().__init__()
        self.image = image
        self.report = report
        self.seq = seq

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LiveFrame)


class DeviceProblem(Message):
    """A device failed: which one, and what the operator should do (zh, en)."""

    def __init__(self, device: str, message_zh: str, message_en: str) -> None:
        super().__init__()
        self.device = device
        self.message_zh = message_zh
        self.message_en = message_en


class DeviceBack(Message):
    """A device that had failed works again."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device


class CardTapped(Message):
    """The reader read a card."""

    def __init__(self, card: Any) -> None:
        super().__init__()
        self.card = card
