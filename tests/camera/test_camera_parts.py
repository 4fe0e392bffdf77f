"""The camera area's smaller parts: error words, model tables, frame sources, doctor, udev, CLI."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from station.camera import CameraError, open_camera
from station.camera.errors import _CODES, CameraDisconnected, from_gphoto2
from station.camera.models import ModelTable
from station.doctor.camera import check_gvfs, check_udev, gvfs_processes
from station.errors import InputError
from station.i18n import both, catalog
from station.sim.frames import SwayingPortrait, drawn_portrait

ROOT = Path(__file__).resolve().parents[2]


class FakeGPError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"[{code}] fake")
        self.code = code


@pytest.mark.parametrize(("code", "key", "transient"), [
    (-53, "camera.claimed", False),
    (-110, "camera.busy", True),
    (-7, "camera.io", True),
    (-105, "camera.model_not_found", False),
    (-52, "camera.not_found", True),
    (-999, "camera.unknown_error", True),  # words, the code only as a detail
])
def test_gphoto2_codes_become_words(code, key, transient):
    err = from_gphoto2(FakeGPError(code), "capture")
    assert err.key == key and err.transient is transient and err.code == code
    assert err.exit_code == 3
    zh, en = err.messages
    assert zh != key and en != key
    assert "{" not in zh and "{" not in en  # every placeholder filled


def test_io_errors_mean_disconnected():
    assert isinstance(from_gphoto2(FakeGPError(-7)), CameraDisconnected)
    assert not isinstance(from_gphoto2(FakeGPError(-110)), CameraDisconnected)


def test_every_camera_message_exists_and_says_what_to_do():
    cat = catalog()
    keys = {key for key, _ in _CODES.values()}
    keys |= {"camera.not_found", "camera.disconnected", "camera.capture_timeout", "camera.no_preview",
             "camera.stopped", "camera.state.connected", "camera.state.reconnecting",
             "camera.state.failed"}
    for key in keys:
        assert key in cat, key
    # the operator is told an action, not just a number
    assert "station doctor" in cat["camera.claimed"]["en"] and "GVFS" in cat["camera.claimed"]["zh"]
    assert "PTP" in cat["camera.model_not_found"]["en"]


def test_model_tables_merge_generic_then_vendor():
    canon = ModelTable.for_camera("Canon", "Canon EOS 2000D")
    assert canon.widget_names("image_quality")[0] == "imageformat"
    assert "imagequality" in canon.widget_names("image_quality")
    assert canon.vendor_value("capture_target", "card", ["Internal RAM", "Memory card"]) == "Memory card"
    sony = ModelTable.for_camera("Sony", "Sony Alpha-A7 III")
    assert sony.vendor_value("capture_target", "ram", ["sdram", "card", "card+sdram"]) == "sdram"
    assert sony.station_value("capture_target", "sdram") == "ram"
    generic = ModelTable.for_camera("Acme", "Acme X1")
    assert generic.sources == ["generic.toml"]
    assert generic.vendor_value("white_balance", "daylight", ["Auto", "Daylight"]) == "Daylight"
    assert generic.vendor_value("iso", "400", ["100", "400"]) == "400"  # passed through
    with pytest.raises(CameraError) as info:
        generic.vendor_value("iso", "12800", ["100", "400"])
    assert info.value.key == "camera.setting_value"


def test_bad_model_table_names_the_file(tmp_path):
    (tmp_path / "broken.toml").write_text("[settings.iso\nwidgets = 1\n")
    with pytest.raises(InputError) as info:
        ModelTable.for_camera("Canon", "EOS", folder=tmp_path)
    assert "broken.toml" in info.value.message


def test_drawn_portrait_has_truth_and_the_sway_moves_it():
    img, truth = drawn_portrait(240, 320)
    assert img.shape == (320, 240, 3)
    assert tuple(int(v) for v in img[5, 5]) == (219, 142, 67)  # blue backdrop
    assert truth["face_count"] == 1 and truth["eye_left"][0] < truth["eye_right"][0]
    source = SwayingPortrait(base=drawn_portrait)
    a, ta = source(240, 320, 0.3)
    b, tb = source(240, 320, 1.2)
    assert (a != b).any()
    dx = tb["offset"][0] - ta["offset"][0]
    assert tb["eye_left"][0] - ta["eye_left"][0] == pytest.approx(dx, abs=0.02)


def test_sim_camera_uses_a_pluggable_source():
    import numpy as np

    def red(width, height, t):
        img = np.zeros((height, width, 3), np.uint8)
        img[:] = (0, 0, 255)
        return img, {"t": t}

    cam = open_camera("sim", source=red, preview_size=(32, 48), capture_size=(64, 96))
    cam.connect()
    frame = cam.preview_frame()
    assert frame.image()[0, 0].tolist() == [0, 0, 255] and "t" in frame.truth
    capture = cam.capture()
    assert capture.data[:2] == b"\xff\xd8" and capture.exif["width"] == 64


def test_unknown_kind_and_missing_virtual_folder(tmp_path):
    with pytest.raises(CameraError) as info:
        open_camera("webcam")
    assert info.value.key == "camera.unknown_kind"
    cam = open_camera("virtual", vcamera_dir=tmp_path)  # empty: nothing to serve
    with pytest.raises(CameraError) as info:
        cam.connect()
    assert info.value.key == "camera.virtual_dir" and str(tmp_path) in info.value.message


def test_gvfs_detector_reads_proc(tmp_path):
    for pid, comm in [(11, "bash"), (12, "gvfs-gphoto2-vo"), (13, "gvfsd-mtp")]:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "comm").write_text(comm + "\n")
    assert gvfs_processes(tmp_path) == ["12:gvfs-gphoto2-vo", "13:gvfsd-mtp"]
    check = check_gvfs(tmp_path)
    assert check.status == "warn" and check.area == "camera"
    assert "gvfs-gphoto2-vo" in check.message_en and "systemctl" in check.message_zh
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_gvfs(empty).status == "pass"


def test_udev_check_finds_installed_rules(tmp_path):
    missing = check_udev((tmp_path,))
    assert missing.status == "warn" and "70-capture-station-camera.rules" in missing.message_en
    (tmp_path / "70-capture-station-camera.rules").write_text("# installed\n")
    assert check_udev((tmp_path,)).status == "pass"


def test_udev_rules_are_well_formed():
    rules = (ROOT / "drivers" / "udev" / "70-capture-station-camera.rules").read_text()
    pair = re.compile(r'\s*([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|=|\+=|:=)\s*"([^"]*)"\s*(,|$)')
    labels, gotos = set(), set()
    for line in rules.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pos = 0
        while pos < len(line):
            m = pair.match(line, pos)
            assert m, f"bad rule at column {pos}: {line!r}"
            if m.group(1) == "LABEL":
                labels.add(m.group(3))
            if m.group(1) == "GOTO":
                gotos.add(m.group(3))
            pos = m.end()
    assert gotos <= labels
    assert 'TAG+="uaccess"' in rules and 'GROUP="plugdev"' in rules
    assert "060101" in rules  # PTP still-image class


def test_placeholders_match_in_both_languages_for_camera_messages():
    for key, entry in catalog().items():
        if not key.startswith("camera."):
            continue
        fields = [{f for _, f, _, _ in string.Formatter().parse(entry[lang]) if f} for lang in ("zh", "en")]
        assert fields[0] == fields[1], key
    zh, en = both("camera.state.reconnecting", attempt=2, delay=4, why="x")
    assert "2" in zh and "4" in en


def test_cli_capture_on_the_simulator(run_station):
    out = run_station.data_dir.parent / "sub" / "sim.jpg"
    out.parent.mkdir()  # a user's output folder is theirs to make: --out never creates it
    res = run_station("camera", "capture", "--camera", "sim", "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    doc = res.json()
    assert out.read_bytes()[:2] == b"\xff\xd8"
    assert doc["file_name"] == "SIM_0001.JPG" and doc["exif"]["Make"] == "Capture Station"


def test_cli_without_a_camera_exits_3_with_words(run_station, tmp_path):
    # the real driver, restricted to a USB port where no camera can be
    env = {"STATION__CAMERA__PORT": "usb:999,999"}
    res = run_station("--lang", "en", "camera", "capture", "--camera", "gphoto2", "--out",
                      str(tmp_path / "x.jpg"), "--timeout", "1.5", env=env)
    assert res.returncode == 3, res.stderr
    assert "No camera found" in res.stderr
    assert not (tmp_path / "x.jpg").exists()
    json_res = run_station("camera", "capture", "--camera", "gphoto2", "--out",
                           str(tmp_path / "x.jpg"), "--timeout", "1", "--json", env=env)
    assert json_res.returncode == 3
    assert json_res.json()["error"] == "camera.not_found"


def test_cli_settings_change_save_and_reapply(run_station):
    boss = {"STATION_OPERATOR": "主管甲", "STATION_PIN": "2468"}  # saving the preset is audited
    init = run_station("init", "--station-id", "st-a", "--supervisor", "主管甲", env=boss)
    assert init.returncode == 0, init.stderr
    res = run_station("camera", "settings", "--camera", "sim", "--set", "iso=400",
                      "--set", "capture_target=card", "--save", "--json", env=boss)
    assert res.returncode == 0, res.stderr
    doc = res.json()
    assert doc["settings"]["iso"]["value"] == "400"
    assert doc["settings"]["capture_target"]["value"] == "Memory card"
    preset = run_station.data_dir / "camera-preset.json"
    assert json.loads(preset.read_text()) == {"capture_target": "card", "iso": "400"}
    assert oct(preset.stat().st_mode & 0o777) == "0o600"
    # a new process, a freshly powered camera (defaults): the saved preset is applied on connect
    again = run_station("camera", "settings", "--camera", "sim", "--json")
    assert again.returncode == 0, again.stderr
    assert again.json()["settings"]["iso"]["value"] == "400"
    assert again.json()["camera"]["state"] == "connected"


def test_cli_settings_refuses_bad_values_with_the_choices(run_station):
    res = run_station("--lang", "en", "camera", "settings", "--camera", "sim", "--set", "iso=12800")
    assert res.returncode == 2
    assert "12800" in res.stderr and "1600" in res.stderr and "iso" in res.stderr
    res = run_station("camera", "settings", "--camera", "sim", "--set", "iso", "--json")
    assert res.returncode == 2 and res.json()["error"] == "camera.bad_change"
    assert not (run_station.data_dir / "camera-preset.json").exists()


def test_manual_clock_wakes_sleepers_at_their_deadline_or_on_their_event():
    import threading

    from station.camera.clock import ManualClock

    clock = ManualClock(start=0.0)
    wake = threading.Event()
    woken: list[tuple[bool, float]] = []
    thread = threading.Thread(target=lambda: woken.append((clock.wait(wake, 0.5), clock.now())))
    thread.start()
    clock.settle()
    clock.advance(0.4)
    clock.settle()                      # still asleep: its deadline is ahead
    assert woken == []
    clock.advance(0.1)
    thread.join(10)
    assert woken == [(False, 0.5)]
    thread = threading.Thread(target=lambda: woken.append((clock.wait(wake, 99), clock.now())))
    thread.start()
    clock.settle()
    wake.set()                          # a command: wakes it without time passing
    thread.join(10)
    assert woken[-1] == (True, 0.5)
    with pytest.raises(TimeoutError):
        clock.settle(timeout=0.05)      # nobody sleeps any more
