"""The one interface every ID card reader offers, and what a read returns.

Readers differ (PC/SC, serial SAM_V, in-process simulator, typed entry); the station's session
layer only sees ``CardReader.read(timeout) -> CardRead`` plus capability flags that say what a
reader can deliver (a photo? a card serial? insertion events? is it typed and so needs approval?).
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from station.domain.identity import Identity
from station.idcard.record import decode_extra_address, decode_text
from station.idcard.validate import validate_identity, warning
from station.privacy import mask_id

log = logging.getLogger("station.idcard")


@dataclass(frozen=True)
class Capabilities:
    """What a reader can deliver; the session layer adapts its screens to these."""

    reads_identity: bool = True      # name, number, … (a SAM reader, the simulator, typed entry)
    reads_photo: bool = True         # the raw 1024-byte WLT photo
    reads_serial: bool = True        # the card's 8-byte serial number
    card_events: bool = True         # waits for a card by itself (no typing)
    typed: bool = False              # identity typed by a person: flagged, needs supervisor approval


@dataclass
class CardRead:
    """One card read: the identity (with validation warnings) and the raw blocks it came from."""

    identity: Identity
    raw_text: bytes = b""
    raw_photo: bytes | None = None
    card_serial: str | None = None
    extra_address: str | None = None
    extra: dict[str, str] = field(default_factory=dict)   # layout extras: pass number, version, …
    reader: str = ""
    elapsed_ms: float = 0.0
    needs_approval: bool = False                         # typed entry: a supervisor must approve

    @property
    def warnings(self) -> list[dict]:
        return self.identity.warnings

    def logged(self) -> CardRead:
        """Log the read (number masked, no name) and return it."""
        log.info("card read on %s: %s %s, %.1f ms, warnings %s", self.reader,
                 self.identity.card_type, mask_id(self.identity.id_number), self.elapsed_ms,
                 [w["code"] for w in self.warnings] or "none")
        return self


@dataclass
class ProbeResult:
    """How one way of reaching the SAM (a PC/SC envelope, a USB endpoint layout) fared on the
    attached reader. ``as_written`` is False for a variant the probe tried beside the profiles."""

    profile: str
    envelope: str            # tunnel, block-read, serial-only, or the USB endpoints used
    verified: bool           # the profile is known to work on real hardware
    answers: bool = False
    detail: str = ""
    as_written: bool = True

    @property
    def reads_identity(self) -> bool:
        return self.envelope != "serial-only"

    def to_json(self) -> dict:
        return {**asdict(self), "reads_identity": self.reads_identity}


def card_read_from_blocks(text: bytes, photo: bytes | None, *, extra_address: bytes | None = None,
                          card_serial: str | None = None, reader: str = "",
                          today: dt.date | None = None) -> CardRead:
    """Decode the blocks a SAM returned into a validated ``CardRead`` (shared by all SAM readers)."""
    decoded = decode_text(text)
    values: dict[str, Any] = dict(decoded.values)
    extra_text = decode_extra_address(extra_address) if extra_address is not None else None
    if extra_text:
        # The card's endorsement of a later address: shown with the printed one, never dropped.
        values["address"] = f"{values.get('address') or ''}；{extra_text}".lstrip("；")
    identity = Identity(**values)
    identity.card_serial = card_serial
    identity.source = "card"
    if photo is not None:
        identity.photo_wlt_sha256 = hashlib.sha256(photo).hexdigest()
    identity.warnings = [warning(code, **params) for code, params in decoded.findings]
    identity.warnings.extend(validate_identity(identity, today))
    return CardRead(identity=identity, raw_text=bytes(text), raw_photo=photo,
                    card_serial=card_serial, extra_address=extra_text, extra=decoded.extra,
                    reader=reader)


class CardReader(abc.ABC):
    """A source of card reads. ``read`` blocks (never on the UI thread) until a card or timeout.

    One card on the reader is read once: calling ``read`` again while the same card stays on the
    reader waits for it to be removed and a card to be tapped again.
    """

    name: str = ""
    capabilities: Capabilities = Capabilities()

    @abc.abstractmethod
    def read(self, timeout: float) -> CardRead:
        """Wait up to ``timeout`` seconds for a card and read it; DeviceError subclasses on trouble."""

    def close(self) -> None:  # noqa: B027 - readers without resources need no close
        """Release the device; a blocked ``read`` in another thread returns promptly."""

    def __enter__(self) -> CardReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
