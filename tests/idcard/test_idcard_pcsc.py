"""The pcsc reader through the real stack: pyscard → pcscd → vpcd → the card emulator."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from station.errors import DeviceError, InputError
from station.idcard import (
    CardDataError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    ReaderNotAnsweringError,
    ReaderTimeoutError,
    SamStatusError,
    SelectFailedError,
    open_reader,
)
from station.idcard.emulator import VirtualCard
from tests.idcard.conftest import close_during_read

pytestmark = pytest.mark.pcsc


@pytest.fixture
def reader(pcsc_env):
    # The profile's deadlines halved: the mute card (the emulator drops it after 2 s) must be
    # reported as a reader that stopped answering before the card drops.
    from station.idcard.profiles import choose_profile

    timing = choose_profile(pcsc_env.readers[0]).timing
    r = open_reader(f"pcsc:{pcsc_env.readers[0]}",
                    timing=replace(timing, deadlines={k: v / 2 for k, v in
                                                      timing.deadlines.items()}))
    yield r
    r.close()


@pytest.mark.parametrize("label", ["resident", "hmt_residence", "foreign_2017", "foreign_2023"])
def test_reads_every_card_type(reader, vcard, samples, label):
    identity, layout = samples[label]
    card = VirtualCard(identity, layout=layout)
    vcard.insert(card)
    result = reader.read(timeout=5)
    got = result.identity.to_json()
    expected = identity.to_json()
    for key, value in expected.items():
        if key != "warnings":
            assert got[key] == value, key
    assert got["card_serial"] == card.serial.hex()     # the card's own serial (00 36), real
    assert card.select_serial == bytes(8)               # not the select reply's zeros
    assert result.raw_text == card.text
    assert result.raw_photo == card.photo and len(result.raw_photo) == 1024
    assert result.warnings == []
    # the long answer really came back in 61 XX + GET RESPONSE parts
    assert any(apdu[:4] == bytes.fromhex("00C00000") for apdu in vcard.apdus)
    assert vcard.apdus[0] == bytes.fromhex("0036000008")


def test_extra_address_and_expired_card_are_reported(reader, vcard, samples):
    identity, _ = samples["resident"]
    identity.valid_from, identity.valid_to = "2010-01-01", "2020-01-01"
    vcard.insert(VirtualCard(identity, extra_address="云南省大理市下关镇1号"))
    result = reader.read(timeout=5)
    assert result.extra_address == "云南省大理市下关镇1号"
    assert result.identity.address.endswith("；云南省大理市下关镇1号")
    assert [w["code"] for w in result.warnings] == ["card_expired"]


@pytest.mark.parametrize("fault, error, key", [
    ("no_card", NoCardError, "idcard.no_card"),
    ("select_failed", SelectFailedError, "idcard.select_failed"),
    ("read_failed", SamStatusError, "idcard.sam_status"),
    ("checksum", CardDataError, "idcard.frame.bad_checksum"),
    ("truncated", CardDataError, "idcard.frame.truncated"),
    ("pull", CardRemovedError, "idcard.card_removed"),
    ("mute", ReaderNotAnsweringError, "idcard.reader_timeout"),
])
def test_error_cases_give_a_clear_device_error(reader, vcard, samples, fault, error, key):
    vcard.insert(VirtualCard(samples["resident"][0], fault=fault))
    started = time.monotonic()
    with pytest.raises(error) as info:
        reader.read(timeout=120)
    assert info.value.key == key
    assert info.value.exit_code == 3
    zh, en = info.value.messages
    assert zh and en and zh != en and "{" not in zh + en
    assert time.monotonic() - started < 60, "an error must come promptly, not after a hang"



def test_find_card_is_asked_at_the_vendors_pace_when_the_sam_sees_no_card(reader, vcard, samples):
    """PC/SC shows a card the SAM does not find: "find card" is asked again no more often than
    the profile's poll interval (vendor guidance: every ~300 ms), not in a tight loop."""
    from station.idcard import samv

    vcard.insert(VirtualCard(samples["resident"][0], fault="no_card"))
    with pytest.raises(NoCardError):
        reader.read(timeout=120)
    finds = [c for c in vcard.sam.commands if c == samv.FIND_CARD]
    assert 2 <= len(finds) <= 4, finds

def test_sam_status_message_names_the_status(reader, vcard, samples):
    vcard.insert(VirtualCard(samples["resident"][0], fault="read_failed"))
    with pytest.raises(SamStatusError) as info:
        reader.read(timeout=5)
    zh, en = info.value.messages
    assert "读证卡操作失败" in zh and "41" in zh
    assert "reading the card failed" in en


def test_timeout_without_card(reader):
    started = time.monotonic()
    with pytest.raises(ReaderTimeoutError) as info:
        reader.read(timeout=0.5)
    assert info.value.key == "idcard.timeout"
    assert time.monotonic() - started >= 0.4    # it did wait (no upper bound: load varies)


def test_same_card_is_read_once_and_retap_reads_again(pcsc_env, reader, vcard, samples,
                                                      reader_state):
    card = VirtualCard(samples["resident"][0])
    vcard.insert(card)
    first = reader.read(timeout=5)
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=1.0)          # still lying there: not read again
    vcard.remove()
    assert reader_state(pcsc_env.readers[0], present=False)
    vcard.insert(card)                    # the same card tapped again: a new read
    second = reader.read(timeout=5)
    assert second.identity.id_number == first.identity.id_number
    assert second.card_serial == first.card_serial


def test_read_waits_for_a_card_tapped_later(reader, vcard, samples):
    identity = samples["hmt_residence"][0]
    timer = threading.Timer(0.3, lambda: vcard.insert(VirtualCard(identity, layout="J")))
    timer.start()
    try:
        result = reader.read(timeout=5)
    finally:
        timer.cancel()
    assert result.identity.card_type == "hmt_residence"


def test_close_wakes_a_waiting_read(reader):
    errors = close_during_read(reader, read_timeout=10, join_timeout=3)
    assert errors and isinstance(errors[0], DeviceError)
    assert errors[0].key == "idcard.reader_closed"


def test_reader_by_name_and_missing_reader(pcsc_env):
    second = pcsc_env.readers[1] if len(pcsc_env.readers) > 1 else pcsc_env.readers[0]
    with open_reader(f"pcsc:{second[-5:]}") as r:
        assert r.reader_name == second
    with pytest.raises(NoReaderError) as info:
        open_reader("pcsc:No Such Reader 42")
    assert info.value.exit_code == 3
    assert pcsc_env.readers[0] in info.value.messages[1]


def test_another_vendors_envelope_is_configuration(pcsc_env, vcard, samples, tmp_path):
    """A reader model with a different pseudo-APDU needs only a TOML profile."""
    (tmp_path / "acme.toml").write_text(
        'name = "acme-b5"\nmatch = ["nothing"]\ncard_serial_apdu = "00 36 00 00 08"\n'
        '[tunnel]\nheader = "FF B5 01 00"\nmore_data_sw1 = "9F"\nget_response = "FF B6 00 00"\n')
    from station.idcard.profiles import load_profile_file

    vcard.profile = load_profile_file(tmp_path / "acme.toml")
    vcard.insert(VirtualCard(samples["foreign_2023"][0], layout="Y"))
    with open_reader(f"pcsc:{pcsc_env.readers[0]}", profile="acme-b5",
                     profiles_dir=tmp_path) as r:
        result = r.read(timeout=5)
    assert result.identity.nationality == "DEU"
    assert any(apdu[:4] == bytes.fromhex("FFB50100") for apdu in vcard.apdus)
    assert any(apdu[:4] == bytes.fromhex("FFB60000") for apdu in vcard.apdus)


def test_serial_only_reader_says_it_cannot_read_identity(pcsc_env, vcard, samples):
    vcard.insert(VirtualCard(samples["resident"][0]))
    with open_reader(f"pcsc:{pcsc_env.readers[0]}", profile="iso14443b-serial") as r:
        assert not r.capabilities.reads_identity
        with pytest.raises(DeviceError) as info:
            r.read(timeout=5)
    assert info.value.key == "idcard.not_a_sam_reader"


def test_bad_spec_and_unknown_profile(pcsc_env):
    with pytest.raises(InputError):
        open_reader("bluetooth:1")
    with pytest.raises(InputError) as info:
        open_reader(f"pcsc:{pcsc_env.readers[0]}", profile="nope")
    assert "samv-tunnel" in info.value.messages[1]


def test_cli_prints_the_identity_the_emulator_presents(pcsc_env, vcard, samples, run_station,
                                                      reader_state):
    identity, layout = samples["foreign_2017"]
    card = VirtualCard(identity, layout=layout)
    vcard.insert(card)
    assert reader_state(pcsc_env.readers[0], present=True)
    out = run_station("idcard", "read", "--reader", f"pcsc:{pcsc_env.readers[0]}",
                      "--timeout", "5", "--json", timeout=60)
    assert out.returncode == 0, out.stderr
    data = out.json()
    assert data["id_number"] == "FRA530098020312"
    assert data["name_en"] == identity.name_en
    assert data["card_serial"] == card.serial.hex()
    assert data["card_type"] == "foreign_permanent"


def test_cli_device_problem_exits_3_with_advice(pcsc_env, run_station):
    out = run_station("--lang", "en", "idcard", "read", "--reader", "pcsc:No Such Reader",
                      "--timeout", "1", timeout=60)
    assert out.returncode == 3
    assert "plug the reader in" in out.stderr


def test_emulator_command_and_cli_as_separate_processes(pcsc_env, samples, run_station,
                                                        reader_state, tmp_path):
    """What a person does by hand: one terminal puts a card on vpcd, another reads it."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    identity, _ = samples["hmt_residence"]
    (tmp_path / "who.json").write_text(json.dumps(identity.to_json(), ensure_ascii=False))
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    emulator = subprocess.Popen(
        [sys.executable, "-m", "station.idcard.vpcd_card", "--port", str(pcsc_env.port),
         "--identity", str(tmp_path / "who.json"), "--layout", "J", "--seconds", "20"],
        cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert "card on the reader" in emulator.stdout.readline()
        assert reader_state(pcsc_env.readers[0], present=True)
        out = run_station("idcard", "read", "--reader", f"pcsc:{pcsc_env.readers[0]}",
                          "--timeout", "5", "--json", timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.json()["id_number"] == identity.id_number
        assert out.json()["card_type"] == "hmt_residence"
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    assert reader_state(pcsc_env.readers[0], present=False)


def test_virtual_reader_presents_through_the_real_stack(pcsc_env, samples):
    """`virtual`: what `station simulate --reader virtual` uses (here on the session's vpcd)."""
    with open_reader("virtual", port=pcsc_env.port, reader=pcsc_env.readers[0]) as reader:
        seen = []
        for label in ("resident", "foreign_2023", "resident"):
            identity, layout = samples[label]
            reader.present(VirtualCard(identity, layout=layout))
            seen.append(reader.read(timeout=5).identity.id_number)
        assert seen == [samples[x][0].id_number for x in ("resident", "foreign_2023", "resident")]


def test_virtual_reader_in_a_fresh_process_starts_its_own_pcscd(pcsc_env):
    if not pcsc_env.private:
        pytest.skip("this machine cannot run a private pcscd (no mount namespace)")
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import json; from station.idcard import open_reader\n"
            "from station.sim.identities import demo_identity\n"
            "r = open_reader('virtual'); r.present(demo_identity())\n"
            "print(json.dumps(r.read(5).identity.to_json())); r.close()\n")
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "PCSCLITE_CSOCK_NAME"}
    env["PYTHONPATH"] = str(root)
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    from station.sim.identities import demo_identity

    assert json.loads(proc.stdout)["id_number"] == demo_identity().id_number


def test_a_failed_read_needs_a_new_tap(pcsc_env, reader, vcard, samples, reader_state):
    identity = samples["resident"][0]
    vcard.insert(VirtualCard(identity, fault="checksum"))
    with pytest.raises(CardDataError):
        reader.read(timeout=5)
    vcard.sam.card = VirtualCard(identity)        # the card would read fine now …
    with pytest.raises(ReaderTimeoutError):
        reader.read(timeout=0.8)                   # … but it is the same tap: no busy re-reading
    vcard.remove()
    assert reader_state(pcsc_env.readers[0], present=False)
    vcard.insert(VirtualCard(identity))
    assert reader.read(timeout=5).identity.id_number == identity.id_number
