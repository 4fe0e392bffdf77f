"""The export JPEG: size, density, baseline, no camera EXIF, inside the file bounds, passes check."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from station.checks import CropError, check_image, crop_image
from station.sim.portrait import render


def _jpeg(img_bgr, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img_bgr[:, :, ::-1]).save(buf, "JPEG", quality=92, **kw)
    return buf.getvalue()


def assert_export(data: bytes, profile):
    lo, hi = profile.size_bounds
    assert lo <= len(data) <= hi
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and im.size == profile.size and im.mode == "RGB"
        assert im.info.get("jfif") and im.info.get("dpi") == (300, 300)
        assert not im.info.get("progressive") and not im.info.get("progression")
        assert not im.getexif() and "exif" not in im.info
    assert check_image(data, profile).passed


def test_crop_of_a_capture_meets_the_file_spec_and_passes_check(profile, good_capture):
    data = crop_image(_jpeg(good_capture[0]), profile)
    assert_export(data, profile)


def test_crop_respects_exif_orientation_and_drops_camera_exif(profile, good_capture):
    img = good_capture[0]
    stored = cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE)  # as a camera held upright stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 2000D SERIAL-LEAK"
    data = _jpeg(stored, exif=exif.tobytes())
    report = check_image(data, profile)
    assert report.passed, report.failed()
    out = crop_image(data, profile)
    assert b"Canon" not in out and b"SERIAL-LEAK" not in out
    assert_export(out, profile)


def test_grayscale_and_rgba_inputs_are_accepted(profile, good_capture, tmp_path):
    gray = cv2.cvtColor(good_capture[0], cv2.COLOR_BGR2GRAY)
    path = tmp_path / "gray.png"
    cv2.imwrite(str(path), gray)
    report = check_image(path, profile)
    assert report.status("face_count") == "pass"
    rgba = np.dstack([good_capture[0], np.full(gray.shape, 255, np.uint8)])
    path = tmp_path / "rgba.png"
    cv2.imwrite(str(path), rgba)
    assert check_image(path, profile).passed


def test_unreadable_image_is_a_failed_result(profile, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    report = check_image(bad, profile)
    assert not report.passed and report.failed() == ["readable"]
    assert "bad.jpg" in report.checks[0].message_en


def test_crop_refuses_a_frame_that_fails(profile):
    img, _ = render(1200, 1600, shirt=(95, 185, 245))
    with pytest.raises(CropError) as err:
        crop_image(img, profile)
    assert "clothing_contrast" in err.value.message and err.value.exit_code == 1


def test_large_capture_is_analysed_from_a_reduced_decode(profile):
    """A camera-size JPEG takes the DCT-scaled path; geometry must still land in the export frame."""
    from station.checks.pipeline import analyse

    img, truth = render(2400, 3200, roll=1.5)
    data = _jpeg(img)
    result = analyse(data, profile)
    assert result.report.passed, result.report.failed()
    fr, g = result.framing, result.report.geometry
    left = fr.point(truth["eye_left"])
    assert g["eye_left"][0] == pytest.approx(left[0], abs=4)
    assert g["eye_left"][1] == pytest.approx(left[1], abs=4)
    assert g["scale"] > 2.0
    assert_export(crop_image(data, profile), profile)
