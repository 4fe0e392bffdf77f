"""A pyusb backend with one emulated SAM_V reader on it, for tests and demos of the USB reader.

``usb.core.find(..., backend=SamUsbBackend(profile))`` finds a device with the profile's vendor
and product id, one interface with the profile's bulk endpoints, and a ``VirtualSam`` behind
them. The reader code under test is the same pyusb path a real reader takes: descriptors,
configuration, kernel-driver check, interface claim, bulk writes and reads with timeouts. The
emulator holds the host to the profile's framing (header on the first OUT endpoint, the rest on
the second): a frame sent any other way is never answered, and is recorded in
``protocol_errors``. Errors are raised as libusb's backend raises them (``USBError`` with errno).

``fault`` makes the device misbehave like real set-ups do:
  ``permission``     opening the device is refused (no udev rule): EACCES
  ``busy``           another program has claimed the interface: EBUSY
  ``kernel_driver``  a kernel driver holds the interface; detaching it works (root / udev rule)
  ``driver_locked``  a kernel driver holds the interface and may not be detached: EACCES
  ``unplugged``      the device vanishes: transfers fail with ENODEV

``whole_frames=True`` makes a device that lists the profile's endpoints but carries whole frames
on the first pair (the layout some public write-ups give for the iDR200): a host that splits
frames per the vendor manual is never answered, which is what ``station idcard probe`` must see.
"""

from __future__ import annotations

import array
import errno
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import usb.backend
from usb.core import USBError, USBTimeoutError

from station.idcard import samv
from station.idcard.emulator import CardPulled, VirtualSam
from station.idcard.errors import CardDataError
from station.idcard.profiles import Profile

FAULTS = ("permission", "busy", "kernel_driver", "driver_locked", "unplugged")
PACKET_SIZE = 64          # full-speed bulk endpoints
_LIBUSB = {errno.EACCES: (-3, "Access denied (insufficient permissions)"),
           errno.EBUSY: (-6, "Resource busy"), errno.ENODEV: (-4, "No such device (it may have "
                                                                  "been disconnected)"),
           errno.ETIMEDOUT: (-7, "Operation timed out")}


def _error(code: int) -> USBError:
    libusb_code, text = _LIBUSB[code]
    if code == errno.ETIMEDOUT:
        return USBTimeoutError(text, libusb_code, code)
    return USBError(text, libusb_code, code)


@dataclass
class _Descriptor:
    """A descriptor: pyusb reads its fields as attributes."""

    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class _Device:
    """The emulated device's state (the backend's device identification object)."""

    bus: int = 1
    address: int = 7
    configuration: int = 0                 # 0 = not configured yet
    kernel_driver: bool = False
    claimed: set[int] = field(default_factory=set)
    open_handles: int = 0


class SamUsbBackend(usb.backend.IBackend):
    """One USB reader described by ``profile`` (transport = "usb"), with ``sam`` behind it."""

    def __init__(self, profile: Profile, sam: VirtualSam | None = None,
                 fault: str | None = None, whole_frames: bool = False) -> None:
        if profile.usb is None:
            raise ValueError(f"profile {profile.name} is not a USB profile")
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
        super().__init__()
        self.spec = profile.usb
        self.sam = sam or VirtualSam()
        self.fault = fault
        self.whole_frames = whole_frames
        self.plugged = True
        self.device = _Device(kernel_driver=fault in ("kernel_driver", "driver_locked"))
        self.protocol_errors: list[str] = []
        self.transfers: list[tuple[int, bytes]] = []     # (endpoint, bytes) both ways, in order
        self._pending_header = b""
        self._answers: dict[int, deque[bytes]] = {ep: deque() for ep in self.spec.in_endpoints}
        self._lock = threading.Lock()

    # -- descriptors ---------------------------------------------------------------------------
    def enumerate_devices(self) -> list[_Device]:
        return [self.device] if self.plugged else []

    def get_parent(self, dev: _Device) -> None:
        return None

    def get_device_descriptor(self, dev: _Device) -> _Descriptor:
        return _Descriptor({
            "bLength": 18, "bDescriptorType": 1, "bcdUSB": 0x0110, "bDeviceClass": 0,
            "bDeviceSubClass": 0, "bDeviceProtocol": 0, "bMaxPacketSize0": PACKET_SIZE,
            "idVendor": self.spec.vendor_id, "idProduct": self.spec.product_id,
            "bcdDevice": 0x0100, "iManufacturer": 0, "iProduct": 0, "iSerialNumber": 0,
            "bNumConfigurations": 1, "address": dev.address, "bus": dev.bus,
            "port_number": 1, "port_numbers": (1,), "speed": 2})      # 2 = full speed

    def _endpoints(self) -> tuple[int, ...]:
        return self.spec.out_endpoints + self.spec.in_endpoints

    def get_configuration_descriptor(self, dev: _Device, config: int) -> _Descriptor:
        if config != 0:
            raise IndexError(config)
        return _Descriptor({
            "bLength": 9, "bDescriptorType": 2, "wTotalLength": 9 + 9 + 7 * 4,
            "bNumInterfaces": 1, "bConfigurationValue": 1, "iConfiguration": 0,
            "bmAttributes": 0xC0, "bMaxPower": 50, "extra_descriptors": []})

    def get_interface_descriptor(self, dev: _Device, intf: int, alt: int,
                                 config: int) -> _Descriptor:
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError((intf, alt, config))
        return _Descriptor({
            "bLength": 9, "bDescriptorType": 4, "bInterfaceNumber": self.spec.interface,
            "bAlternateSetting": 0, "bNumEndpoints": len(self._endpoints()),
            "bInterfaceClass": 0xFF, "bInterfaceSubClass": 0, "bInterfaceProtocol": 0,
            "iInterface": 0, "extra_descriptors": []})

    def get_endpoint_descriptor(self, dev: _Device, ep: int, intf: int, alt: int,
                                config: int) -> _Descriptor:
        return _Descriptor({
            "bLength": 7, "bDescriptorType": 5, "bEndpointAddress": self._endpoints()[ep],
            "bmAttributes": 0x02, "wMaxPacketSize": PACKET_SIZE, "bInterval": 0,
            "bRefresh": 0, "bSynchAddress": 0, "extra_descriptors": []})

    # -- access ---------------------------------------------------------------------------------
    def _alive(self) -> None:
        if not self.plugged or self.fault == "unplugged":
            raise _error(errno.ENODEV)

    def open_device(self, dev: _Device) -> _Device:
        if self.fault == "permission":
            raise _error(errno.EACCES)
        self._alive()
        dev.open_handles += 1
        return dev

    def close_device(self, dev_handle: _Device) -> None:
        dev_handle.open_handles -= 1

    def set_configuration(self, dev_handle: _Device, config_value: int) -> None:
        self._alive()
        dev_handle.configuration = config_value

    def get_configuration(self, dev_handle: _Device) -> int:
        self._alive()
        return dev_handle.configuration

    def set_interface_altsetting(self, dev_handle: _Device, intf: int, altsetting: int) -> None:
        self._alive()

    def claim_interface(self, dev_handle: _Device, intf: int) -> None:
        self._alive()
        if self.fault == "busy" or dev_handle.kernel_driver:
            raise _error(errno.EBUSY)       # libusb: a driver or another program has it
        dev_handle.claimed.add(intf)

    def release_interface(self, dev_handle: _Device, intf: int) -> None:
        dev_handle.claimed.discard(intf)

    def is_kernel_driver_active(self, dev_handle: _Device, intf: int) -> bool:
        self._alive()
        return dev_handle.kernel_driver

    def detach_kernel_driver(self, dev_handle: _Device, intf: int) -> None:
        if self.fault == "driver_locked":
            raise _error(errno.EACCES)
        dev_handle.kernel_driver = False

    def attach_kernel_driver(self, dev_handle: _Device, intf: int) -> None:
        dev_handle.kernel_driver = True

    def clear_halt(self, dev_handle: _Device, ep: int) -> None:
        self._alive()

    def reset_device(self, dev_handle: _Device) -> None:
        self._alive()

    # -- bulk transfers -------------------------------------------------------------------------
    def bulk_write(self, dev_handle: _Device, ep: int, intf: int, data: array.array,
                   timeout: int) -> int:
        self._alive()
        if intf not in dev_handle.claimed:
            raise _error(errno.EBUSY)
        chunk = bytes(data)
        with self._lock:
            self.transfers.append((ep, chunk))
            self._receive(ep, chunk)
        return len(chunk)

    def _receive(self, ep: int, chunk: bytes) -> None:
        outs, split = self.spec.out_endpoints, self.spec.header_size
        if len(outs) == 1 or self.whole_frames:
            if ep != outs[0]:
                self.protocol_errors.append(f"data on {ep:02X}; frames go whole on {outs[0]:02X}")
                return
            self._answer(chunk)
        elif ep == outs[0]:
            if len(chunk) != split:
                self.protocol_errors.append(f"{len(chunk)} bytes on {ep:02X}, expected {split}")
                return
            self._pending_header = chunk
        elif not self._pending_header:
            self.protocol_errors.append(f"data on {ep:02X} before a header on {outs[0]:02X}")
        else:
            header, self._pending_header = self._pending_header, b""
            self._answer(header + chunk)

    def _answer(self, frame: bytes) -> None:
        try:
            if samv.frame_size(frame[:samv.HEADER_SIZE]) != len(frame):
                self.protocol_errors.append(f"frame of {len(frame)} bytes disagrees with LEN")
        except CardDataError as exc:
            self.protocol_errors.append(exc.key)
            return
        card = self.sam.card
        if card is not None and card.fault == "mute" and frame[7:9] == bytes(samv.READ_TEXT_PHOTO):
            return                                   # never answers: the host times out
        try:
            answer = self.sam.handle(frame)
        except CardPulled:
            self.sam.card = None                     # the card left during the read
            answer = samv.build_response(samv.SW3_READ_FAILED)
        ins, split = self.spec.in_endpoints, self.spec.header_size
        if len(ins) == 1 or self.whole_frames:
            self._answers[ins[0]].append(answer)
        else:
            self._answers[ins[0]].append(answer[:split])
            self._answers[ins[1]].append(answer[split:])

    def bulk_read(self, dev_handle: _Device, ep: int, intf: int, buff: array.array,
                  timeout: int) -> int:
        self._alive()
        if intf not in dev_handle.claimed:
            raise _error(errno.EBUSY)
        with self._lock:
            queue = self._answers.get(ep)
            if not queue:
                raise _error(errno.ETIMEDOUT)       # nothing to send: the host's read times out
            data = queue.popleft()
            if len(data) > len(buff):                # the rest waits for the next read
                queue.appendleft(data[len(buff):])
                data = data[:len(buff)]
            self.transfers.append((ep, data))
        buff[:len(data)] = array.array("B", data)
        return len(data)
