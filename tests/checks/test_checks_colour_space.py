"""A capture in Adobe RGB (or any declared non-sRGB space) is checked and exported in sRGB.

The frames are the simulator's sRGB portraits re-encoded into the other space, the way a camera
set to Adobe RGB would hand the same scene over; the station must give back what the sRGB file
gives (to within the rounding of two 8-bit encodings).
"""

from __future__ import annotations

import io
import struct

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from station.checks import check_and_crop
from station.checks.colour import ADOBE_GAMMA
from station.checks.imageio import open_source
from station.checks.pipeline import analyse
from station.sim.portrait import render

SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
ADOBE_TO_XYZ = np.array([[0.5767309, 0.1855540, 0.1881852],
                         [0.2973769, 0.6273491, 0.0752741],
                         [0.0270343, 0.0706872, 0.9911085]])


def _adobe_pixels(bgr: np.ndarray) -> np.ndarray:
    """The same colours as Adobe RGB (1998) codes (by its published primaries and gamma)."""
    v = bgr[:, :, ::-1].astype(np.float64) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    adobe = lin @ (np.linalg.inv(ADOBE_TO_XYZ) @ SRGB_TO_XYZ).T
    codes = np.clip(adobe, 0, 1) ** (1 / ADOBE_GAMMA) * 255.0
    return np.round(codes).astype(np.uint8)[:, :, ::-1].copy()


def _jpeg(bgr: np.ndarray, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).save(buf, "JPEG", quality=95, **save)
    return buf.getvalue()


def _exif(space: int, index: str | None) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA001] = space
    if index is not None:
        exif.get_ifd(0x8769)[0xA005] = {1: index}
    return exif.tobytes()


def _icc_gamma22(description: str) -> bytes:
    """A minimal ICC v2 display profile: Adobe RGB's primaries (adapted to D50) and gamma 2.2."""
    def s15(x: float) -> bytes:
        return struct.pack(">i", round(x * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + s15(x) + s15(y) + s15(z)

    text = description.encode() + b"\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(8) + bytes(3) + bytes(67)
    curv = b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0233) + bytes(2)
    tags = [(b"desc", desc), (b"cprt", b"text" + bytes(4) + b"none\0"), (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)), (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)),
            (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)), (b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv)]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for signature, body in tags:
        data += bytes(-(offset + len(data)) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    header = (struct.pack(">I", 128 + len(body)) + b"lcms" + struct.pack(">I", 0x02100000)
              + b"mntrRGB XYZ " + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + bytes(24)  # platform … attributes
              + bytes(4) + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(48))
    assert len(header) == 128
    return header + body


@pytest.fixture(scope="module")
def scene():
    return render(1200, 1600, seed=2)[0]


def _backdrop(jpeg: bytes) -> np.ndarray:
    """Mean BGR of the export photo's top band (backdrop only)."""
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return img[4:24, 40:440].reshape(-1, 3).mean(axis=0)


def test_an_adobe_rgb_capture_marked_by_exif_is_checked_and_exported_in_srgb(profile, scene):
    srgb_report, srgb_jpeg = check_and_crop(_jpeg(scene), profile)
    adobe = _adobe_pixels(scene)
    assert np.abs(adobe[20, 20].astype(int) - scene[20, 20].astype(int)).max() > 25  # other codes
    report, jpeg = check_and_crop(_jpeg(adobe, exif=_exif(0xFFFF, "R03")), profile)
    assert report.passed, report.failed()
    assert np.abs(_backdrop(jpeg) - _backdrop(srgb_jpeg)).max() < 2.5
    assert open_source(_jpeg(adobe, exif=_exif(0xFFFF, None))).colour is not None  # R03 or none
    # the same Adobe codes read as sRGB (no marking) give another backdrop colour
    unmarked = analyse(_jpeg(adobe), profile).measurements
    converted = analyse(_jpeg(adobe, exif=_exif(0xFFFF, "R03")), profile).measurements
    reference = analyse(_jpeg(scene), profile).measurements
    assert unmarked is not None and converted is not None and reference is not None
    assert abs(converted.values["backdrop_delta_e"] - reference.values["backdrop_delta_e"]) < 1.0
    assert unmarked.values["backdrop_delta_e"] > reference.values["backdrop_delta_e"] + 5


def test_an_embedded_profile_is_converted_and_an_srgb_one_changes_nothing(profile, scene):
    icc = _icc_gamma22("Wide gamut test display")
    rgb = Image.fromarray(cv2.cvtColor(scene, cv2.COLOR_BGR2RGB))
    wide = ImageCms.profileToProfile(rgb, ImageCms.createProfile("sRGB"),
                                     ImageCms.ImageCmsProfile(io.BytesIO(icc)), outputMode="RGB")
    assert wide is not None
    buf = io.BytesIO()
    wide.save(buf, "JPEG", quality=95, icc_profile=icc)
    _, srgb_jpeg = check_and_crop(_jpeg(scene), profile)
    report, jpeg = check_and_crop(buf.getvalue(), profile)
    assert report.passed, report.failed()
    assert np.abs(_backdrop(jpeg) - _backdrop(srgb_jpeg)).max() < 2.5
    assert Image.open(io.BytesIO(jpeg)).info.get("icc_profile") is None  # sRGB, as the spec says

    srgb_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = open_source(_jpeg(scene, icc_profile=srgb_icc))
    plain = open_source(_jpeg(scene))
    assert tagged.colour is None and open_source(_jpeg(scene, exif=_exif(1, "R98"))).colour is None
    assert np.array_equal(tagged.decode(4), plain.decode(4))  # the same bytes, still streamed
    assert tagged._streams(4)
