"""Captures in another colour space than sRGB, converted to sRGB as they are decoded.

The export photo is sRGB (photo-spec: "baseline JPEG, sRGB"), and every colour check compares
sRGB values: the backdrop's blue, the clothes against it, the face's exposure. A camera set to
Adobe RGB hands over other numbers for the same colours (the reference backdrop (100, 197, 255)
arrives as about (135, 196, 253)), so its photos would be exported with wrong colours and judged
on them. Such a file says what it holds in one of two ways:

- an embedded ICC profile (Nikon's Adobe RGB files, phones' Display P3): converted by LittleCMS
  (Pillow's ImageCms), relative colorimetric, colours outside sRGB clipped;
- no profile, EXIF ColorSpace "uncalibrated" and the DCF interoperability index R03 (or none):
  the DCF marking of Adobe RGB (Canon, Sony), converted with Adobe RGB (1998)'s published
  primaries and gamma (the same white point as sRGB, so a plain matrix between linear values).

An sRGB profile, or no marking at all, leaves the pixels as they are: the same bytes as before.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

EXIF_IFD, INTEROP_IFD = 0x8769, 0xA005
COLOR_SPACE, INTEROP_INDEX = 0xA001, 0x0001
UNCALIBRATED = 0xFFFF
ADOBE_RGB = "Adobe RGB (1998)"

# Adobe RGB (1998) → CIE XYZ and CIE XYZ → linear sRGB, both with the D65 white point
_ADOBE_TO_XYZ = ((0.5767309, 0.1855540, 0.1881852),
                 (0.2973769, 0.6273491, 0.0752741),
                 (0.0270343, 0.0706872, 0.9911085))
_XYZ_TO_SRGB = ((3.2404542, -1.5371385, -0.4985314),
                (-0.9692660, 1.8760108, 0.0415560),
                (0.0556434, -0.2040259, 1.0572252))
ADOBE_GAMMA = 563 / 256


@dataclass(frozen=True)
class ColourSpace:
    """What a capture's pixels are in, when not sRGB."""

    name: str
    icc: bytes | None = None  # None: Adobe RGB marked by EXIF only


def colour_space(im: Any) -> ColourSpace | None:
    """The colour space an opened Pillow image declares, or None for sRGB (declared or assumed)."""
    if im.mode != "RGB":  # grey, CMYK, palettes: decoded as they always were
        return None
    icc = im.info.get("icc_profile")
    if icc:
        return _icc_space(bytes(icc))
    try:
        exif = im.getexif()
        space = exif.get_ifd(EXIF_IFD).get(COLOR_SPACE)
        index = exif.get_ifd(INTEROP_IFD).get(INTEROP_INDEX)
    except Exception:  # a broken EXIF block says nothing about colour
        return None
    if space == UNCALIBRATED and (index is None or str(index).strip("\0 ") == "R03"):
        return ColourSpace(ADOBE_RGB)
    return None


def _icc_space(icc: bytes) -> ColourSpace | None:
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        name = (ImageCms.getProfileDescription(profile) or "").strip()
        if profile.profile.xcolor_space.strip() != "RGB":
            return None
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, AttributeError):
        return None  # an unreadable profile: the pixels are taken as sRGB, as without one
    if "srgb" in name.lower():
        return None
    return ColourSpace(name or "ICC profile", icc)


def to_srgb(bgr: np.ndarray, space: ColourSpace) -> np.ndarray:
    """``bgr`` (8-bit, in ``space``) as sRGB."""
    import cv2
    import numpy as np
    from PIL import Image, ImageCms

    if space.icc is None:
        return _adobe_to_srgb(bgr)
    rgb = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    out = ImageCms.applyTransform(rgb, _transform(space.icc))
    assert out is not None  # applyTransform returns a new image unless told to work in place
    return cv2.cvtColor(np.asarray(out), cv2.COLOR_RGB2BGR)


@lru_cache(maxsize=4)
def _transform(icc: bytes) -> Any:
    """The LittleCMS transform from this profile to sRGB (made once per profile: a station's
    camera keeps its settings, so each capture reuses it)."""
    from PIL import ImageCms

    return ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                   ImageCms.createProfile("sRGB"), "RGB", "RGB",
                                   renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)


def _adobe_to_srgb(bgr: np.ndarray) -> np.ndarray:
    import cv2
    import numpy as np

    decode, matrix, encode = _adobe_tables()
    linear = cv2.transform(cv2.LUT(bgr, decode), matrix)  # float32 linear sRGB, BGR order
    np.clip(linear, 0.0, 1.0, out=linear)
    index = (linear * np.float32(len(encode) - 1) + np.float32(0.5)).astype(np.uint16)
    out: np.ndarray = encode[index]
    return out


@cache
def _adobe_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adobe RGB code → linear light (a 1×256 table for ``cv2.LUT``), the BGR → BGR matrix between the linear
    spaces, and linear light → sRGB code (65536 steps: finer than any 8-bit code's width)."""
    import numpy as np

    decode = (np.arange(256, dtype=np.float64) / 255.0) ** ADOBE_GAMMA
    rgb = np.array(_XYZ_TO_SRGB) @ np.array(_ADOBE_TO_XYZ)
    matrix = rgb[::-1, ::-1]  # the same map on B, G, R
    lin = np.linspace(0.0, 1.0, 65536)
    srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    encode = np.clip(np.round(srgb * 255.0), 0, 255).astype(np.uint8)
    return decode.astype(np.float32).reshape(1, 256), matrix.astype(np.float32), encode
