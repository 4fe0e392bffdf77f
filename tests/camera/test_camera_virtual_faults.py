"""Faults on libgphoto2's virtual camera (the real PTP stack): what the operator is told."""

from __future__ import annotations

import pytest

from tests.camera.conftest import run_python

pytestmark = pytest.mark.camera


def test_images_gone_mid_session_are_told_in_words_and_reopen_the_session(vcamera_dir):
    out = run_python(f"""
        import json, time
        from pathlib import Path
        from station.camera import CameraError, CameraService, open_camera
        folder = Path({str(vcamera_dir)!r})
        svc = CameraService(open_camera("virtual", vcamera_dir=folder), reconnect_initial=0.2,
                            busy_retries=0).start()
        out = {{"connected": svc.wait_connected(10)}}
        try:
            out["first"] = svc.capture(10).file_name
            for f in list(folder.iterdir()):        # the images taken away under the camera
                f.rename(folder.parent / ("gone-" + f.name))
            out["errors"] = []
            for _ in range(3):
                try:
                    svc.capture(5)
                    out["errors"].append(None)
                except CameraError as e:
                    out["errors"].append({{"key": e.key, "en": e.messages[1], "zh": e.messages[0]}})
            end = time.monotonic() + 20
            while svc.state != "failed" and time.monotonic() < end:
                time.sleep(0.02)
            out["state"], out["reason"] = svc.state, svc.status().reason
        finally:
            svc.stop()
        print(json.dumps(out))
    """, env={"XDG_CONFIG_HOME": str(vcamera_dir.parent / "xdg")})
    assert out["connected"] and out["first"].endswith(".JPG")
    for err in out["errors"]:
        assert err is not None
        assert "(-1)" not in err["en"] and "[-1]" not in err["en"] and "Unspecified" not in err["en"]
        assert "switch the camera off and on" in err["en"] and "关闭再打开相机" in err["zh"]
    # three failed captures in a row: the session was reopened, which found the folder empty
    assert out["state"] == "failed" and out["reason"] == "camera.virtual_dir"


@pytest.mark.parametrize("kind", ["truncated", "text"])
def test_cli_capture_refuses_a_file_that_is_not_a_whole_jpeg(vcamera_dir, run_station, tmp_path, kind):
    served = vcamera_dir / "served.jpg"
    good = served.read_bytes()
    served.write_bytes(good[: len(good) * 2 // 3] if kind == "truncated"
                       else b"This is not a photo, just text with a .jpg name.\n" * 3)
    out = tmp_path / "out.jpg"
    res = run_station("camera", "capture", "--camera", "virtual", "--out", str(out), "--json",
                      env={"VCAMERADIR": str(vcamera_dir), "XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert res.returncode == 3, res.stdout + res.stderr
    doc = res.json()
    assert doc["error"] == "camera.bad_file"
    assert "JPEG" in doc["message_en"] and doc["message_zh"]
    assert not out.exists() and not list(tmp_path.glob(".out.jpg*"))
