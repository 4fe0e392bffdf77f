"""Hypothesis feeds the frame parser and the record decoder random and mutated input:
the only exception that may ever come out is the documented CardDataError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.idcard import samv
from station.idcard.errors import CardDataError, SamStatusError
from station.idcard.record import LAYOUTS, decode_extra_address, decode_text, encode_text
from station.idcard.samclient import SamClient
from station.sim.identities import demo_identity, sample_identities

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_card_data_error(fn, data):
    try:
        fn(data)
    except CardDataError as exc:
        assert exc.key.startswith(("idcard.frame.", "idcard.record."))


def _only_documented_read_errors(fn, data):
    """Through SamClient a well-formed frame may also carry a failure status: SamStatusError."""
    try:
        fn(data)
    except CardDataError as exc:
        assert exc.key.startswith(("idcard.frame.", "idcard.record."))
    except SamStatusError as exc:
        assert exc.sw3 != 0x90


def _good_read_frame() -> bytes:
    text = encode_text(demo_identity())
    data = (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + text + bytes(range(256)) * 4
    return samv.build_response(0x90, data)


GOOD = _good_read_frame()


@st.composite
def mutated(draw, base: bytes):
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "length"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        elif op == "cut":
            data = data[:draw(st.integers(0, len(data)))]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            i = draw(st.integers(0, len(data) - 1))
            del data[i:i + draw(st.integers(1, 8))]
        elif op == "length" and len(data) >= 7:
            data[5:7] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big")
    return bytes(data)


@FUZZ
@given(st.binary(max_size=2000))
def test_parse_response_random_bytes(data):
    _only_card_data_error(samv.parse_response, data)
    _only_card_data_error(samv.parse_request, data)


@FUZZ
@given(st.binary(max_size=300).map(lambda b: samv.PREAMBLE + b))
def test_parse_response_random_after_preamble(data):
    _only_card_data_error(samv.parse_response, data)


@FUZZ
@given(mutated(GOOD))
def test_parse_mutated_read_answer_and_decode_it(data):
    def whole(frame):
        blocks = SamClient(lambda _request, _deadline: frame).read_text_photo()
        decode_text(blocks[0])

    _only_documented_read_errors(whole, data)


@FUZZ
@given(st.binary(min_size=0, max_size=300))
def test_decode_random_text_blocks(data):
    _only_card_data_error(decode_text, data)
    _only_card_data_error(decode_extra_address, data)


@FUZZ
@given(st.binary(min_size=256, max_size=256))
def test_decode_random_256_byte_blocks(data):
    _only_card_data_error(decode_text, data)


@FUZZ
@given(mutated(encode_text(demo_identity())))
def test_decode_mutated_text_blocks(data):
    _only_card_data_error(decode_text, data)


GOOD_BODY = samv.decode_frame(GOOD)


@FUZZ
@given(mutated(GOOD_BODY))
def test_valid_frames_with_mutated_content(body):
    """Checksum right, content wrong: the payload checks and the decoder must still hold."""
    frame = samv.encode_frame(body)

    def whole(f):
        text, _photo = SamClient(lambda _request, _deadline: f).read_text_photo()
        decode_text(text)

    _only_documented_read_errors(whole, frame)


CARD_CHARS = st.sampled_from("0123456789 XIYJ长期汉李明ABC\x00\u3000")
SAMPLE_BLOCKS = [encode_text(i, layout) for i, layout in sample_identities().values()]


@st.composite
def one_field_replaced(draw):
    """A real block of some layout with one field overwritten by plausible card characters."""
    base = bytearray(draw(st.sampled_from(SAMPLE_BLOCKS)))
    layout = draw(st.sampled_from(sorted(LAYOUTS)))
    _name, start, size = draw(st.sampled_from(LAYOUTS[layout]))
    text = draw(st.text(CARD_CHARS, min_size=size // 2, max_size=size // 2))
    base[start:start + size] = text.encode("utf-16-le")
    return bytes(base)


@FUZZ
@given(one_field_replaced())
def test_decode_blocks_with_one_field_replaced(data):
    _only_card_data_error(decode_text, data)


@FUZZ
@given(st.text(max_size=128).map(lambda s: s.encode("utf-16-le", "surrogatepass")[:256].ljust(256, b" ")))
def test_decode_random_unicode_blocks(data):
    _only_card_data_error(decode_text, data)
