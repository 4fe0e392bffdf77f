"""The gphoto2 driver against libgphoto2's virtual camera (the real PTP stack, no hardware).

Each test runs in a fresh interpreter: libgphoto2 picks its port drivers (IOLIBS) when it loads
them, and the virtual camera's state lives in that process.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.camera.conftest import run_python

pytestmark = pytest.mark.camera


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_connect_status_settings_and_twenty_captures(vcamera_dir):
    out = run_python(f"""
        import hashlib, json
        from station.camera import CameraService, open_camera
        cam = open_camera("virtual", vcamera_dir={str(vcamera_dir)!r})
        out = {{"detect": cam.detect(), "list": cam.list_cameras()}}
        # busy_retries=0: a single -110 would fail a capture instead of being retried away
        svc = CameraService(cam, busy_retries=0).start()
        try:
            out["connected"] = svc.wait_connected(10)
            out["status"] = svc.status().to_json()
            out["caps"] = svc.capabilities.to_json()
            out["settings"] = {{k: v.to_json() for k, v in svc.settings().items()}}
            out["set_aperture"] = svc.set_setting("aperture", "f/8").value
            out["reread_aperture"] = svc.settings()["aperture"].value
            out["set_target"] = svc.set_setting("capture_target", "card").value
            out["captures"] = []
            for _ in range(20):
                c = svc.capture(10)
                out["captures"].append({{"name": c.file_name, "folder": c.folder,
                                         "sha": hashlib.sha256(c.data).hexdigest(), "exif": c.exif}})
            out["stats"] = svc.stats
        finally:
            svc.stop()
        print(json.dumps(out))
    """)
    assert out["detect"] is True
    assert out["list"][0]["model"] == "Nikon DSC D750"
    assert out["connected"] is True
    status = out["status"]
    assert status["model"] == "Nikon DSC D750"
    assert status["battery"] == "50%"
    assert status["serial"] == "0.1"
    assert status["free_kb"] > 0 and status["capacity_kb"] >= status["free_kb"]
    assert out["caps"]["trigger"] and out["caps"]["config"]
    assert out["caps"]["preview"] is False  # the virtual camera has no capture_preview
    settings = out["settings"]
    assert settings["aperture"]["widget"] == "f-number"
    assert "f/8" in settings["aperture"]["choices"]
    assert settings["capture_target"]["choices"] == ["Internal RAM", "Memory card"]
    assert settings["image_size"]["readonly"] is True
    assert out["set_aperture"] == out["reread_aperture"] == "f/8"
    assert settings["aperture"]["value"] != "f/8"  # it really changed
    assert out["set_target"] == "Memory card"  # the station's "card" in the camera's words

    served = _sha(vcamera_dir / "served.jpg")
    captures = out["captures"]
    assert len(captures) == 20
    assert all(c["sha"] == served for c in captures)
    names = [c["folder"] + "/" + c["name"] for c in captures]
    assert len(set(names)) == 20  # 20 different shots, none handed out twice
    assert all(c["name"].endswith(".JPG") for c in captures)
    assert all(c["exif"]["width"] == 640 and c["exif"]["height"] == 480 for c in captures)
    assert out["stats"]["captures"] == 20
    assert out["stats"]["capture_failures"] == 0
    assert out["stats"]["busy_retries"] == 0


def test_errors_in_words_on_the_virtual_camera(vcamera_dir):
    out = run_python(f"""
        import json
        from station.camera import CameraError, open_camera
        # keep shots on the camera: faster, and the store fills just the same
        cam = open_camera("virtual", vcamera_dir={str(vcamera_dir)!r}, delete_after_download=False)
        cam.connect()
        out = {{"caps_before": cam.capabilities().preview}}
        def err(fn, *a):
            try:
                fn(*a)
            except CameraError as e:
                return {{"key": e.key, "code": e.code, "en": e.messages[1], "zh": e.messages[0]}}
            return None
        out["preview"] = err(cam.preview_frame)
        out["caps_after"] = cam.capabilities().preview
        out["unknown"] = err(cam.set_setting, "zoom", "2")
        out["readonly"] = err(cam.set_setting, "image_size", "large")
        out["bad_value"] = err(cam.set_setting, "aperture", "f/1.2")
        shots = 0
        while shots < 40:
            e = err(cam.capture, 5)
            if e:
                out["full"] = e
                break
            shots += 1
        out["shots_before_full"] = shots
        cam.close()
        print(json.dumps(out))
    """)
    # announced by the abilities, refused by the camera: known from connect on, not after a
    # first failed frame (the UI adapts when the camera connects)
    assert out["caps_before"] is False and out["caps_after"] is False
    assert out["preview"]["key"] == "camera.no_preview"
    assert out["unknown"]["key"] == "camera.setting_unknown" and "aperture" in out["unknown"]["en"]
    assert out["readonly"]["key"] == "camera.setting_readonly"
    assert out["bad_value"]["key"] == "camera.setting_value" and "f/22" in out["bad_value"]["en"]
    # the virtual camera's store runs full after 26 shots: said in words, with what to do
    assert out["shots_before_full"] == 26
    assert out["full"]["key"] == "camera.storage_full"
    assert "Internal RAM" in out["full"]["en"] and "内存" in out["full"]["zh"]


def test_cli_capture_writes_what_the_camera_served(vcamera_dir, run_station):
    out = run_station.data_dir.parent / "photo.jpg"
    env = {"STATION__CAMERA__VCAMERA_DIR": str(vcamera_dir),
           "XDG_CONFIG_HOME": str(vcamera_dir.parent / "xdg")}  # libgphoto2's own settings file
    res = run_station("camera", "capture", "--camera", "virtual", "--out", str(out), "--json",
                      env=env)
    assert res.returncode == 0, res.stderr
    doc = res.json()
    assert out.read_bytes() == (vcamera_dir / "served.jpg").read_bytes()
    assert doc["sha256"] == _sha(vcamera_dir / "served.jpg")
    assert doc["file_name"].startswith("GPH_")
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".photo.jpg")] == []

    listing = run_station("camera", "list", "--camera", "virtual", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    assert listing.json() == {"cameras": [{"model": "Nikon DSC D750", "port": "usb:001,001",
                                           "driver": "virtual"}]}


def test_cli_capture_serves_the_folder_in_vcameradir_over_the_configured_one(vcamera_dir,
                                                                           run_station, tmp_path):
    """cli.md: images come from ``VCAMERADIR`` when it is set for the command, else from
    ``camera.vcamera_dir``."""
    import cv2
    import numpy as np

    given = tmp_path / "given"
    given.mkdir()
    cv2.imwrite(str(given / "green.jpg"), np.full((300, 200, 3), (0, 200, 0), np.uint8))
    out = tmp_path / "photo.jpg"
    env = {"STATION__CAMERA__VCAMERA_DIR": str(vcamera_dir), "VCAMERADIR": str(given),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    res = run_station("camera", "capture", "--camera", "virtual", "--out", str(out), "--json",
                      env=env)
    assert res.returncode == 0, res.stderr
    assert out.read_bytes() == (given / "green.jpg").read_bytes()
