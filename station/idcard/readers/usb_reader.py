"""Certified SAM readers on raw USB bulk endpoints (e.g. Routon iDR200, USB 0400:C35A), via pyusb.

Such readers carry the same SAM_V frames as serial ones, on bulk endpoints. The vendor manual of
the iDR200's SAM module splits every frame over two pipes each way: the 7-byte header (preamble
and LEN) on OUT 0x02 / IN 0x81, the rest on OUT 0x06 / IN 0x85. Vendor and product id, interface,
endpoints, the split and the timings are the reader's profile (drivers/readers, transport =
"usb"); a reader that sends whole frames on one pair lists one endpoint each way.

Everything goes through ``usb.core`` with libusb-1.0 as the backend; tests pass an emulated
backend to the same code (``station.idcard.usb_emulator``). Access problems are told in words:
not plugged in, no permission (the udev rule), held by a kernel driver, claimed by another program.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from pathlib import Path
from typing import Any

from station import reasons
from station.errors import DeviceError
from station.idcard import samv
from station.idcard.errors import (
    CardDataError,
    NoReaderError,
    ReaderClosedError,
    ReaderGoneError,
    ReaderNotAnsweringError,
    ReaderServiceError,
)
from station.idcard.profiles import Profile, Timing, choose_profile, load_profiles
from station.idcard.readers.polling import PollingSamReader
from station.idcard.samecard import SYSTEM_CLOCK, Clock

log = logging.getLogger("station.idcard")

_DENIED = {errno.EACCES, errno.EPERM}
_GONE = {errno.ENODEV, errno.ENOENT, errno.ESHUTDOWN}


def libusb_backend() -> Any:
    """pyusb's libusb-1.0 backend; NoReaderError in words when libusb is not installed."""
    try:
        import usb.backend.libusb1 as libusb1
    except ImportError:
        raise NoReaderError("idcard.usb.no_pyusb") from None
    backend = libusb1.get_backend()
    if backend is None:
        raise NoReaderError("idcard.usb.no_libusb")
    return backend


def find_device(profiles: list[Profile], backend: Any) -> tuple[Profile, Any] | None:
    """The first connected device that one of ``profiles`` describes, with that profile."""
    import usb.core

    for profile in profiles:
        spec = profile.usb
        if spec is None:
            continue
        try:
            device = usb.core.find(idVendor=spec.vendor_id, idProduct=spec.product_id,
                                   backend=backend)
        except usb.core.USBError as exc:
            raise ReaderServiceError("idcard.usb.error", model=profile.model or profile.name,
                                     error=reasons.of(exc)) from None
        if device is not None:
            return profile, device
    return None


def kernel_driver_name(device: Any, interface: int) -> str | None:
    """Name of the kernel driver bound to ``interface`` (from sysfs), when it can be seen."""
    try:
        ports = ".".join(str(p) for p in device.port_numbers or ())
        link = Path(f"/sys/bus/usb/devices/{device.bus}-{ports}:1.{interface}/driver")
        return os.path.basename(os.readlink(link)) if ports else None
    except (OSError, TypeError, AttributeError):
        return None


def locate(profile: str | None, backend: Any = None,
           profiles_dir: Path | None = None) -> tuple[Profile, Any]:
    """The plugged-in reader (of the model ``profile`` names, or of any known model) and its
    profile; NoReaderError listing the models looked for when none is attached."""
    backend = backend if backend is not None else libusb_backend()
    if profile:
        candidates = [choose_profile("", profile, profiles_dir, transport="usb")]
    else:
        candidates = list(load_profiles(profiles_dir, "usb").values())
    found = find_device(candidates, backend)
    if found is None:
        known = ", ".join(f"{p.model or p.name} ({p.usb.id})" for p in candidates if p.usb)
        raise NoReaderError("idcard.usb.not_found", models=known or "-")
    return found


class UsbTransport:
    """One claimed USB reader: frames out over the profile's OUT endpoints, answers back in."""

    def __init__(self, device: Any, profile: Profile, clock: Clock = SYSTEM_CLOCK) -> None:
        import usb.core
        import usb.util

        assert profile.usb is not None
        self._usb = usb.core
        self.device = device
        self.profile = profile
        self.spec = profile.usb
        self.clock = clock
        self.model = profile.model or profile.name
        self._reattach = False
        self._packet: dict[int, int] = {}
        self._closed = False
        self._io = threading.Lock()     # close() waits for the exchange in flight (libusb must
        self._claim()                   # not lose the device under a running transfer)

    # -- access ---------------------------------------------------------------------------------
    def _access_error(self, exc: Exception, driver: str | None = None) -> DeviceError:
        code = getattr(exc, "errno", None)
        where = {"model": self.model, "id": self.spec.id}
        if code in _DENIED and driver:
            return NoReaderError("idcard.usb.kernel_driver", driver=driver, **where)
        if code in _DENIED:
            return NoReaderError("idcard.usb.permission", **where)
        if code == errno.EBUSY:
            return NoReaderError("idcard.usb.busy", **where)
        if code in _GONE:
            return ReaderGoneError("idcard.usb.gone", **where)
        return ReaderServiceError("idcard.usb.error", model=self.model, error=reasons.of(exc))

    def _claim(self) -> None:
        import usb.util

        usb_core, device, interface = self._usb, self.device, self.spec.interface
        try:
            try:
                active = device.is_kernel_driver_active(interface)
            except NotImplementedError:
                active = False
            if active:
                driver = kernel_driver_name(device, interface) or "?"
                try:
                    device.detach_kernel_driver(interface)
                except usb_core.USBError as exc:
                    raise self._access_error(exc, driver) from None
                self._reattach = True
                log.info("USB reader %s: detached kernel driver %s", self.spec.id, driver)
            try:
                config = device.get_active_configuration()
            except usb_core.USBError as exc:
                if getattr(exc, "errno", None) is not None:
                    raise
                device.set_configuration()
                config = device.get_active_configuration()
            usb.util.claim_interface(device, interface)
            self._check_endpoints(config)
        except usb_core.USBError as exc:
            self._release()
            raise self._access_error(exc) from None
        except DeviceError:
            self._release()
            raise

    def _check_endpoints(self, config: Any) -> None:
        try:
            interface = config[(self.spec.interface, 0)]
        except (IndexError, KeyError, self._usb.USBError):
            interface = None
        found = {ep.bEndpointAddress: ep.wMaxPacketSize for ep in (interface or ())}
        wanted = self.spec.out_endpoints + self.spec.in_endpoints
        missing = [f"{ep:02X}" for ep in wanted if ep not in found]
        if missing:
            raise NoReaderError("idcard.usb.endpoints", model=self.model, id=self.spec.id,
                                missing=" ".join(missing),
                                present=" ".join(f"{ep:02X}" for ep in found) or "-")
        self._packet = {ep: max(1, int(found[ep])) for ep in wanted}

    def _release(self) -> None:
        import usb.util

        usb_core = self._usb
        with contextlib.suppress(usb_core.USBError, ValueError):
            usb.util.release_interface(self.device, self.spec.interface)
        if self._reattach:
            try:
                self.device.attach_kernel_driver(self.spec.interface)
            except (usb_core.USBError, NotImplementedError):
                log.warning("USB reader %s: could not give the interface back to its kernel "
                            "driver", self.spec.id)
            self._reattach = False
        with contextlib.suppress(usb_core.USBError):
            usb.util.dispose_resources(self.device)

    def close(self) -> None:
        with self._io:
            if not self._closed:
                self._closed = True
                self._release()

    # -- frames ---------------------------------------------------------------------------------
    def _timeout_ms(self, end: float) -> int:
        # libusb reads 0 as "wait forever": never pass it.
        return max(1, int((end - self.clock.monotonic()) * 1000))

    def _write(self, endpoint: int, data: bytes, end: float, deadline: float) -> None:
        try:
            written = self.device.write(endpoint, data, self._timeout_ms(end))
        except self._usb.USBTimeoutError:
            raise ReaderNotAnsweringError("idcard.reader_timeout", seconds=deadline) from None
        except self._usb.USBError as exc:
            raise self._access_error(exc) from None
        if written != len(data):
            raise ReaderServiceError("idcard.usb.error", model=self.model,
                                     error=f"wrote {written} of {len(data)} bytes")

    def _read(self, endpoint: int, size: int, end: float, have: bytearray) -> None:
        """Append to ``have`` until it holds ``size`` bytes, or the deadline passes."""
        packet = self._packet[endpoint]
        while len(have) < size and self.clock.monotonic() < end:
            want = -(-(size - len(have)) // packet) * packet   # whole packets: no overflow
            try:
                chunk = self.device.read(endpoint, want, self._timeout_ms(end))
            except self._usb.USBTimeoutError:
                break
            except self._usb.USBError as exc:
                raise self._access_error(exc) from None
            if not chunk:
                break
            have.extend(bytes(chunk))

    def transceive(self, frame: bytes, deadline: float) -> bytes:
        with self._io:
            if self._closed:
                raise ReaderClosedError("idcard.reader_closed")
            return self._exchange(frame, deadline)

    def _exchange(self, frame: bytes, deadline: float) -> bytes:
        end = self.clock.monotonic() + deadline
        outs, ins, split = self.spec.out_endpoints, self.spec.in_endpoints, self.spec.header_size
        if len(outs) == 2:
            self._write(outs[0], frame[:split], end, deadline)
            self._write(outs[1], frame[split:], end, deadline)
        else:
            self._write(outs[0], frame, end, deadline)
        answer = bytearray()
        self._read(ins[0], samv.HEADER_SIZE, end, answer)
        if not answer:
            raise ReaderNotAnsweringError("idcard.reader_timeout", seconds=deadline)
        if len(answer) < samv.HEADER_SIZE:
            raise CardDataError("idcard.frame.truncated", expected=samv.HEADER_SIZE,
                                actual=len(answer))
        size = samv.frame_size(bytes(answer[:samv.HEADER_SIZE]))
        self._read(ins[-1], size, end, answer)
        if len(answer) < size:
            raise CardDataError("idcard.frame.truncated", expected=size, actual=len(answer))
        return bytes(answer[:size])


class UsbReader(PollingSamReader):
    """``usb`` (any known USB reader model that is plugged in) or ``usb:PROFILE``."""

    def __init__(self, profile: str | None = None, backend: Any = None,
                 timing: Timing | None = None, clock: Clock = SYSTEM_CLOCK,
                 profiles_dir: Path | None = None) -> None:
        self.profile, device = locate(profile, backend, profiles_dir)
        self.transport = UsbTransport(device, self.profile, clock)
        super().__init__(f"usb:{self.profile.name}", self.transport.transceive,
                         timing or self.profile.timing, clock)

    def close(self) -> None:
        if not self._closed:
            super().close()
            self.transport.close()
