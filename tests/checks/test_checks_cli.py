"""`station check`, `station crop`, `station calibrate` as a script would call them."""

import io
import json
import re

import cv2
import pytest
from PIL import Image

from station.sim.portrait import render


def test_check_json_and_exit_codes(run_station, tmp_path, good_capture):
    good = tmp_path / "good.jpg"
    cv2.imwrite(str(good), good_capture[0])
    blue = tmp_path / "blue.jpg"
    cv2.imwrite(str(blue), render(1200, 1600, shirt=(95, 185, 245))[0])
    junk = tmp_path / "junk.gif"
    junk.write_bytes(b"GIF89a nonsense")
    ok = run_station("check", str(good), "--json")
    assert ok.returncode == 0, ok.stderr
    result = ok.json()["results"][0]
    assert result["image"] == str(good) and result["passed"] is True
    assert set(result["geometry"]) >= {"face_count", "eye_left", "eye_right", "face_box", "head_top_y", "scale"}
    assert set(result["checks"][0]) == {"name", "status", "value", "limit", "message_zh", "message_en"}
    assert isinstance(result["elapsed_ms"], float)
    bad = run_station("check", str(good), str(blue), str(junk), "--json")
    assert bad.returncode == 1
    passed = [r["passed"] for r in bad.json()["results"]]
    assert passed == [True, False, False]
    human = run_station("--lang", "en", "check", str(blue))
    assert human.returncode == 1 and "non-blue top" in human.stdout
    chinese = run_station("--lang", "zh", "check", str(blue))
    failing = [line for line in chinese.stdout.splitlines() if line.startswith("    ")]
    assert chinese.returncode == 1 and failing
    for line in failing:  # in words: 不合格 服装颜色: …, never "fail clothing_contrast:"
        assert line.split()[0] in {"不合格", "警告"}, line
        assert not re.search(r"\b(fail|warn|pass)\b|[a-z]+_[a-z]+", line), line


def test_crop_writes_a_photo_that_check_accepts(run_station, tmp_path, good_capture, profile):
    src = tmp_path / "capture.jpg"
    cv2.imwrite(str(src), good_capture[0])
    out = tmp_path / "export" / "photo.jpg"
    out.parent.mkdir()             # crop creates no folder, as camera capture (a typo stays one)
    res = run_station("crop", str(src), "--out", str(out))
    assert res.returncode == 0, res.stderr
    with Image.open(io.BytesIO(out.read_bytes())) as im:
        assert im.size == (480, 640) and im.info["dpi"] == (300, 300)
    assert (out.stat().st_mode & 0o777) == 0o600
    lo, hi = profile.size_bounds
    assert lo <= out.stat().st_size <= hi
    again = run_station("check", str(out), "--json")
    assert again.returncode == 0 and again.json()["results"][0]["geometry"]["scale"] == 1.0
    blue = tmp_path / "blue.jpg"
    cv2.imwrite(str(blue), render(1200, 1600, shirt=(95, 185, 245))[0])
    refused = run_station("crop", str(blue), "--out", str(tmp_path / "no.jpg"))
    assert refused.returncode == 1 and not (tmp_path / "no.jpg").exists()
    missing = run_station("crop", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "x.jpg"))
    assert missing.returncode == 2 and "nope.jpg" in missing.stderr


def test_calibrate_stores_the_station_backdrop(run_station, tmp_path):
    other_blue = (50, 130, 210)
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), render(1200, 1600, face=False, shirt=other_blue, backdrop=other_blue)[0])
    subject = tmp_path / "subject.png"
    cv2.imwrite(str(subject), render(1200, 1600, backdrop=other_blue)[0])
    before = run_station("check", str(subject), "--json")
    statuses = {c["name"]: c["status"] for c in before.json()["results"][0]["checks"]}
    assert statuses["backdrop_colour"] == "fail"  # far from the published reference blue
    anonymous = run_station("calibrate", "--empty", str(empty), "--subject", str(subject))
    assert anonymous.returncode == 2          # it changes the station: an operator, audited
    sup = {"STATION_OPERATOR": "sup", "STATION_PIN": "246810"}
    assert run_station("init", "--station-id", "c1", "--supervisor", "sup", env=sup).returncode == 0
    res = run_station("calibrate", "--empty", str(empty), "--subject", str(subject), "--json",
                      env=sup)
    assert res.returncode == 0, res.stderr
    data = res.json()
    assert all(abs(a - b) <= 3 for a, b in zip(data["backdrop_rgb"], other_blue, strict=True))
    assert data["sharpness"] > 0
    stored = json.loads((run_station.data_dir / "calibration.json").read_text())
    assert stored["chsi"]["backdrop_rgb"] == data["backdrop_rgb"]
    after = run_station("check", str(subject), "--json")
    assert after.returncode == 0, after.stdout
    # the baseline is on the profile's scale (in focus ≈ 0.5–1.3): said as measured, never "0"
    said = run_station("calibrate", "--empty", str(empty), "--subject", str(subject), env=sup)
    assert said.returncode == 0 and f"{data['sharpness']:.2f}" in said.stdout, said.stdout


def test_doctor_reports_the_checks_area(run_station):
    res = run_station("doctor", "--json")
    data = res.json()
    rows = data["checks"] if isinstance(data, dict) else data
    ours = {c["name"]: c["status"] for c in rows if c["area"] == "checks"}
    assert ours["profile"] == "pass" and ours["detector"] == "pass" and ours["models"] == "pass"
    assert ours["split_decoder"] == "pass"  # the C extension was built by pip and agrees with libjpeg
    assert ours["calibration"] == "warn"  # a fresh data dir was never calibrated


def test_doctor_warns_when_the_two_core_decoder_is_missing(monkeypatch):
    """A station installed without a C compiler still checks photos (libjpeg, one core): a
    warning says so and what to do, not a failure."""
    import sys

    from station.doctor.checks import check_split_decoder

    monkeypatch.setitem(sys.modules, "station.checks._splitjpeg", None)  # as if never built
    said = check_split_decoder()
    assert said.status == "warn" and "pip install" in said.message_en


def test_calibrate_itself_refuses_a_face_on_the_empty_frame(tmp_path):
    """Whoever calls it (the command line or the desk): a portrait as the empty backdrop would
    become the backdrop's blue and fail every later good photo."""
    from station.checks import load_profile
    from station.checks.calibration import calibrate
    from station.errors import InputError

    portrait = tmp_path / "portrait.png"
    cv2.imwrite(str(portrait), render(1200, 1600)[0])
    with pytest.raises(InputError) as refused:
        calibrate(portrait, None, load_profile("chsi"))
    assert refused.value.key == "checks.calibration_empty_has_face"
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), render(1200, 1600, face=False)[0])
    assert calibrate(empty, None, load_profile("chsi")).backdrop_rgb is not None


def test_crop_out_refuses_another_image_format_and_a_folder(run_station, tmp_path, good_capture):
    """`crop --out x.png` wrote a JPEG under a .png name: refused (exit 2) naming --out, nothing
    written; so is a folder. A missing folder is made and the same name replaced, as before:
    scripts crop into one name again and again."""
    src = tmp_path / "capture.jpg"
    cv2.imwrite(str(src), good_capture[0])
    png = tmp_path / "photo.png"
    r = run_station("--lang", "en", "crop", str(src), "--out", str(png))
    assert r.returncode == 2 and "--out" in r.stderr and ".jpg" in r.stderr, r.stderr
    assert not png.exists()
    zh = run_station("--lang", "zh", "crop", str(src), "--out", str(png), "--json")
    assert zh.returncode == 2 and zh.json()["error"] == "common.out_not_jpeg" and "扩展名" in zh.stderr
    folder = run_station("crop", str(src), "--out", str(tmp_path))
    assert folder.returncode == 2 and "--out" in folder.stderr
    nested = tmp_path / "export" / "day1" / "photo.JPEG"
    for _ in range(2):
        made = run_station("crop", str(src), "--out", str(nested))
        assert made.returncode == 0, made.stderr
        with Image.open(nested) as im:
            assert im.format == "JPEG" and im.size == (480, 640)
