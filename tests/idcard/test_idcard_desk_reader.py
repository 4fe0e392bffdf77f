"""The desk's reader comes back by itself: a reader plugged in after the desk started, or
unplugged and plugged back in, reads the next card without restarting the station — and a
missing reader does not keep the camera from starting.

Through the real ``DeskDevices`` and the USB reader on pyusb, with the emulated iDR200 on the
bus (``SamUsbBackend``): every open is a real find, configuration and interface claim.
"""

from __future__ import annotations

import pytest

from station.devices import DeskDevices
from station.idcard import NoReaderError, ReaderGoneError
from station.idcard.emulator import VirtualCard, VirtualSam
from station.idcard.profiles import choose_profile
from station.idcard.usb_emulator import SamUsbBackend


@pytest.fixture
def bus(fake_clock):
    """An iDR200 that is not plugged in yet, and a desk configured to read from USB."""
    backend = SamUsbBackend(choose_profile("", "routon-idr200", transport="usb"), VirtualSam())
    backend.plugged = False
    devices = DeskDevices(camera_kind=None, reader_spec="usb",
                          reader_opts={"backend": backend, "clock": fake_clock})
    yield backend, devices
    devices.close()


def test_a_reader_plugged_in_after_the_desk_started_reads(bus, samples):
    backend, devices = bus
    with pytest.raises(NoReaderError) as info:
        devices.open()
    assert info.value.key == "idcard.usb.not_found"
    with pytest.raises(NoReaderError):
        devices.read_card(1)                     # still not there: said again, not swallowed
    backend.plugged = True
    backend.sam.card = VirtualCard(samples["resident"][0])
    read = devices.read_card(5)
    assert read is not None and read.identity.id_number == samples["resident"][0].id_number
    assert backend.device.claimed == {0}


def test_a_reader_unplugged_and_plugged_back_reads_again(bus, samples):
    backend, devices = bus
    backend.plugged = True
    devices.open()
    first = devices.reader
    backend.plugged = False
    with pytest.raises(ReaderGoneError):
        devices.read_card(5)
    assert devices.reader is None                # the dead reader was let go
    backend.plugged = True
    backend.sam.card = VirtualCard(samples["hmt_residence"][0], layout="J")
    read = devices.read_card(5)
    assert read is not None and read.identity.card_type == "hmt_residence"
    assert devices.reader is not None and devices.reader is not first


def test_no_reopen_before_open_or_for_typed_entry(fake_clock):
    backend = SamUsbBackend(choose_profile("", "routon-idr200", transport="usb"), VirtualSam())
    devices = DeskDevices(camera_kind=None, reader_spec="usb",
                          reader_opts={"backend": backend, "clock": fake_clock})
    assert devices.read_card(1) is None and devices.reader is None   # open() has not run yet
    assert backend.device.claimed == set()
    typed = DeskDevices(camera_kind=None, reader_spec="manual")
    typed.open()
    assert typed.read_card(1) is None and typed.reader is None


def test_a_missing_reader_does_not_keep_the_camera_from_starting(fake_clock):
    backend = SamUsbBackend(choose_profile("", "routon-idr200", transport="usb"), VirtualSam())
    backend.plugged = False
    devices = DeskDevices(camera_kind="sim", reader_spec="usb",
                          reader_opts={"backend": backend, "clock": fake_clock})
    try:
        with pytest.raises(NoReaderError):
            devices.open()
        assert devices.camera is not None
        assert devices.camera.wait_connected(60)     # generous: the machine may be loaded
    finally:
        devices.close()
