"""The card photo: 1024 bytes of proprietary WLT compression, decoded only by a vendor library.

No free decoder exists, so the station keeps the raw bytes (and their SHA-256) and decodes them
only when the reader vendor's library is installed and configured (``idcard.wlt_library``).
The usual Linux API is ``int unpack(char *wlt, char *bmp, int flag)`` writing a 102×126 BMP
(38862 bytes) and returning 1 on success; the function name and flag are configurable.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

from station.idcard.errors import PhotoDecoderError
from station.idcard.record import PHOTO_SIZE

BMP_SIZE = 38862      # 54-byte header + 126 rows × 308 bytes (102 px × 3, padded to 4)
SUCCESS = 1


def load_decoder(path: str | Path | None, function: str = "unpack"):
    """The decoder function from the vendor library at ``path``; PhotoDecoderError if unusable."""
    if not path:
        raise PhotoDecoderError("idcard.wlt_missing")
    try:
        library = ctypes.CDLL(str(path))
        func = getattr(library, function)
    except (OSError, AttributeError) as exc:
        raise PhotoDecoderError("idcard.wlt_unusable", path=str(path), error=str(exc)) from None
    func.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)
    func.restype = ctypes.c_int
    return func


def decode_wlt(raw: bytes, library: str | Path | None, function: str = "unpack",
               flag: int = 602) -> bytes:
    """BMP bytes of the card photo, through the configured vendor library."""
    if len(raw) != PHOTO_SIZE:
        raise PhotoDecoderError("idcard.wlt_failed", code=f"size {len(raw)}")
    func = load_decoder(library, function)
    src = ctypes.create_string_buffer(bytes(raw), PHOTO_SIZE)
    dst = ctypes.create_string_buffer(BMP_SIZE)
    code = func(src, dst, flag)
    if code != SUCCESS or dst.raw[:2] != b"BM":
        raise PhotoDecoderError("idcard.wlt_failed", code=code)
    return dst.raw
