"""The SAM_V conversation that reads a card, independent of how frames travel.

Serial and USB readers carry frames on the wire, PC/SC SAM readers inside pseudo-APDUs, the
simulator in memory; all of them hand a ``transceive(request_frame, deadline_s) -> response_frame``
function to ``SamClient`` and get the same checks, deadlines and errors. Only SW3 decides;
SW1 SW2 go to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from station.idcard import samv
from station.idcard.errors import CardDataError, sam_status_error
from station.idcard.profiles import Timing
from station.idcard.record import EXTRA_ADDRESS_SIZE, PHOTO_SIZE, TEXT_SIZE

log = logging.getLogger("station.idcard")

# transceive(request frame, seconds the reader may take) -> response frame
Transceive = Callable[[bytes, float], bytes]


@dataclass
class CardBlocks:
    """The raw blocks of one card: text, photo, extra address (None if the card has none)."""

    text: bytes
    photo: bytes | None
    extra_address: bytes | None
    select_serial: bytes | None = None


def split_text_photo(data: bytes, what: str = "read text+photo") -> tuple[bytes, bytes | None]:
    """Text and photo from the read answer's data: text length, photo length (2 bytes each,
    big-endian), the 256-byte text, the 1024-byte photo (or none)."""
    if len(data) < 4:
        raise CardDataError("idcard.frame.bad_payload", detail=f"{what}: no lengths")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if text_len != TEXT_SIZE or photo_len not in (0, PHOTO_SIZE) \
            or len(data) != 4 + text_len + photo_len:
        raise CardDataError(
            "idcard.frame.bad_payload",
            detail=f"{what}: text {text_len}, photo {photo_len}, data {len(data) - 4}")
    text = data[4:4 + text_len]
    photo = data[4 + text_len:] if photo_len else None
    return text, photo


class SamClient:
    """Commands of the SAM_V protocol over a transport; failures raise DeviceError subclasses."""

    def __init__(self, transceive: Transceive, timing: Timing | None = None) -> None:
        self._transceive = transceive
        self.timing = timing or Timing()

    def command(self, command: tuple[int, int], data: bytes = b"") -> samv.Response:
        """Send one command and parse the answer (status not yet judged)."""
        frame = self._transceive(samv.build_request(command, data), self.timing.deadline(command))
        response = samv.parse_response(frame)
        if response.sw1 or response.sw2:
            log.info("%s: SW1 SW2 SW3 = %02X %02X %02X", samv.command_name(*command),
                     response.sw1, response.sw2, response.sw3)
        return response

    def _expect(self, command: tuple[int, int], ok: tuple[int, ...]) -> samv.Response:
        response = self.command(command)
        if response.sw3 not in ok:
            raise sam_status_error(response.sw3, samv.command_name(*command))
        return response

    def sam_status(self) -> None:
        self._expect(samv.SAM_STATUS, (samv.SW3_SUCCESS,))

    def find_card(self) -> None:
        self._expect(samv.FIND_CARD, (samv.SW3_CARD_FOUND,))

    def select_card(self) -> bytes:
        response = self._expect(samv.SELECT_CARD, (samv.SW3_SUCCESS,))
        if len(response.data) != 8:
            raise CardDataError("idcard.frame.bad_payload",
                                detail=f"select card: {len(response.data)} bytes instead of 8")
        return response.data

    def read_text_photo(self) -> tuple[bytes, bytes | None]:
        return split_text_photo(self._expect(samv.READ_TEXT_PHOTO, (samv.SW3_SUCCESS,)).data)

    def read_extra_address(self) -> bytes | None:
        response = self._expect(samv.READ_EXTRA_ADDRESS, (samv.SW3_SUCCESS, samv.SW3_NO_CONTENT))
        if response.sw3 == samv.SW3_NO_CONTENT:
            return None
        if len(response.data) != EXTRA_ADDRESS_SIZE:
            raise CardDataError("idcard.frame.bad_payload",
                                detail=f"extra address: {len(response.data)} bytes")
        return response.data

    def read_selected(self, serial: bytes | None = None) -> CardBlocks:
        """text+photo → extra address of a card already found and selected."""
        text, photo = self.read_text_photo()
        extra = self.read_extra_address()
        return CardBlocks(text, photo, extra, serial)

    def read_card(self) -> CardBlocks:
        """find → select → text+photo → extra address: one complete card read."""
        self.find_card()
        return self.read_selected(self.select_card())
