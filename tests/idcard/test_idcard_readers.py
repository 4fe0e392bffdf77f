"""The sim and manual readers, and the serial reader through a real pseudo-terminal pair."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import replace

import pytest

from station.errors import InputError
from station.idcard import (
    CardDataError,
    CardRefusedError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    ReaderNotAnsweringError,
    ReaderTimeoutError,
    SelectFailedError,
    SimReader,
    open_reader,
)
from station.idcard.emulator import SerialSamServer, VirtualCard, VirtualSam

# -- sim ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", ["追加住址\x1b[2J\x1b]0;pwned\x07", "追加\u202e址1号", "追加\u200b住址",
                                   "追加\x00住址"])
def test_an_extra_address_with_control_or_direction_marks_refuses_the_read(samples, extra):
    """The extra address (30 03) was joined to the card's address unchecked: an ESC sequence
    from a forged card reached the desk, the card read stored and the master's bundle, and the
    stored identity no longer loaded. It is held to the text block's rule: refused, named."""
    reader = open_reader("sim")
    reader.present(samples["resident"][0], extra_address=extra)
    with pytest.raises(CardDataError) as info:
        reader.read(timeout=1)
    assert info.value.key == "idcard.record.bad_character"
    assert info.value.params["field"] == "extra_address"
    assert all(c.isprintable() for c in str(info.value.params["character"]))
    assert "\x1b" not in info.value.message and "\u202e" not in info.value.message


def test_sim_reader_reads_what_is_presented(samples):
    reader = open_reader("sim")
    assert isinstance(reader, SimReader)
    identity, _ = samples["hmt_residence"]
    card = reader.present(identity)
    assert reader.pending == 1
    result = reader.read(timeout=1)
    assert result.identity.id_number == identity.id_number
    assert result.card_serial is None       # like a SAM reader on serial/USB: zeros, not stored
    assert result.raw_photo == card.photo
    assert result.identity.photo_wlt_sha256 and result.warnings == []
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=0.05)


def test_sim_reader_faults_and_close(samples):
    reader = SimReader()
    reader.present(samples["resident"][0], fault="checksum")
    with pytest.raises(CardDataError):
        reader.read(timeout=1)
    reader.present(samples["resident"][0], fault="pull")
    with pytest.raises(CardRemovedError):
        reader.read(timeout=1)
    threading.Timer(0.1, reader.close).start()
    started = time.monotonic()
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=120)
    assert time.monotonic() - started < 60      # close ended the wait


# -- manual ---------------------------------------------------------------------------------------

def test_manual_entry_is_flagged_and_needs_approval():
    reader = open_reader("manual")
    assert reader.capabilities.typed and not reader.capabilities.reads_photo
    reader.enter("11010519491231002x", "张三")
    result = reader.read(timeout=1)
    ident = result.identity
    assert ident.card_type == "manual" and result.needs_approval
    assert (ident.id_number, ident.birth_date, ident.gender) == (
        "11010519491231002X", "1949-12-31", "female")
    assert ident.warnings[0]["code"] == "manual_entry"
    assert "主管" in ident.warnings[0]["message_zh"]


@pytest.mark.parametrize("number", ["110105194912310021", "1101051949123100", ""])
def test_manual_entry_refuses_a_bad_number(number):
    with pytest.raises(InputError) as info:
        open_reader("manual").enter(number, "张三")
    assert info.value.location.field == "id_number"


def test_cli_manual_and_sim(run_station, samples):
    out = run_station("idcard", "read", "--reader", "manual", "--id-number", "11010519491231002X",
                      "--name", "张三", "--json")
    assert out.returncode == 0, out.stderr
    assert out.json()["card_type"] == "manual"
    out = run_station("idcard", "read", "--reader", "sim", "--json")
    assert out.returncode == 0 and out.json()["nation"] == "白"
    identity_file = run_station.data_dir.parent / "who.json"
    identity_file.write_text(json.dumps(samples["foreign_2023"][0].to_json(), ensure_ascii=False))
    out = run_station("idcard", "read", "--reader", "sim", "--identity", str(identity_file),
                      "--json")
    assert out.returncode == 0, out.stderr
    assert out.json()["name_en"] == samples["foreign_2023"][0].name_en
    out = run_station("idcard", "read", "--reader", "floppy", "--json")
    assert out.returncode == 2 and out.json()["error"] == "idcard.bad_reader_spec"


@pytest.mark.parametrize(("field", "value", "error"), [
    ("name", "张三李四王五赵六钱七孙八周九吴十郑", "idcard.field_too_long"),  # 16 > 15 characters
    ("birth_date", "1987/04/17", "identity.bad_format")])
def test_cli_sim_card_from_a_file_names_the_field_no_card_can_hold(run_station, samples, field,
                                                                    value, error):
    """A typed identity the simulated card cannot carry is bad input naming file and field
    (exit 2), not an unexpected error."""
    data = samples["resident"][0].to_json()
    data[field] = value
    identity_file = run_station.data_dir.parent / "who.json"
    identity_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = run_station("--lang", "en", "idcard", "read", "--reader", "sim", "--identity",
                      str(identity_file), "--json")
    assert out.returncode == 2, out.stderr
    assert out.json()["error"] == error
    assert "who.json" in out.stderr and field in out.stderr and "Unexpected" not in out.stderr


# -- serial over a pty pair -----------------------------------------------------------------------

@pytest.fixture
def pty_reader(fake_clock):
    """A serial SAM_V reader on a pseudo-terminal, polling on a fake clock (real frames, no
    real waiting between polls) with the default profile's deadlines scaled down 5×."""
    from station.idcard.profiles import choose_profile

    master, slave = os.openpty()
    path = os.ttyname(slave)
    server = SerialSamServer(master, VirtualSam()).start()
    timing = choose_profile("", None, transport="serial").timing
    reader = open_reader(f"serial:{path}", clock=fake_clock,
                         timing=replace(timing, deadlines={k: v / 5 for k, v in
                                                           timing.deadlines.items()}))
    yield server.sam, reader
    reader.close()
    server.stop()
    os.close(slave)
    os.close(master)


@pytest.mark.parametrize("label", ["resident", "hmt_residence", "foreign_2017", "foreign_2023"])
def test_serial_reader_reads_every_card_type(pty_reader, samples, label):
    sam, reader = pty_reader
    identity, layout = samples[label]
    sam.card = VirtualCard(identity, layout=layout, extra_address="追加住址1号")
    result = reader.read(timeout=3)
    assert result.identity.id_number == identity.id_number
    assert result.identity.card_type == identity.card_type
    assert result.card_serial is None and "card_serial" not in result.identity.to_json()
    assert result.extra_address == "追加住址1号"
    assert sam.commands[-4:] == [(0x20, 0x01), (0x20, 0x02), (0x30, 0x01), (0x30, 0x03)]


def test_serial_debounce_and_retap(pty_reader, samples, fake_clock):
    sam, reader = pty_reader
    card = VirtualCard(samples["resident"][0])
    sam.card = card
    reader.read(timeout=3)
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=2)              # the card still lies there: read once
    sam.card = None                          # taken away …
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=1.5)            # … long enough to be a new tap …
    sam.card = card                          # … and tapped again
    assert reader.read(timeout=3).identity.id_number == card.identity.id_number


@pytest.mark.parametrize("fault, error", [
    ("select_failed", SelectFailedError), ("checksum", CardDataError),
    ("truncated", CardDataError), ("pull", CardRefusedError), ("read_failed", CardRefusedError),
    ("mute", ReaderNotAnsweringError),
])
def test_serial_error_cases(pty_reader, samples, fault, error):
    sam, reader = pty_reader
    sam.card = VirtualCard(samples["resident"][0], fault=fault)
    started = time.monotonic()
    with pytest.raises(error):
        reader.read(timeout=3)
    assert time.monotonic() - started < 60      # an error, not a hang


def test_serial_no_card_times_out_and_missing_port_is_reported(pty_reader, samples, fake_clock):
    sam, reader = pty_reader
    sam.card = VirtualCard(samples["resident"][0], fault="no_card")
    started = fake_clock.now
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=3)
    polls = sam.commands.count((0x20, 0x01))
    assert 9 <= polls <= 11, polls          # kept looking every 0.3 s, then gave up in time
    assert fake_clock.now - started <= 3
    with pytest.raises(NoReaderError) as info:
        open_reader("serial:/dev/no-such-tty")
    assert "/dev/no-such-tty" in info.value.messages[1]


def test_serial_reader_that_never_answers(samples):
    master, slave = os.openpty()
    try:
        reader = open_reader(f"serial:{os.ttyname(slave)}")
        started = time.monotonic()
        with pytest.raises(ReaderNotAnsweringError) as info:
            reader.read(timeout=5)
        assert info.value.key == "idcard.reader_timeout"
        assert time.monotonic() - started >= 0.4     # the find-card deadline, 0.5 s, was waited
        reader.close()
    finally:
        os.close(slave)
        os.close(master)


def test_no_card_error_is_distinct(samples):
    from station.idcard.samclient import SamClient

    sam = VirtualSam(None)
    with pytest.raises(NoCardError) as info:
        SamClient(sam.transceive).read_card()
    assert info.value.sw3 == 0x80 and "没有找到证件" in info.value.messages[0]


def test_serial_failed_read_is_told_once_then_retried_quietly(pty_reader, samples):
    """A bad read is reported once; while the card stays it is retried without repeating the
    message, and read as soon as it reads well."""
    sam, reader = pty_reader
    identity = samples["resident"][0]
    sam.card = VirtualCard(identity, fault="checksum")
    with pytest.raises(CardDataError):
        reader.read(timeout=3)
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=1)               # still failing: no second message
    sam.card = VirtualCard(identity)          # now it reads well, without being lifted
    assert reader.read(timeout=3).identity.id_number == identity.id_number
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=1)               # and is not read twice


def test_doctor_asks_the_configured_serial_readers_sam(samples):
    """`station doctor` with idcard.reader = serial:PORT: the port opens and the SAM answers
    "SAM status" (nothing else is sent, no card needed); a silent port and a missing one are
    told in words; other reader settings get no serial check."""
    from station.doctor.idcard import check_serial_reader
    from station.idcard import samv
    from station.settings import IdcardSection

    master, slave = os.openpty()
    path = os.ttyname(slave)
    try:
        silent = check_serial_reader(IdcardSection(reader=f"serial:{path}"))
        assert silent is not None and silent.status == "fail"
        assert path in silent.message_en and "115200 baud" in silent.message_en
        assert "波特率" in silent.message_zh
        server = SerialSamServer(master, VirtualSam(VirtualCard(samples["resident"][0]))).start()
        try:
            check = check_serial_reader(IdcardSection(reader=f"serial:{path}"))
        finally:
            server.stop()
        assert check is not None and check.status == "pass", check.message_en
        assert check.details == {"port": path, "profile": "samv-serial", "baudrate": 115200}
        # Only "SAM status" (the silent check's frame waited in the pty): the card is not touched.
        assert set(server.sam.commands) == {samv.SAM_STATUS}
    finally:
        os.close(slave)
        os.close(master)
    missing = check_serial_reader(IdcardSection(reader="serial:/dev/no-such-tty"))
    assert missing is not None and missing.status == "fail"
    assert "/dev/no-such-tty" in missing.message_en
    assert check_serial_reader(IdcardSection(reader="pcsc")) is None


def test_cli_sim_foreign_card_without_a_chinese_name(run_station, samples):
    """cli.md: a foreign card's ``name`` is the Chinese name "if any"; without one the English
    name stands in, as for a card read."""
    data = samples["foreign_2023"][0].to_json()
    data.pop("name", None)
    identity_file = run_station.data_dir.parent / "foreign.json"
    identity_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = run_station("idcard", "read", "--reader", "sim", "--identity", str(identity_file), "--json")
    assert out.returncode == 0, out.stderr
    assert out.json()["name"] == out.json()["name_en"] == data["name_en"]
    data["card_type"] = "resident"  # a resident card always has its name
    identity_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = run_station("idcard", "read", "--reader", "sim", "--identity", str(identity_file), "--json")
    assert out.returncode == 2 and out.json()["error"] == "identity.missing_field"
