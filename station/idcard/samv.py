"""SAM_V frames: build and parse the requests and answers of the ID card security module.

Frame: ``AA AA AA 96 69 | LEN_H LEN_L | body | CHK``. LEN (big-endian) counts every byte after
the length field, CHK included; CHK is the XOR of LEN_H … last body byte. A request body is
``CMD PARA [DATA]``, an answer body ``SW1 SW2 SW3 [DATA]``. SW3 alone carries the SAM's verdict;
SW1 SW2 are usually 00 00, but the vendor manual lists them as "XX XX" for several SW3 codes
(31, 32, 40, 41, 47, 81), so they are kept for the log and never make a frame malformed.

Every malformed frame raises ``CardDataError`` (and nothing else): readers report it to the
operator as "tap again", and fuzz tests hold the parser to that promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from station.i18n import both
from station.idcard.errors import CardDataError

PREAMBLE = bytes.fromhex("AAAAAA9669")
HEADER_SIZE = len(PREAMBLE) + 2  # preamble + LEN
MAX_LEN = 0xFFFF

# Commands: (CMD, PARA)
RESET_SAM = (0x10, 0xFF)
SAM_STATUS = (0x11, 0xFF)
SAM_ID = (0x12, 0xFF)
FIND_CARD = (0x20, 0x01)
SELECT_CARD = (0x20, 0x02)
READ_TEXT_PHOTO = (0x30, 0x01)
READ_EXTRA_ADDRESS = (0x30, 0x03)
READ_WITH_FINGERPRINT = (0x30, 0x10)

COMMAND_NAMES = {
    RESET_SAM: "reset SAM", SAM_STATUS: "SAM status", SAM_ID: "SAM id",
    FIND_CARD: "find card", SELECT_CARD: "select card", READ_TEXT_PHOTO: "read text+photo",
    READ_EXTRA_ADDRESS: "read extra address", READ_WITH_FINGERPRINT: "read with fingerprint",
}

# SW3 status codes (the table of the protocol document); meanings live in messages/idcard.toml.
SW3_SUCCESS = 0x90
SW3_CARD_FOUND = 0x9F
SW3_NO_CONTENT = 0x91
SW3_CHECKSUM = 0x10
SW3_LENGTH = 0x11
SW3_COMMAND = 0x21
SW3_UNAUTHORISED = 0x23
SW3_UNRECOGNISED = 0x24
SW3_CARD_AUTH_SAM = 0x31
SW3_SAM_AUTH_CARD = 0x32
SW3_VERIFY = 0x33
SW3_CARD_TYPE = 0x40
SW3_READ_FAILED = 0x41
SW3_RANDOM = 0x47
SW3_SELF_TEST = 0x60
SW3_SAM_UNAUTHORISED = 0x66
SW3_NO_CARD = 0x80
SW3_SELECT_FAILED = 0x81
SW3_COMM_FAULT = 0xFF
SW3_CODES = (
    0x90, 0x9F, 0x91, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33,
    0x40, 0x41, 0x47, 0x60, 0x66, 0x80, 0x81, 0xFF,
)
OK_STATUSES = frozenset({SW3_SUCCESS, SW3_CARD_FOUND})


def status_meaning(sw3: int) -> tuple[str, str]:
    """(zh, en) meaning of a status code; unknown codes say so with their hex value."""
    if sw3 in SW3_CODES:
        return both(f"idcard.sw3.x{sw3:02x}")
    return both("idcard.sw3.unknown", code=f"{sw3:02X}")


def command_name(cmd: int, para: int) -> str:
    return COMMAND_NAMES.get((cmd, para), f"{cmd:02X} {para:02X}")


def checksum(data: bytes) -> int:
    """XOR of every byte (the frame's CHK over LEN_H … last body byte)."""
    return reduce(int.__xor__, data, 0)


def encode_frame(body: bytes) -> bytes:
    """Wrap a body (request or answer) into a complete frame with LEN and CHK."""
    length = len(body) + 1
    if length > MAX_LEN:
        raise CardDataError("idcard.frame.data_too_long", length=len(body))
    covered = length.to_bytes(2, "big") + bytes(body)
    return PREAMBLE + covered + bytes([checksum(covered)])


def build_request(command: tuple[int, int], data: bytes = b"") -> bytes:
    return encode_frame(bytes(command) + bytes(data))


def build_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    return encode_frame(bytes((sw1, sw2, sw3)) + bytes(data))


def frame_size(header: bytes) -> int:
    """Total size of the frame whose first 7 bytes are ``header`` (for stream readers)."""
    header = bytes(header)
    if len(header) < HEADER_SIZE:
        raise CardDataError("idcard.frame.too_short", length=len(header))
    if header[: len(PREAMBLE)] != PREAMBLE:
        raise CardDataError("idcard.frame.bad_preamble", found=header[:5].hex(" ").upper())
    length = int.from_bytes(header[5:7], "big")
    if length < 1:
        raise CardDataError("idcard.frame.bad_length", declared=length, actual=0)
    return HEADER_SIZE + length


def decode_frame(frame: bytes) -> bytes:
    """The body of a complete frame, after checking preamble, length and checksum."""
    frame = bytes(frame)
    expected = frame_size(frame)
    if len(frame) < expected:
        raise CardDataError("idcard.frame.truncated", expected=expected, actual=len(frame))
    if len(frame) > expected:
        raise CardDataError("idcard.frame.bad_length", declared=expected - HEADER_SIZE,
                            actual=len(frame) - HEADER_SIZE)
    covered, chk = frame[5:-1], frame[-1]
    calc = checksum(covered)
    if calc != chk:
        raise CardDataError("idcard.frame.bad_checksum", expected=f"{calc:02X}", found=f"{chk:02X}")
    return covered[2:]


@dataclass(frozen=True)
class Request:
    cmd: int
    para: int
    data: bytes

    @property
    def command(self) -> tuple[int, int]:
        return (self.cmd, self.para)


@dataclass(frozen=True)
class Response:
    sw3: int
    data: bytes
    sw1: int = 0
    sw2: int = 0

    @property
    def ok(self) -> bool:
        return self.sw3 in OK_STATUSES

    @property
    def meaning(self) -> tuple[str, str]:
        return status_meaning(self.sw3)


def parse_request(frame: bytes) -> Request:
    body = decode_frame(frame)
    if len(body) < 2:
        raise CardDataError("idcard.frame.too_short", length=len(frame))
    return Request(body[0], body[1], body[2:])


def parse_response(frame: bytes) -> Response:
    body = decode_frame(frame)
    if len(body) < 3:
        raise CardDataError("idcard.frame.too_short", length=len(frame))
    return Response(body[2], body[3:], body[0], body[1])
