"""SAM_V frames: layout, checksum, status table, and precise errors for malformed frames."""

from __future__ import annotations

import pytest

from station.idcard import samv
from station.idcard.errors import CardDataError


def test_request_layout_matches_the_protocol():
    frame = samv.build_request(samv.FIND_CARD)
    # AA AA AA 96 69 | 00 03 | 20 01 | CHK = 00^03^20^01 = 22
    assert frame == bytes.fromhex("AAAAAA9669 0003 2001 22")
    assert samv.build_request(samv.READ_TEXT_PHOTO) == bytes.fromhex("AAAAAA9669 0003 3001 32")
    request = samv.parse_request(frame)
    assert request.command == samv.FIND_CARD and request.data == b""


def test_response_round_trip_and_the_1295_byte_read_answer():
    data = (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + bytes(256) + bytes(1024)
    frame = samv.build_response(samv.SW3_SUCCESS, data)
    assert len(frame) == 1295
    assert frame[5:7] == bytes.fromhex("0508")
    response = samv.parse_response(frame)
    assert response.ok and response.sw3 == 0x90 and response.data == data


def test_checksum_is_xor_from_length_to_last_body_byte():
    frame = samv.build_response(0x9F, b"\x01\x02\x03")
    assert frame[-1] == samv.checksum(frame[5:-1])
    assert samv.checksum(b"\x00\x07\x00\x00\x9f\x01\x02\x03") == frame[-1]


@pytest.mark.parametrize("mutate, key", [
    (lambda f: f[:-1] + bytes([f[-1] ^ 1]), "idcard.frame.bad_checksum"),
    (lambda f: f[:-3], "idcard.frame.truncated"),
    (lambda f: f + b"\x00", "idcard.frame.bad_length"),
    (lambda f: b"\xaa\xaa\xaa\x96\x68" + f[5:], "idcard.frame.bad_preamble"),
    (lambda f: f[:4], "idcard.frame.too_short"),
    (lambda f: b"", "idcard.frame.too_short"),
    (lambda f: f[:5] + b"\x00\x00", "idcard.frame.bad_length"),
    (lambda f: samv.encode_frame(b"\x00\x00"), "idcard.frame.too_short"),
])
def test_malformed_answers_raise_card_data_error_naming_the_problem(mutate, key):
    good = samv.build_response(0x90, b"\x11\x22\x33\x44\x55\x66\x77\x88")
    with pytest.raises(CardDataError) as info:
        samv.parse_response(mutate(good))
    assert info.value.key == key
    zh, en = info.value.messages
    assert "{" not in zh + en
    assert info.value.exit_code == 3


def test_status_table_has_every_code_of_the_protocol_in_both_languages():
    expected = {0x90: "success", 0x9F: "card found", 0x91: "no content for this item",
                0x10: "checksum", 0x11: "length", 0x21: "command", 0x23: "unauthorised",
                0x24: "unrecognised", 0x31: "authenticate the SAM", 0x32: "authenticate the card",
                0x33: "verification", 0x40: "card type", 0x41: "reading the card failed",
                0x47: "random", 0x60: "self-test", 0x66: "not authorised", 0x80: "no card",
                0x81: "select card failed", 0xFF: "communication"}
    assert set(samv.SW3_CODES) == set(expected)
    for code, words in expected.items():
        zh, en = samv.status_meaning(code)
        assert words in en, (hex(code), en)
        assert zh and zh != en
    assert "无卡" in samv.status_meaning(0x80)[0]
    assert "5A" in samv.status_meaning(0x5A)[1]


def test_frame_size_from_header_for_stream_readers():
    frame = samv.build_response(0x90, bytes(100))
    assert samv.frame_size(frame[:7]) == len(frame)


@pytest.mark.parametrize("sw1sw2", ["0000", "1234", "FFFF", "6A82"])
def test_sw1_sw2_never_reject_a_frame_and_are_kept(sw1sw2):
    """The vendor manual lists SW1 SW2 as "XX XX" for several SW3 codes: only SW3 decides."""
    sw1, sw2 = bytes.fromhex(sw1sw2)
    response = samv.parse_response(samv.build_response(samv.SW3_SELECT_FAILED, b"", sw1, sw2))
    assert (response.sw1, response.sw2, response.sw3) == (sw1, sw2, 0x81)
    assert not response.ok


def test_the_vendor_manuals_sample_frames_parse():
    """Frames printed in the reader vendor's SAM protocol manual (public), byte for byte."""
    assert samv.build_request(samv.SAM_ID) == bytes.fromhex("AAAAAA9669 0003 12FF EE")
    assert samv.build_request(samv.SAM_STATUS) == bytes.fromhex("AAAAAA9669 0003 11FF ED")
    assert samv.build_request(samv.SELECT_CARD) == bytes.fromhex("AAAAAA9669 0003 2002 21")
    sam_id = samv.parse_response(bytes.fromhex(
        "AAAAAA9669 0014 000090 05000100 09B83201 05BE1200 ADC5B111 63"))
    assert sam_id.ok and len(sam_id.data) == 16
    found = samv.parse_response(bytes.fromhex("AAAAAA9669 0008 00009F 00000000 97"))
    assert found.sw3 == samv.SW3_CARD_FOUND
    selected = samv.parse_response(bytes.fromhex("AAAAAA9669 000C 000090 0000000000000000 9C"))
    assert selected.ok and selected.data == bytes(8)     # the select serial: all zeros
