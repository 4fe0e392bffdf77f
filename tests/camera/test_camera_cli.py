"""`station camera …` in-process, on cameras that show what the command asked of them.

The command's own steps (arguments, checks before the shutter, what it writes) are tested here;
the gphoto2 stack itself in test_camera_gphoto2_virtual.py.
"""

from __future__ import annotations

import json
import os

import pytest

from station.camera.base import Capture, FileRef
from station.camera.sim import SimCamera
from station.cli.main import main


def real_jpeg() -> bytes:
    import cv2
    import numpy as np

    ok, buf = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))
    assert ok
    return buf.tobytes()


class RawCamera(SimCamera):
    """A RAW+JPEG body: sends the RAW only when the driver asks for it (``download_raw``)."""

    def __init__(self, **kw) -> None:
        super().__init__(preview_size=(120, 160), capture_size=(240, 320), **kw)
        self.download_raw = False
        self.triggers = 0

    def trigger(self, timeout):
        self.triggers += 1
        return super().trigger(timeout)

    def download(self, refs: list[FileRef]) -> Capture:
        capture = super().download(refs)
        if self.download_raw:
            capture.extra = {"SIM_0001.NEF": b"II*\x00raw"}
        return capture


@pytest.fixture
def camera_cli(tmp_path, monkeypatch, capsys):
    """Run ``station camera …`` in this process with ``camera`` as the configured device."""
    import station.camera as camera_pkg

    state: dict = {"camera": RawCamera()}
    monkeypatch.setattr(camera_pkg, "open_camera_from_config", lambda settings, kind=None: state["camera"])
    monkeypatch.delenv("STATION_OPERATOR", raising=False)

    def run(*args: str) -> tuple[int, dict | None, str]:
        code = main(["--data-dir", str(tmp_path / "data"), "camera", *args])
        out = capsys.readouterr()
        doc = json.loads(out.out) if out.out.strip().startswith("{") else None
        return code, doc, out.err

    run.state = state  # type: ignore[attr-defined]
    # main() in this process sets up what a command's process would own: a log file handler on
    # the root logger, the language, the umask. Give them back, so later tests are not affected.
    import logging
    import os

    from station import i18n

    root = logging.getLogger()
    handlers, level, lang = list(root.handlers), root.level, i18n.get_language()
    umask = os.umask(0o022)
    os.umask(umask)
    yield run
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    i18n.set_language(lang)
    os.umask(umask)


def test_raw_out_asks_the_camera_for_the_raw_and_writes_it(camera_cli, tmp_path):
    code, doc, err = camera_cli("capture", "--camera", "sim", "--out", str(tmp_path / "a.jpg"),
                                "--raw-out", str(tmp_path / "a.nef"), "--json")
    assert code == 0, err
    assert (tmp_path / "a.nef").read_bytes() == b"II*\x00raw"
    assert doc["raw"][0]["file_name"] == "SIM_0001.NEF"


def test_raw_out_without_a_raw_warns_in_words(camera_cli, tmp_path):
    camera_cli.state["camera"] = SimCamera(preview_size=(120, 160), capture_size=(240, 320))
    code, doc, err = camera_cli("capture", "--camera", "sim", "--out", str(tmp_path / "a.jpg"),
                                "--raw-out", str(tmp_path / "a.nef"), "--json")
    assert code == 0, err
    assert (tmp_path / "a.jpg").exists() and not (tmp_path / "a.nef").exists()
    assert doc["raw"] == [] and doc["warnings"][0]["key"] == "camera.no_raw"
    assert "RAW" in err


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "-inf", "soon"])
@pytest.mark.parametrize("command", ["capture", "settings"])
def test_timeout_must_be_a_positive_finite_number(camera_cli, tmp_path, command, value):
    extra = ["--out", str(tmp_path / "a.jpg")] if command == "capture" else []
    try:
        code, _, err = camera_cli(command, "--camera", "sim", *extra, f"--timeout={value}")
    except SystemExit as stop:  # not a number at all: argparse's own usage error
        code, err = stop.code, "--timeout"
    assert code == 2, err
    assert "--timeout" in err
    assert camera_cli.state["camera"].triggers == 0 and camera_cli.state["camera"].connects == 0
    assert not (tmp_path / "a.jpg").exists()


def test_timeout_message_names_the_option(camera_cli, tmp_path):
    code, doc, err = camera_cli("capture", "--camera", "sim", "--out", str(tmp_path / "a.jpg"),
                                "--timeout", "0", "--json")
    assert code == 2 and doc["error"] == "common.bad_seconds"
    assert "--timeout" in doc["message_en"] and "above 0" in doc["message_en"]
    assert "秒数" in doc["message_zh"]


def _refused(camera_cli, *args):
    code, doc, err = camera_cli("capture", "--camera", "sim", *args, "--json")
    assert code == 2, err
    assert camera_cli.state["camera"].triggers == 0  # checked before the shutter fired
    return doc


def test_out_that_is_a_folder_is_refused_before_the_shutter(camera_cli, tmp_path):
    doc = _refused(camera_cli, "--out", str(tmp_path))
    assert doc["error"] == "camera.out_is_dir" and doc["file"] == "--out"
    assert str(tmp_path) in doc["message_en"] and ".tmp" not in doc["message_en"]


def test_out_in_a_missing_folder_is_refused_and_not_created(camera_cli, tmp_path):
    doc = _refused(camera_cli, "--out", str(tmp_path / "nope" / "x.jpg"))
    assert doc["error"] == "camera.out_no_folder" and doc["file"] == "--out"
    assert not (tmp_path / "nope").exists()


def test_raw_out_is_checked_before_the_shutter_too(camera_cli, tmp_path):
    doc = _refused(camera_cli, "--out", str(tmp_path / "a.jpg"), "--raw-out", str(tmp_path / "no" / "a.nef"))
    assert doc["error"] == "camera.out_no_folder" and doc["file"] == "--raw-out"
    assert not (tmp_path / "a.jpg").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_out_in_a_read_only_folder_is_refused(camera_cli, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    doc = _refused(camera_cli, "--out", str(folder / "a.jpg"))
    assert doc["error"] == "camera.out_not_writable"


def test_atomic_write_names_the_target_not_its_temp_file(tmp_path):
    from station.fsio import atomic_write

    with pytest.raises(IsADirectoryError) as info:
        atomic_write(tmp_path, b"x")
    assert info.value.filename == str(tmp_path) and info.value.filename2 is None
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "new" / "x.jpg", b"x", make_parents=False)
    assert not (tmp_path / "new").exists()
    assert atomic_write(tmp_path / "made" / "x.jpg", b"x").read_bytes() == b"x"  # the default


def test_doctor_fails_with_exit_3_when_the_configured_camera_is_absent(run_station):
    # the real driver on a machine with no camera attached
    res = run_station("--lang", "en", "doctor", "--json", env={"STATION__CAMERA__DRIVER": "gphoto2"})
    detect = next(c for c in res.json()["checks"] if (c["area"], c["name"]) == ("camera", "detect"))
    assert detect["status"] == "fail" and "camera.driver = gphoto2" in detect["message_en"]
    assert res.returncode == 3


def test_doctor_does_not_ask_for_a_camera_when_the_simulator_is_configured(run_station):
    res = run_station("--lang", "en", "doctor", "--json", env={"STATION__CAMERA__DRIVER": "sim"})
    detect = next(c for c in res.json()["checks"] if (c["area"], c["name"]) == ("camera", "detect"))
    assert detect["status"] == "pass"
    assert res.returncode != 3


@pytest.fixture
def station_with_operators(camera_cli, tmp_path, monkeypatch, capsys):
    """An initialised station: supervisor 主管甲 and photographer 拍照乙 (PINs from STATION_PIN)."""
    from station.store import open_store

    monkeypatch.setenv("STATION_PIN", "2468")
    assert main(["--data-dir", str(tmp_path / "data"), "init", "--station-id", "st-a",
                 "--supervisor", "主管甲"]) == 0
    store = open_store(tmp_path / "data")
    try:
        boss = store.operators.authenticate("主管甲", "2468")
        store.operators.add("拍照乙", "photographer", "1357", by=boss)
    finally:
        store.close()
    capsys.readouterr()  # what init printed
    return camera_cli


def _preset_entries(data_dir):
    from station.store import open_store

    store = open_store(data_dir)
    try:
        return [e for e in store.audit.entries() if e["action"] == "camera.preset"]
    finally:
        store.close()


def test_reading_settings_needs_no_operator(station_with_operators):
    code, doc, err = station_with_operators("settings", "--camera", "sim", "--json")
    assert code == 0, err
    assert doc["settings"]["iso"]["value"] == "200" and doc["preset_saved"] is None


def test_saving_the_preset_needs_an_operator_and_touches_nothing_without_one(
        station_with_operators, tmp_path):
    code, doc, err = station_with_operators("settings", "--camera", "sim", "--set", "iso=400",
                                            "--save", "--json")
    assert code == 2 and doc["error"] == "auth.operator_required"
    assert station_with_operators.state["camera"].connects == 0  # refused before the camera
    assert not (tmp_path / "data" / "camera-preset.json").exists()
    assert _preset_entries(tmp_path / "data") == []


def test_a_photographer_may_not_save_the_preset(station_with_operators, tmp_path, monkeypatch):
    monkeypatch.setenv("STATION_PIN", "1357")
    monkeypatch.setenv("STATION_OPERATOR", "拍照乙")
    code, doc, err = station_with_operators("settings", "--camera", "sim", "--set", "iso=400",
                                            "--save", "--json")
    assert code == 2 and doc["error"] == "auth.not_allowed"
    assert not (tmp_path / "data" / "camera-preset.json").exists()


def test_saving_the_preset_is_audited(station_with_operators, tmp_path, monkeypatch):
    monkeypatch.setenv("STATION_OPERATOR", "主管甲")
    code, doc, err = station_with_operators("settings", "--camera", "sim", "--set", "iso=400",
                                            "--save", "--json")
    assert code == 0, err
    preset = json.loads((tmp_path / "data" / "camera-preset.json").read_text())
    assert preset == {"iso": "400"}
    [entry] = _preset_entries(tmp_path / "data")
    assert entry["operator"] == "主管甲"
    details = entry["details"] if isinstance(entry["details"], dict) else json.loads(entry["details"])
    assert details["changes"] == {"iso": "400"}
