"""Identity from the second-generation resident ID card: SAM_V codec, readers, validation.

Entry point: ``open_reader(spec, **opts) -> CardReader`` with spec ``pcsc[:NAME]``,
``usb[:PROFILE]`` (a SAM reader on raw USB), ``serial:PORT``, ``sim``, ``virtual`` (real pcscd +
vpcd + built-in card emulator) or ``manual``; then ``reader.read(timeout) -> CardRead``. ``sim``
and ``virtual`` readers take cards with ``present(identity)``.
Heavy modules (pyscard, pyserial, pyusb) load only when their reader is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from station.errors import InputError
from station.idcard.errors import (
    CardDataError,
    CardProblem,
    CardRefusedError,
    CardRemovedError,
    NoCardError,
    NoCardYet,
    NoReaderError,
    ReaderFault,
    ReaderGoneError,
    ReaderNotAnsweringError,
    ReaderTimeoutError,
    SamFaultError,
    SamStatusError,
    SelectFailedError,
)
from station.idcard.readers.base import Capabilities, CardRead, CardReader

if TYPE_CHECKING:
    from station.idcard.readers.manual import ManualReader
    from station.idcard.readers.sim import SimReader

__all__ = [
    "Capabilities", "CardDataError", "CardProblem", "CardRead", "CardReader", "CardRefusedError",
    "CardRemovedError", "ManualReader", "NoCardError", "NoCardYet", "NoReaderError",
    "ReaderFault", "ReaderGoneError", "ReaderNotAnsweringError", "ReaderTimeoutError",
    "SamFaultError", "SamStatusError", "SelectFailedError", "SimReader", "open_reader",
]


def check_reader_spec(spec: str) -> str:
    """``spec`` if ``open_reader`` would take its form (without opening anything); else the same
    InputError (exit 2), so the desk refuses a mistyped ``--reader`` before it opens."""
    kind, _, arg = (spec or "").partition(":")
    if kind in ("pcsc", "usb") or (kind == "serial" and arg) or (
            kind in ("virtual", "sim", "manual") and not arg):
        return spec
    raise InputError("idcard.bad_reader_spec", spec=spec)


def open_reader(spec: str, **opts: Any) -> CardReader:
    """Open the reader named by ``spec``.

    Options: ``pcsc``, ``serial``, ``usb``: profile (name in drivers/readers), profiles_dir,
    timing (a ``profiles.Timing`` instead of the profile's); ``serial``, ``usb``: clock;
    ``usb``: backend (a pyusb backend; default libusb-1.0); ``virtual``: port and reader of an
    already running vpcd. Unknown specs raise InputError (exit 2); a missing device raises
    NoReaderError (exit 3).
    """
    kind, _, arg = (spec or "").partition(":")
    if kind == "pcsc":
        from station.idcard.readers.pcsc import PcscReader

        return PcscReader(arg or None, **opts)
    if kind == "usb":
        from station.idcard.readers.usb_reader import UsbReader

        if arg:
            opts = {**opts, "profile": arg}
        return UsbReader(**opts)
    if kind == "serial" and arg:
        from station.idcard.readers.serial_reader import SerialReader

        return SerialReader(arg, **opts)
    if kind == "virtual" and not arg:
        from station.idcard.readers.virtual import VirtualReader

        return VirtualReader(**opts)
    if kind == "sim" and not arg:
        from station.idcard.readers.sim import SimReader

        return SimReader(**opts)
    if kind == "manual" and not arg:
        from station.idcard.readers.manual import ManualReader

        return ManualReader()
    raise InputError("idcard.bad_reader_spec", spec=spec)


def __getattr__(name: str):
    # SimReader / ManualReader importable from the package without loading them eagerly.
    if name == "SimReader":
        from station.idcard.readers.sim import SimReader

        return SimReader
    if name == "ManualReader":
        from station.idcard.readers.manual import ManualReader

        return ManualReader
    raise AttributeError(name)
