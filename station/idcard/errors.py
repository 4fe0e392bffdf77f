"""Errors of the ID card area.

Every error a reader raises is a ``DeviceError`` (exit code 3) and carries exactly one of three
marker base classes, so callers decide with ``isinstance`` what to tell the operator:

- ``NoCardYet``: nothing to read yet (no card within the wait, find card answered "no card").
  Not a problem: the desk keeps waiting quietly.
- ``CardProblem``: this card or this tap failed (bad data, card pulled early, the SAM refused the
  card); the reader works. The operator taps the card again or checks it by hand.
- ``ReaderFault``: the reader, its service or its set-up is at fault (unplugged, not answering,
  no permission, pcscd down); tapping again will not help.

``CardDataError`` is the one type the frame codec and the record decoder raise for malformed
input.
"""

from __future__ import annotations

from station.errors import DeviceError
from station.i18n import catalog, get_language, t


class NoCardYet(Exception):
    """Marker: nothing to read yet. Not a problem; a waiting loop keeps waiting."""


class CardProblem(Exception):
    """Marker: this card or this tap failed, the reader works; the operator taps again."""


class ReaderFault(Exception):
    """Marker: the reader, its service or its set-up is at fault; tapping again will not help."""


MARKERS = (NoCardYet, CardProblem, ReaderFault)


class CardDataError(CardProblem, DeviceError):
    """Malformed data from a reader or card: a frame or text block that does not parse."""


def sw3_key(sw3: int) -> str:
    """Catalog key of a SAM status meaning (``idcard.sw3.unknown`` for codes not in the table)."""
    key = f"idcard.sw3.x{sw3:02x}"
    return key if key in catalog() else "idcard.sw3.unknown"


class SamStatusError(DeviceError):
    """The SAM answered a command with a failure status (SW3); ``sw3`` holds the code.

    The message carries the status meaning in the message's own language.
    """

    def __init__(self, sw3: int, command: str = "", key: str = "idcard.sam_status") -> None:
        self.sw3 = sw3
        super().__init__(key, code=f"{sw3:02X}", command=command)

    def _text(self, lang: str) -> str:
        meaning = t(sw3_key(self.sw3), lang, code=f"{self.sw3:02X}")
        return t(self.key, lang, **self.params, meaning=meaning)

    def __str__(self) -> str:
        return self._text("en")

    @property
    def message(self) -> str:
        return self._text(get_language())

    @property
    def messages(self) -> tuple[str, str]:
        return self._text("zh"), self._text("en")


class NoCardError(NoCardYet, SamStatusError):
    """The reader is there but no card is on it (find card answered 80)."""


class SelectFailedError(CardProblem, SamStatusError):
    """A card was found but could not be selected (select card answered 81): tap again."""


class CardRefusedError(CardProblem, SamStatusError):
    """The SAM could not read or authenticate this card (31, 32, 33, 40, 41, 47, 91)."""


class SamFaultError(ReaderFault, SamStatusError):
    """The SAM itself failed or refused the conversation (10, 11, 21, 23, 24, 60, 66, FF, unknown)."""


# SW3 codes that are about the card on the reader; every other failure is the SAM's own.
CARD_STATUSES = frozenset({0x31, 0x32, 0x33, 0x40, 0x41, 0x47, 0x91})


def sam_status_error(sw3: int, command: str = "") -> SamStatusError:
    """The error for a failure status ``sw3`` of ``command``: no card, select failed, card, SAM."""
    if sw3 == 0x80:
        return NoCardError(sw3, command, key="idcard.no_card")
    if sw3 == 0x81:
        return SelectFailedError(sw3, command, key="idcard.select_failed")
    if sw3 in CARD_STATUSES:
        return CardRefusedError(sw3, command)
    return SamFaultError(sw3, command)


class CardRemovedError(CardProblem, DeviceError):
    """The card left the reader while it was being read."""


class ReaderTimeoutError(NoCardYet, DeviceError):
    """No card came within the caller's wait (``idcard.timeout``)."""


class ReaderNotAnsweringError(ReaderFault, DeviceError):
    """The reader stopped answering within a command's deadline (``idcard.reader_timeout``)."""


class NoReaderError(ReaderFault, DeviceError):
    """The named reader (or any reader) is not connected, not usable, or its service is down."""


class ReaderGoneError(ReaderFault, DeviceError):
    """The reader disappeared (unplugged) while we were using it."""


class ReaderClosedError(ReaderFault, DeviceError):
    """The reader was closed (the desk is shutting down) while a read waited on it."""


class ReaderServiceError(ReaderFault, DeviceError):
    """The reader's service (pcscd, libusb) reported an error this module has no words for."""


class NotASamReaderError(ReaderFault, DeviceError):
    """The reader has no security module (SAM): it cannot read the identity at all."""


class PhotoDecoderError(ReaderFault, DeviceError):
    """The vendor's WLT decoder (part of the reader's set-up) is missing, unloadable or failed."""
