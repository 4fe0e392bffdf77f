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


def quality(data: bytes) -> int:
    """JPEG quality from the luminance table (IJG scaling: entry 0 of the standard table is 16)."""
    with Image.open(io.BytesIO(data)) as im:
        scale = im.quantization[0][0] * 100 / 16
    return int(round((200 - scale) / 2)) if scale <= 100 else int(round(5000 / scale))


def assert_export(data: bytes, profile):
    assert 30 * 1024 <= len(data) <= 40 * 1024, len(data) / 1024  # the spec's band
    assert quality(data) >= 60
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
    """Both are read; a black-and-white photo is refused first of all for being one (the photo
    must be 24-bit colour), not only by the colour checks it upsets."""
    gray = cv2.cvtColor(good_capture[0], cv2.COLOR_BGR2GRAY)
    path = tmp_path / "gray.png"
    cv2.imwrite(str(path), gray)
    report = check_image(path, profile)
    assert report.status("face_count") == "pass"
    assert report.checks[0].name == "readable" and report.checks[0].status == "fail"
    assert "black and white" in report.checks[0].message_en and "黑白" in report.checks[0].message_zh
    # the same gray pixels in an RGB file: black and white all the same
    path = tmp_path / "gray-rgb.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    assert check_image(path, profile).checks[0].message_en == report.checks[0].message_en
    # a black, burnt-out or flat gray frame shows no picture: its exposure says why, not this
    for level in (0, 128, 255):
        flat = tmp_path / f"flat-{level}.jpg"
        Image.new("RGB", (1200, 1600), (level,) * 3).save(flat)
        assert "readable" not in check_image(flat, profile).failed()
    rgba = np.dstack([good_capture[0], np.full(gray.shape, 255, np.uint8)])
    path = tmp_path / "rgba.png"
    cv2.imwrite(str(path), rgba)
    assert check_image(path, profile).passed


@pytest.mark.parametrize("size", [(1, 1), (300, 400), (479, 900)])
def test_an_image_smaller_than_the_photo_is_said_to_be_too_small(profile, tmp_path, size):
    """A thumbnail or icon is not 'no face, too dark': it is too small to cut the photo from."""
    path = tmp_path / "small.png"
    Image.new("RGB", size, (20, 30, 40)).save(path)
    report = check_image(path, profile)
    first = report.checks[0]
    assert (first.name, first.status) == ("readable", "fail")
    assert f"{size[0]}×{size[1]}" in first.message_en and "480×640" in first.message_zh
    assert "exposure" not in report.failed()


def test_a_large_enough_frame_without_a_face_is_not_too_small(profile, tmp_path):
    path = tmp_path / "empty.png"
    Image.new("RGB", (480, 640), (255, 197, 100)).save(path)
    assert "readable" not in check_image(path, profile).failed()


def test_why_an_image_is_unreadable_is_said_in_the_readers_language(profile, tmp_path):
    from PIL import Image as PILImage

    from station.checks.pipeline import analyse

    def first(path) -> tuple[str, str]:
        check = analyse(path, profile).report.checks[0]
        assert (check.name, check.status) == ("readable", "fail")
        return check.message_zh, check.message_en

    data = _jpeg(render(480, 640)[0])
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    zh, en = first(cut)
    assert "文件不完整" in zh and "truncated" in en
    zh, en = first(tmp_path / "missing.jpg")
    assert "不存在" in zh and "No such file" in en  # the phrase, the OS's own words kept
    big = tmp_path / "bomb.png"
    PILImage.new("1", (10_000, 9_000)).save(big)  # 90 MP in a few KB
    zh, en = first(big)
    assert "像素太多" in zh and "too many pixels" in en


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
    # the renderer's eye truth is hand-placed to about one astronaut pixel (~2 px here)
    assert g["eye_left"][0] == pytest.approx(left[0], abs=2.5)
    assert g["eye_left"][1] == pytest.approx(left[1], abs=1.5)
    assert g["scale"] > 2.0
    assert_export(crop_image(data, profile), profile)


def _window_of(data: bytes, capture: np.ndarray, profile) -> np.ndarray:
    """The capture's pixels under the crop window the report names, scaled to the export size."""
    x0, y0, s = check_image(data, profile).geometry["window"]
    x, y, w, h = (int(round(v)) for v in (x0, y0, 480 * s, 640 * s))
    return cv2.resize(capture[y:y + h, x:x + w], profile.size, interpolation=cv2.INTER_AREA)


def test_crop_never_rotates_a_tilt_inside_the_limit(profile):
    """Eyes tilted 1.5° (inside 2°): the export shows the same 1.5°, cut and scaled, never levelled."""
    from station.checks.pipeline import analyse

    img, truth = render(1800, 2400, roll=1.5)
    data = _jpeg(img)
    out = crop_image(data, profile)
    assert_export(out, profile)
    exported = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR)
    assert check_image(out, profile).geometry["roll_deg"] == pytest.approx(1.5, abs=0.4)
    # content: the export is the capture's window resized, not a rotated version of it
    plain = _window_of(data, img, profile).astype(np.float32)
    centre = (240, 250)
    rotated = cv2.warpAffine(plain, cv2.getRotationMatrix2D(centre, 1.5, 1.0), profile.size)
    diff_plain = np.abs(exported.astype(np.float32) - plain)[40:-40, 40:-40].mean()
    diff_rot = np.abs(exported.astype(np.float32) - rotated)[40:-40, 40:-40].mean()
    assert diff_plain < 3.0 and diff_rot > 2 * diff_plain, (diff_plain, diff_rot)
    flipped = np.abs(exported.astype(np.float32) - plain[:, ::-1])[40:-40, 40:-40].mean()
    assert flipped > 2 * diff_plain
    assert analyse(out, profile).report.passed


@pytest.mark.parametrize("roll", [1.8, -1.9])
def test_a_crop_rechecked_reads_the_roll_the_capture_tier_read(profile, roll):
    """Near the limit the roll is read on the export frame in both tiers, as the mean of several
    looks at each eye: `station check` on a crop agrees with the check that made it (one look on
    the capture's own decode disagreed by 0.16° at 1.8°, enough to flip a verdict at 2°)."""
    from station.checks.imageio import encode_jpeg
    from station.checks.pipeline import analyse

    img, _ = render(1800, 2400, roll=roll)
    capture = analyse(_jpeg(img), profile)  # the capture tier: what `station crop` encodes
    capture_roll = capture.report.geometry["roll_deg"]
    crop = encode_jpeg(capture.frame, profile)
    assert check_image(crop, profile).geometry["roll_deg"] == pytest.approx(capture_roll, abs=0.1)


def test_a_tilt_beyond_the_limit_is_a_retake(profile):
    img, _ = render(1800, 2400, roll=4)
    with pytest.raises(CropError) as err:
        crop_image(_jpeg(img), profile)
    assert "roll" in err.value.message
    zh, en = err.value.messages
    assert "hold the head straight" in en and "摆正" in zh  # the refusal says what to do
    report = check_image(_jpeg(img), profile)
    assert report.failed() == ["roll"]
    assert "hold the head straight" in report.top_instruction[1]


def test_24_megapixel_frame_with_room_is_cropped(profile, tmp_path):
    """A camera frame (6000×4000) whose head fills a third of the height: a compliant crop exists."""
    small, _ = render(1500, 1000)
    big = cv2.resize(small, (6000, 4000), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(1).integers(-6, 7, size=big.shape, dtype=np.int16)
    big = (big.astype(np.int16) + noise).clip(0, 255).astype(np.uint8)
    path = tmp_path / "capture.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    del big
    report, data = __import__("station.checks", fromlist=["x"]).check_and_crop(path, profile)
    assert report.passed and report.geometry["scale"] > 4, report.failed()
    assert_export(data, profile)


def test_file_size_band_says_which_way_it_misses(profile):
    from station.checks.imageio import encode_jpeg

    flat = np.full((640, 480, 3), (200, 180, 160), np.uint8)
    assert len(encode_jpeg(flat, profile)) < 30 * 1024  # a forced photo still gets its file
    with pytest.raises(CropError) as small:
        encode_jpeg(flat, profile, strict=True)
    assert "too small" in small.value.messages[1] and "太小" in small.value.messages[0]
    noise = np.random.default_rng(0).integers(0, 256, size=(640, 480, 3), dtype=np.uint8)
    with pytest.raises(CropError) as large:
        encode_jpeg(noise, profile, strict=True)
    assert "too large" in large.value.messages[1] and "60" in large.value.messages[1]


def test_a_photo_that_fits_at_the_best_quality_keeps_4_2_0(profile):
    """Under the band at the first guess, the step lands on the best quality: that quality is
    tried at 4:2:0 before full-resolution chroma (the encoder used to stop short of it and switch
    to 4:4:4: 25 KB at q85 became 4:4:4 q88 on a real frame)."""
    from PIL import JpegImagePlugin

    from station.checks.imageio import FIRST_QUALITY, encode_jpeg

    soft, _ = render(480, 640, face_width=240, eye_y=250, noise=1.0, blur=1.0)
    q_max = profile.output.max_quality
    lo, hi = profile.size_bounds
    first, best = (len(_jpeg_at(soft, q)) for q in (FIRST_QUALITY, q_max))
    assert first < lo and lo <= best <= hi, (first, best)  # the case: only q_max at 4:2:0 fits
    data = encode_jpeg(soft, profile, strict=True)
    with Image.open(io.BytesIO(data)) as im:
        assert JpegImagePlugin.get_sampling(im) == 2  # 4:2:0
    assert quality(data) >= q_max - 1  # read back from the tables: ±1
    assert lo <= len(data) <= hi


@pytest.mark.parametrize("noise", [6.0, 8.0])
def test_one_step_on_the_size_model_reaches_the_band(profile, noise, monkeypatch):
    """Above the band at the first quality, the step along libjpeg's quantisation scale lands in
    it: two encodes, not three (a step linear in quality overshot to q95 on these and came back)."""
    from station.checks.imageio import FIRST_QUALITY, encode_jpeg

    img, _ = render(480, 640, face_width=240, eye_y=250, noise=noise, blur=1.0)
    qualities: list[int] = []
    save = Image.Image.save

    def counted(self, fp, fmt=None, **params):
        qualities.append(params["quality"])
        return save(self, fp, fmt, **params)

    monkeypatch.setattr(Image.Image, "save", counted)
    data = encode_jpeg(img, profile, strict=True)
    lo, hi = profile.size_bounds
    assert lo <= len(data) <= hi
    assert qualities[0] == FIRST_QUALITY and len(qualities) == 2, qualities


def _jpeg_at(img_bgr, q: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img_bgr[:, :, ::-1]).save(buf, "JPEG", quality=q, dpi=(300, 300), optimize=True,
                                              subsampling=2)
    return buf.getvalue()


def test_an_export_photo_outside_the_size_band_fails_check(profile, good_capture):
    data = crop_image(_jpeg(good_capture[0]), profile)
    assert check_image(data, profile).status("file_size") == "pass"
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    noisy = (pixels.astype(np.int16) + np.random.default_rng(2).integers(-20, 21, pixels.shape))
    big = _jpeg(noisy.clip(0, 255).astype(np.uint8), dpi=(300, 300))
    assert len(big) > 40 * 1024
    report = check_image(big, profile)
    assert report.status("file_size") == "warn" and "too large" in next(
        c for c in report.checks if c.name == "file_size").message_en
    buf = io.BytesIO()
    Image.fromarray(pixels[:, :, ::-1]).save(buf, "JPEG", quality=40, dpi=(300, 300))
    low = check_image(buf.getvalue(), profile)
    assert low.status("file_size") == "fail"
    assert "quality" in next(c for c in low.checks if c.name == "file_size").message_en


def test_the_crop_keeps_every_value_inside_its_bound_where_it_can(profile):
    """Tall hair: with the eyes at their target the head top would sit on its bound, where the
    crop's own re-check flips on a pixel; the window gives up a little of the targets instead
    and keeps every value ``placement.keep_inside`` px inside (the old placement: 1.5 px)."""
    from station.checks.placement import Subject, place

    k = 800 / 240  # capture px per export px at the target face width
    subject = Subject(head_top=3000 - 250 * k, eye_y=3000, face_width=800, centre_x=2000)
    spot = place(subject, profile, (4000, 6000))
    assert spot.feasible
    values = {"head_top": (subject.head_top - spot.y0) / spot.scale,
              "eye_line": (subject.eye_y - spot.y0) / spot.scale,
              "face_width": subject.face_width / spot.scale}
    keep = profile.placement.keep_inside
    for name, value in values.items():
        lo, hi = profile.safe_range(name)
        assert lo + keep - 1 <= value <= hi - keep + 1, (name, value)


def test_the_export_encode_writes_to_a_descriptor_and_gives_the_bytes_of_an_in_memory_one(
        profile, monkeypatch):
    """Pillow encodes into a file with a descriptor with the GIL released (into a BytesIO it
    holds it throughout, so the encode beside the frame measurements ran in turn with them): the
    encoder is handed such a file where the system has one, and the bytes are the same as with a
    BytesIO (which stays the fallback)."""
    import os

    from station.checks import imageio

    frame, _ = render(480, 640, face_width=240, eye_y=250, noise=2.0)
    handed = []
    real = Image.Image.save

    def spy(self, fp, *args, **kwargs):
        handed.append(fp)
        return real(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", spy)
    data = imageio.encode_jpeg(frame, profile, strict=True)
    if hasattr(os, "memfd_create"):
        assert handed and all(not isinstance(fp, io.BytesIO) for fp in handed)
        assert all(fp.closed for fp in handed)  # each encode's descriptor is closed again
    handed.clear()
    monkeypatch.delattr(os, "memfd_create", raising=False)
    assert imageio.encode_jpeg(frame, profile, strict=True) == data
    assert handed and all(isinstance(fp, io.BytesIO) for fp in handed)
    assert_export(data, profile)


@pytest.mark.parametrize("quality", [35, 50, 60, 61, 72, 90, 93, 94, 99])
def test_the_quality_of_a_jpeg_is_read_exactly_from_its_tables(quality):
    """The first table entry alone reads 94 for a file saved at 93: every entry is compared."""
    from station.checks.imageio import jpeg_quality

    rng = np.random.default_rng(quality)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG",
                                                                             quality=quality)
    assert jpeg_quality(buf.getvalue()) == quality
