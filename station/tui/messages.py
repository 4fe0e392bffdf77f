"""Messages the workers post to the UI: small dataclasses, one line of docstring each.

None of them bubble: workers post them to the app, which hands each to the desk, and a message
that bubbled from the desk back to the app would be handed over again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from station.checks.live import LiveReport
    from station.domain.schools import WalkIn
    from station.session.model import DeskContext, DeskCounters, Person
    from station.tui.widgets.picture_view import Box, Refit


@dataclass
class DeskSnapshot:
    """An immutable copy of the session as the UI should show it."""

    state: str
    person: Person | None           # a copy
    counters: DeskCounters | None   # a copy (None before the service starts)
    walk_in: WalkIn | None = None
    context: DeskContext | None = None    # station, local time, the running slot


class SessionChanged(Message, bubble=False):
    """The session moved; here is its new snapshot."""

    def __init__(self, snapshot: DeskSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class SessionRefused(Message, bubble=False):
    """A session step was refused or failed; the words say why (zh, en)."""

    def __init__(self, words: tuple[str, str], key: str = "") -> None:
        super().__init__()
        self.words = words
        self.key = key

    @property
    def message(self) -> str:
        from station.i18n import get_language

        return self.words[0 if get_language() == "zh" else 1]


class LiveFrame(Message, bubble=False):
    """The newest live-view picture, ready to paint (a newer one replaces it)."""

    def __init__(self, picture: Any, seq: int, fitted: Box | None = None,
                 refit: Refit | None = None, arrived: float = 0.0) -> None:
        super().__init__()
        self.picture = picture
        self.seq = seq
        self.fitted = fitted          # the box it was drawn for
        self.refit = refit            # draws it again for another box
        self.arrived = arrived        # when the frame came from the camera (time.monotonic)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LiveFrame)


class LiveChecked(Message, bubble=False):
    """The live checks of a recent frame (a newer report replaces it)."""

    def __init__(self, report: LiveReport, seq: int) -> None:
        super().__init__()
        self.report = report
        self.seq = seq

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LiveChecked)


class DeviceProblem(Message, bubble=False):
    """A device failed: which one, and what the operator should do (zh, en)."""

    def __init__(self, device: str, message_zh: str, message_en: str) -> None:
        super().__init__()
        self.device = device
        self.message_zh = message_zh
        self.message_en = message_en


class DeviceBack(Message, bubble=False):
    """A device that had failed works again."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device


class CardTapped(Message, bubble=False):
    """The reader read a card."""

    def __init__(self, card: Any) -> None:
        super().__init__()
        self.card = card
