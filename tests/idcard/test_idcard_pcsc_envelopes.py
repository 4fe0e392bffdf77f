"""PC/SC envelopes as data, through the real stack (pyscard → pcscd → vpcd → card emulator):
the block-read profile reads every card type, and `station idcard probe` tells which envelope
the attached reader answers without writing anything to the card."""

from __future__ import annotations

import pytest

from station.idcard import CardDataError, CardRemovedError, open_reader, samv
from station.idcard.emulator import VirtualCard
from station.idcard.profiles import choose_profile, load_profiles

pytestmark = pytest.mark.pcsc

# Instructions a probe may send: read the card serial, the tunnel pseudo-APDU, GET RESPONSE and
# the block read. Anything else (UPDATE BINARY D6, WRITE RECORD D2, PUT DATA DA, …) is a write.
READ_ONLY_INS = {0x36, 0x00, 0xC0, 0xB0}


def test_block_read_profile_holds_the_public_layout():
    profile = choose_profile("", "pcsc-block-read")
    block = profile.block_read
    assert profile.envelope == "block-read" and profile.verified is False
    assert block.apdu(0) == bytes.fromhex("FFB0000000")
    assert block.apdu(5) == bytes.fromhex("FFB0050000")
    assert block.blocks * block.block_size >= 4 + 256 + 1024


@pytest.mark.parametrize("label", ["resident", "hmt_residence", "foreign_2017", "foreign_2023"])
def test_block_read_reads_every_card_type(pcsc_env, vcard, samples, label):
    vcard.profile = choose_profile("", "pcsc-block-read")
    identity, layout = samples[label]
    card = VirtualCard(identity, layout=layout)
    vcard.insert(card)
    with open_reader(f"pcsc:{pcsc_env.readers[0]}", profile="pcsc-block-read") as reader:
        result = reader.read(timeout=5)
    assert result.identity.id_number == identity.id_number
    assert result.identity.card_type == identity.card_type
    assert result.raw_text == card.text and result.raw_photo == card.photo
    assert result.card_serial == card.serial.hex()
    blocks = [apdu for apdu in vcard.apdus if apdu[:2] == bytes.fromhex("FFB0")]
    assert [apdu[2] for apdu in blocks] == [0, 1, 2, 3, 4, 5]
    assert vcard.sam.commands == []          # the reader's own SAM did the work, no tunnel


@pytest.mark.parametrize("fault, error", [("read_failed", CardDataError),
                                          ("pull", CardRemovedError)])
def test_block_read_errors(pcsc_env, vcard, samples, fault, error):
    vcard.profile = choose_profile("", "pcsc-block-read")
    vcard.insert(VirtualCard(samples["resident"][0], fault=fault))
    with open_reader(f"pcsc:{pcsc_env.readers[0]}", profile="pcsc-block-read") as reader, \
            pytest.raises(error) as info:
        reader.read(timeout=5)
    zh, en = info.value.messages
    assert zh and en and "{" not in zh + en


@pytest.mark.parametrize("envelope", ["samv-tunnel", "pcsc-block-read"])
def test_probe_names_the_envelope_the_reader_answers_and_writes_nothing(
        pcsc_env, vcard, samples, run_station, reader_state, envelope):
    vcard.profile = choose_profile("", envelope)
    vcard.insert(VirtualCard(samples["resident"][0]))
    assert reader_state(pcsc_env.readers[0], present=True)
    out = run_station("idcard", "probe", "--reader", f"pcsc:{pcsc_env.readers[0]}",
                      "--timeout", "5", "--json", timeout=60)
    assert out.returncode == 0, out.stderr
    report = out.json()
    assert report["use"] == envelope
    answering = {p["profile"] for p in report["profiles"] if p["answers"]}
    assert answering == {envelope, "iso14443b-serial"}      # the card serial always answers
    assert {p["profile"] for p in report["profiles"]} == set(load_profiles(transport="pcsc"))
    assert all(apdu[1] in READ_ONLY_INS for apdu in vcard.apdus), vcard.apdus
    assert set(vcard.sam.commands) <= {samv.SAM_STATUS}       # nothing but "SAM status"
    assert not any(apdu[:2] == bytes.fromhex("FFB0") and apdu[2] > 0 for apdu in vcard.apdus)


def test_probe_in_words_and_a_reader_nothing_answers(pcsc_env, vcard, samples, run_station,
                                                    reader_state, tmp_path):
    vcard.profile = choose_profile("", "pcsc-block-read")
    vcard.insert(VirtualCard(samples["resident"][0]))
    assert reader_state(pcsc_env.readers[0], present=True)
    out = run_station("--lang", "en", "idcard", "probe", "--reader",
                      f"pcsc:{pcsc_env.readers[0]}", "--timeout", "5", timeout=60)
    assert out.returncode == 0, out.stderr
    assert "pcsc-block-read (block-read): answers" in out.stdout
    assert "samv-tunnel (tunnel): no answer" in out.stdout
    assert 'profile = "pcsc-block-read"' in out.stdout
    out = run_station("--lang", "zh", "idcard", "probe", "--reader", "sim")
    assert out.returncode == 2 and "PC/SC" in out.stderr and "USB" in out.stderr


def test_probe_when_only_the_card_serial_answers(pcsc_env, vcard, samples, reader_state):
    """A plain contactless reader: no envelope reads identities; exit 1 ("no")."""
    from station.idcard.readers.pcsc import PcscReader

    vcard.profile = choose_profile("", "iso14443b-serial")
    vcard.insert(VirtualCard(samples["resident"][0]))
    assert reader_state(pcsc_env.readers[0], present=True)
    with PcscReader(pcsc_env.readers[0]) as reader:
        results = reader.probe(5)
    answers = {r.profile: r.answers for r in results}
    assert answers["iso14443b-serial"] is True
    assert answers["samv-tunnel"] is False and answers["pcsc-block-read"] is False
