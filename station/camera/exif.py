"""EXIF of a downloaded JPEG as plain JSON values (what the capture record keeps)."""

from __future__ import annotations

import io
import logging

log = logging.getLogger(__name__)

_KEEP = {"Make", "Model", "DateTime", "DateTimeOriginal", "ExposureTime", "FNumber",
         "ISOSpeedRatings", "PhotographicSensitivity", "FocalLength", "Orientation",
         "WhiteBalance", "BodySerialNumber", "LensModel", "ImageUniqueID", "ExposureBiasValue",
         "Software"}


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return None
    if isinstance(value, str):
        return value.strip("\x00 ")
    if isinstance(value, int | float):
        return value
    if isinstance(value, tuple):
        items = [_plain(v) for v in value]
        return items if all(i is not None for i in items) else None
    try:
        return float(value)  # type: ignore[arg-type]  # IFDRational (PIL's, untyped here)
    except (TypeError, ValueError):
        return str(value)


def warm_up() -> None:
    """Import Pillow now (at connect time) so the first capture does not pay for it."""
    from PIL import ExifTags, Image  # noqa: F401


def read_exif(jpeg: bytes) -> dict:
    """Selected EXIF tags plus the pixel size; {} when the file has none or is not a JPEG."""
    try:
        from PIL import ExifTags, Image

        with Image.open(io.BytesIO(jpeg)) as img:
            out: dict = {"width": img.width, "height": img.height}
            exif = img.getexif()
            tags = dict(exif.items())
            tags.update(exif.get_ifd(ExifTags.IFD.Exif).items())
    except Exception as exc:  # a photo we cannot parse is still a photo; the checks say more
        log.warning("cannot read EXIF: %s", exc)
        return {}
    for tag, value in tags.items():
        name = ExifTags.TAGS.get(tag)
        if name in _KEEP:
            plain = _plain(value)
            if plain is not None:
                out[name] = plain
    return out
