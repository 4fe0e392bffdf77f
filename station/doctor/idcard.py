"""`station doctor` checks of the ID card area: readers visible to pcscd, known SAM readers on
USB (whether the station may open them, whether their SAM answers), the configured serial
reader (its port and its SAM), the photo decoder.

(pcscd itself is checked by the system part of the doctor.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from station.doctor.check import DoctorCheck, DoctorContext, Status
from station.errors import DeviceError, StationError

if TYPE_CHECKING:
    from station.settings import IdcardSection


def check_readers() -> DoctorCheck:
    from station.idcard.readers.pcsc import list_readers

    try:
        readers = list_readers()
    except DeviceError as exc:
        zh, en = exc.messages
        # pcscd down is the system check's finding; here it only means "cannot list readers".
        status: Status = "skip" if exc.key == "idcard.no_pcscd" else "fail"
        return DoctorCheck("idcard", "readers", status, zh, en, {"error": exc.key})
    if not readers:
        return DoctorCheck.from_key("idcard", "readers", "warn", "idcard.doctor.no_readers")
    return DoctorCheck.from_key("idcard", "readers", "pass", "idcard.doctor.readers",
                                {"readers": readers}, readers=", ".join(readers))


def check_usb_readers(backend: Any = None) -> DoctorCheck:
    """A known USB reader model plugged in, opened and claimed once (permissions, drivers), and
    its SAM answering "SAM status" in the profile's endpoint layout (read-only, no card)."""
    from station.idcard.profiles import load_profiles
    from station.idcard.readers.usb_probe import try_layout
    from station.idcard.readers.usb_reader import find_device, libusb_backend

    try:
        backend = backend if backend is not None else libusb_backend()
        found = find_device(list(load_profiles(transport="usb").values()), backend)
        if found is None:
            return DoctorCheck.from_key("idcard", "usb_readers", "skip",
                                        "idcard.doctor.no_usb_reader")
        profile, device = found
        assert profile.usb is not None
        answer = try_layout(device, profile, profile.usb)
    except DeviceError as exc:
        zh, en = exc.messages
        return DoctorCheck("idcard", "usb_readers", "fail", zh, en, {"error": exc.key})
    details = {"profile": profile.name, "id": profile.usb.id, "sam": answer.detail}
    words = {"model": profile.model or profile.name, "id": profile.usb.id,
             "profile": profile.name}
    if not answer.answers:
        return DoctorCheck.from_key("idcard", "usb_readers", "fail",
                                    "idcard.doctor.usb_sam_silent", details,
                                    detail=answer.detail, **words)
    return DoctorCheck.from_key("idcard", "usb_readers", "pass", "idcard.doctor.usb_reader",
                                details, **words)


def check_serial_reader(idcard: IdcardSection) -> DoctorCheck | None:
    """The configured serial reader: its port opens and its SAM answers "SAM status" (read-only,
    no card needed). None when the station is not configured for a serial reader."""
    from station.idcard import samv
    from station.idcard.errors import ReaderNotAnsweringError
    from station.idcard.profiles import choose_profile
    from station.idcard.readers.serial_reader import SerialReader

    kind, _, port = idcard.reader.partition(":")
    if kind != "serial":
        return None
    try:
        profile = choose_profile(port, idcard.profile or None, transport="serial")
        words = {"port": port, "profile": profile.name, "baudrate": profile.baudrate}
        reader = SerialReader(port, profile.name)
        try:
            response = reader.sam_status()
        finally:
            reader.close()
    except ReaderNotAnsweringError:
        return DoctorCheck.from_key("idcard", "serial_reader", "fail",
                                    "idcard.doctor.serial_silent", words, **words)
    except StationError as exc:
        zh, en = exc.messages
        return DoctorCheck("idcard", "serial_reader", "fail", zh, en,
                           {"port": port, "error": exc.key})
    if response.sw3 != samv.SW3_SUCCESS:
        return DoctorCheck.from_key("idcard", "serial_reader", "fail",
                                    "idcard.doctor.serial_sam_silent",
                                    {**words, "sw3": f"{response.sw3:02X}"},
                                    sw3=f"{response.sw3:02X}", **words)
    return DoctorCheck.from_key("idcard", "serial_reader", "pass", "idcard.doctor.serial_reader",
                                words, **words)


def check_photo_decoder(library: str, function: str = "unpack") -> DoctorCheck:
    from station.idcard.photo import load_decoder

    if not library:
        return DoctorCheck.from_key("idcard", "photo_decoder", "skip", "idcard.wlt_missing")
    try:
        load_decoder(library, function)
    except DeviceError as exc:
        zh, en = exc.messages
        return DoctorCheck("idcard", "photo_decoder", "fail", zh, en, {"path": library})
    return DoctorCheck.from_key("idcard", "photo_decoder", "pass", "idcard.doctor.wlt_ok",
                                {"path": library}, path=library)


def checks(ctx: DoctorContext) -> list[DoctorCheck]:
    idcard = ctx.settings.idcard
    serial = check_serial_reader(idcard)
    return [check_readers(), check_usb_readers(), *([serial] if serial else []),
            check_photo_decoder(idcard.wlt_library, idcard.wlt_function)]
