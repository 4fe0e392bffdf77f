"""The USB bulk reader through pyusb, with an emulated reader behind a real pyusb backend.

``SamUsbBackend`` implements pyusb's backend interface: the reader code under test takes the
same path as with libusb and a real Routon iDR200 (descriptors, configuration, kernel driver,
interface claim, bulk transfers with timeouts). Polling runs on a fake clock, so holding a card
for 10 s costs milliseconds while every poll is a real SAM_V exchange.
"""

from __future__ import annotations

import pytest

from station.idcard import (
    CardRefusedError,
    NoReaderError,
    ReaderGoneError,
    ReaderNotAnsweringError,
    ReaderTimeoutError,
    SelectFailedError,
    open_reader,
    samv,
)
from station.idcard.emulator import VirtualCard, VirtualSam
from station.idcard.profiles import choose_profile
from station.idcard.usb_emulator import SamUsbBackend
from tests.idcard.conftest import close_during_read

IDR200 = "routon-idr200"


@pytest.fixture
def idr200():
    return choose_profile("", IDR200, transport="usb")


@pytest.fixture
def usb_reader(idr200, fake_clock):
    """An emulated iDR200 on the USB bus, and the station's reader opened on it."""
    backend = SamUsbBackend(idr200, VirtualSam())
    reader = open_reader("usb", backend=backend, clock=fake_clock)
    yield backend, reader
    reader.close()


def test_the_idr200_profile_holds_the_public_facts(idr200):
    spec = idr200.usb
    assert (spec.vendor_id, spec.product_id) == (0x0400, 0xC35A)
    assert spec.out_endpoints == (0x02, 0x06) and spec.in_endpoints == (0x81, 0x85)
    assert spec.header_size == 7
    assert idr200.timing.poll_interval >= 0.3
    assert idr200.timing.deadline(samv.READ_TEXT_PHOTO) == 3.5
    assert idr200.verified is False


@pytest.mark.parametrize("label", ["resident", "hmt_residence", "foreign_2017", "foreign_2023"])
def test_reads_every_card_type_over_usb_bulk(usb_reader, samples, label):
    backend, reader = usb_reader
    identity, layout = samples[label]
    card = VirtualCard(identity, layout=layout, extra_address="云南省大理市下关镇1号")
    backend.sam.card = card
    result = reader.read(timeout=5)
    got, expected = result.identity.to_json(), identity.to_json()
    for key in ("card_type", "name", "name_en", "gender", "nation", "nationality", "birth_date",
                "valid_from", "valid_to", "id_number", "issuer"):
        assert got.get(key) == expected.get(key), key
    assert result.raw_text == card.text and result.raw_photo == card.photo
    assert result.extra_address == "云南省大理市下关镇1号"
    assert "card_serial" not in got                 # the select serial is zeros: not stored
    assert got["source"] == "card"
    assert reader.name == "usb:routon-idr200"
    # The vendor manual's framing: header on 02/81, the rest on 06/85, nothing else.
    assert backend.protocol_errors == []
    outs = [(ep, data) for ep, data in backend.transfers if ep in (0x02, 0x06)]
    assert {ep for ep, _ in outs} == {0x02, 0x06}
    assert all(len(data) == 7 and data[:5] == samv.PREAMBLE for ep, data in outs if ep == 0x02)
    read_answer = b"".join(data for ep, data in backend.transfers if ep in (0x81, 0x85))
    assert bytes.fromhex("AAAAAA9669 0508 000090") in read_answer


def test_select_status_12_34_81_reads_as_select_failed_tap_again(usb_reader, samples):
    backend, reader = usb_reader
    backend.sam.card = VirtualCard(samples["resident"][0], fault="select_failed")
    with pytest.raises(SelectFailedError) as info:
        reader.read(timeout=5)
    assert info.value.sw3 == 0x81 and info.value.key == "idcard.select_failed"
    zh, en = info.value.messages
    assert "Select failed" in en and "tap again" in en
    assert "选卡失败" in zh and "重新放卡" in zh
    assert "damaged" not in en.lower() and "frame" not in en.lower()
    answer = next(data for ep, data in backend.transfers if ep == 0x85 and data[2] == 0x81)
    assert answer[:2] == bytes.fromhex("1234")      # SW1 SW2 were 12 34: kept, never judged


def test_holding_a_card_for_ten_seconds_yields_one_read(usb_reader, samples, fake_clock):
    backend, reader = usb_reader
    backend.sam.card = VirtualCard(samples["resident"][0])
    started = fake_clock.now
    reads, quiet = 0, 0
    while fake_clock.now - started < 10:
        try:
            reader.read(timeout=1)
            reads += 1
        except ReaderTimeoutError:
            quiet += 1
    assert reads == 1 and quiet >= 8
    finds = backend.sam.commands.count(samv.FIND_CARD)
    # One "find card" per 300 ms, no faster (vendor guidance), every one really exchanged.
    assert 30 <= finds <= 35, finds
    assert backend.sam.commands.count(samv.READ_TEXT_PHOTO) == finds


def test_two_different_cards_with_zero_serials_are_two_people(usb_reader, samples):
    backend, reader = usb_reader
    first = VirtualCard(samples["resident"][0])
    second = VirtualCard(samples["hmt_residence"][0], layout="J")
    assert first.select_serial == second.select_serial == bytes(8)
    backend.sam.card = first
    assert reader.read(timeout=5).identity.id_number == first.identity.id_number
    backend.sam.card = second                      # swapped between two polls, no gap seen
    assert reader.read(timeout=5).identity.id_number == second.identity.id_number


def test_the_same_card_lifted_and_tapped_again_is_read_again(usb_reader, samples):
    backend, reader = usb_reader
    card = VirtualCard(samples["foreign_2023"][0], layout="Y")
    backend.sam.card = card
    reader.read(timeout=5)
    backend.sam.card = None
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=1.5)
    backend.sam.card = card
    assert reader.read(timeout=5).identity.id_number == card.identity.id_number


def test_a_find_card_flicker_does_not_make_a_second_read(usb_reader, samples):
    """Some readers answer "no card" for a poll while the card lies still: still one tap."""
    backend, reader = usb_reader
    card = VirtualCard(samples["resident"][0])
    backend.sam.card = card
    reader.read(timeout=5)
    backend.sam.card = None
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=0.2)                   # one poll without the card
    backend.sam.card = card
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=3)


def test_a_card_pulled_mid_read_and_a_mute_reader(usb_reader, samples):
    backend, reader = usb_reader
    backend.sam.card = VirtualCard(samples["resident"][0], fault="pull")
    with pytest.raises(CardRefusedError) as info:
        reader.read(timeout=5)
    assert info.value.sw3 == 0x41
    backend.sam.card = VirtualCard(samples["resident"][0], fault="mute")
    with pytest.raises(ReaderNotAnsweringError):
        reader.read(timeout=5)


@pytest.mark.parametrize("fault, key, words", [
    ("permission", "idcard.usb.permission", "99-station-idcard.rules"),
    ("busy", "idcard.usb.busy", "another program"),
    ("driver_locked", "idcard.usb.kernel_driver", "kernel driver"),
])
def test_device_access_problems_are_told_in_words(idr200, fault, key, words):
    backend = SamUsbBackend(idr200, VirtualSam(), fault=fault)
    with pytest.raises(NoReaderError) as info:
        open_reader("usb", backend=backend)
    assert info.value.key == key and info.value.exit_code == 3
    zh, en = info.value.messages
    assert words in en and "0400:c35a" in en and "0400:c35a" in zh
    assert backend.device.claimed == set()         # nothing left claimed


def test_a_kernel_driver_is_detached_for_the_read_and_given_back(idr200, samples, fake_clock):
    backend = SamUsbBackend(idr200, VirtualSam(VirtualCard(samples["resident"][0])),
                            fault="kernel_driver")
    reader = open_reader("usb:routon-idr200", backend=backend, clock=fake_clock)
    assert backend.device.kernel_driver is False and backend.device.claimed == {0}
    assert reader.read(timeout=5).identity.card_type == "resident"
    reader.close()
    assert backend.device.kernel_driver is True and backend.device.claimed == set()


def test_not_plugged_in_and_unplugged_while_reading(idr200, samples, fake_clock):
    backend = SamUsbBackend(idr200, VirtualSam())
    backend.plugged = False
    with pytest.raises(NoReaderError) as info:
        open_reader("usb", backend=backend)
    assert info.value.key == "idcard.usb.not_found"
    assert "Routon iDR200 (0400:c35a)" in info.value.messages[1]
    backend.plugged = True
    reader = open_reader("usb", backend=backend, clock=fake_clock)
    backend.plugged = False
    with pytest.raises(ReaderGoneError) as info:
        reader.read(timeout=5)
    assert info.value.key == "idcard.usb.gone"
    reader.close()


def test_a_profile_whose_endpoints_the_device_lacks_is_refused(idr200, tmp_path):
    text = idr200.path.read_text().replace('out_endpoints = ["02", "06"]',
                                           'out_endpoints = ["03"]')
    (tmp_path / "other.toml").write_text(text)
    backend = SamUsbBackend(idr200, VirtualSam())
    with pytest.raises(NoReaderError) as info:
        open_reader("usb", backend=backend, profiles_dir=tmp_path)
    assert info.value.key == "idcard.usb.endpoints" and "03" in info.value.messages[1]


def test_a_host_that_ignores_the_split_gets_no_answer(idr200, samples, fake_clock, tmp_path):
    """The emulator holds the host to the manual's framing: a whole frame on pipe 02 is not a
    frame the iDR200 answers (so a driver that gets the framing wrong fails the tests)."""
    text = idr200.path.read_text().replace('out_endpoints = ["02", "06"]', 'out_endpoints = ["02"]')
    (tmp_path / "whole.toml").write_text(text)
    backend = SamUsbBackend(idr200, VirtualSam(VirtualCard(samples["resident"][0])))
    reader = open_reader("usb", backend=backend, profiles_dir=tmp_path, clock=fake_clock)
    with pytest.raises(ReaderNotAnsweringError):
        reader.read(timeout=5)
    assert backend.protocol_errors and "expected 7" in backend.protocol_errors[0]
    reader.close()


def test_the_real_libusb_path_says_when_no_reader_is_plugged_in(run_station):
    """No iDR200 on this machine: the CLI goes through libusb and says so (exit 3)."""
    out = run_station("--lang", "en", "idcard", "read", "--reader", "usb", "--timeout", "1")
    assert out.returncode == 3, out.stderr
    assert "No USB card reader found" in out.stderr and "0400:c35a" in out.stderr


def test_the_udev_rule_covers_every_usb_reader_profile():
    from station.idcard.profiles import load_profiles
    from station.paths import DRIVERS_DIR

    rules = (DRIVERS_DIR / "udev" / "99-station-idcard.rules").read_text()
    lines = [line for line in rules.splitlines() if line and not line.startswith("#")]
    for profile in load_profiles(transport="usb").values():
        spec = profile.usb
        match = [line for line in lines
                 if f'ATTR{{idVendor}}=="{spec.vendor_id:04x}"' in line
                 and f'ATTR{{idProduct}}=="{spec.product_id:04x}"' in line]
        assert match, profile.name
        assert 'SUBSYSTEM=="usb"' in match[0] and 'MODE="0660"' in match[0]
        assert 'TAG+="uaccess"' in match[0]


def test_doctor_finds_the_usb_reader_and_says_what_stops_it(idr200):
    from station.doctor.idcard import check_usb_readers

    backend = SamUsbBackend(idr200, VirtualSam())
    check = check_usb_readers(backend)
    assert check.status == "pass" and "0400:c35a" in check.message_en
    assert backend.sam.commands == [samv.SAM_STATUS] and backend.device.claimed == set()
    check = check_usb_readers(SamUsbBackend(idr200, VirtualSam(), whole_frames=True))
    assert check.status == "fail" and "station idcard probe --reader usb" in check.message_en
    assert check.details["sam"] == "SAM status SW3 11"
    check = check_usb_readers(SamUsbBackend(idr200, VirtualSam(), fault="permission"))
    assert check.status == "fail" and check.details["error"] == "idcard.usb.permission"
    unplugged = SamUsbBackend(idr200, VirtualSam())
    unplugged.plugged = False
    assert check_usb_readers(unplugged).status == "skip"
    assert check_usb_readers().status == "skip"          # this machine: libusb, no reader


def test_close_wakes_a_waiting_read_and_releases_the_device(idr200):
    from station.idcard.errors import ReaderClosedError

    backend = SamUsbBackend(idr200, VirtualSam())           # no card: the reader keeps polling
    reader = open_reader("usb", backend=backend)              # real clock
    errors = close_during_read(reader, read_timeout=30, join_timeout=5)
    assert errors and isinstance(errors[0], ReaderClosedError)
    assert backend.device.claimed == set()
