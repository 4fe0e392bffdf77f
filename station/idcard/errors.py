"""Errors of the ID card area.

Two families, so callers can tell them apart:
- ``CardDataError``: bytes from a reader or card that do not parse (bad frame, bad text block).
  The frame codec and the record decoder raise *only* this type for malformed input.
- the other ``DeviceError`` subclasses: the reader, the service or the card did something the
  operator must act on (no card, card pulled, reader unplugged, timeout). All exit with code 3.
"""

from __future__ import annotations

from station.errors import DeviceError
from station.i18n import catalog, get_language, t


class CardDataError(DeviceError):
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


class NoCardError(SamStatusError):
    """The reader is there but no card is on it (find card answered 80)."""


class SelectFailedError(SamStatusError):
    """A card was found but could not be selected (select card answered 81)."""


class CardRemovedError(DeviceError):
    """The card left the reader while it was being read."""


class ReaderTimeoutError(DeviceError):
    """No card within the caller's timeout, or the reader stopped answering."""


class NoReaderError(DeviceError):
    """The named reader (or any reader) is not connected, or the service is not running."""


class ReaderGoneError(DeviceError):
    """The reader disappeared (unplugged) while we were using it."""


class PhotoDecoderError(DeviceError):
    """The optional vendor WLT decoder is not configured, not loadable, or failed."""
