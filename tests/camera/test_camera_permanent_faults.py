"""Faults no re-plugging can fix are reported once, as failed, in their own words — never as
"no camera found, check the USB cable" retried forever (camera.md, practice 2)."""

from __future__ import annotations

import time

import pytest

from station.camera import CameraError, CameraService, open_camera
from station.camera.errors import CameraError as _CameraError

pytestmark = pytest.mark.usefixtures("no_thread_leak")


def _failed(service: CameraService) -> list:
    events = []
    while not service.events.empty():
        events.append(service.events.get_nowait())
    return [e for e in events if e.kind == "failed"]


def _settle(service: CameraService) -> None:
    """Wait (generously) until the service has stopped looking for a camera that cannot come."""
    end = time.monotonic() + 10
    while service.state != "failed" and time.monotonic() < end:
        time.sleep(0.02)
    assert service.state == "failed", service.status()


@pytest.mark.parametrize("files", [[], ["readme.txt", "photo.png"]])
def test_virtual_folder_without_jpegs_fails_once_in_its_own_words(tmp_path, files):
    folder = tmp_path / "vcam"
    folder.mkdir()
    for name in files:
        (folder / name).write_bytes(b"not a jpeg")
    with CameraService(open_camera("virtual", vcamera_dir=folder), detect_interval=0.01) as service:
        _settle(service)
        with pytest.raises(CameraError) as info:
            service.capture(timeout=30)  # fails at once: waiting cannot bring the camera
        time.sleep(0.2)  # the supervisor keeps running; it must not repeat itself
        status = service.status()
        failed = _failed(service)
    assert status.state == "failed" and status.reason == "camera.virtual_dir"
    assert str(folder) in status.reason_en
    assert info.value.key == "camera.virtual_dir" and info.value.exit_code == 3
    assert len(failed) == 1


def test_missing_port_drivers_are_a_failure_not_a_missing_camera(tmp_path, monkeypatch):
    import station.camera.gphoto2_driver as driver

    empty = tmp_path / "iolibs"
    empty.mkdir()
    monkeypatch.setattr(driver, "wheel_dir", lambda name: empty)
    with CameraService(open_camera("gphoto2"), detect_interval=0.01) as service:
        _settle(service)
        status = service.status()
    assert status.state == "failed" and status.reason == "camera.no_iolibs"
    assert "gphoto2" in status.reason_en and str(empty) in status.reason_en


def test_missing_python_gphoto2_is_a_failure(monkeypatch):
    import station.camera.gphoto2_driver as driver

    def missing(name):
        raise _CameraError("camera.gphoto2_missing", transient=False)

    monkeypatch.setattr(driver, "wheel_dir", missing)
    with CameraService(open_camera("gphoto2"), detect_interval=0.01) as service:
        _settle(service)
        status = service.status()
    assert status.state == "failed" and status.reason == "camera.gphoto2_missing"


def test_cli_capture_names_the_virtual_folder_fault(run_station, tmp_path):
    folder = tmp_path / "vcam"
    folder.mkdir()
    (folder / "readme.txt").write_text("no photos here")
    res = run_station("camera", "capture", "--camera", "virtual", "--out", str(tmp_path / "a.jpg"),
                      "--json", env={"VCAMERADIR": str(folder)})
    assert res.returncode == 3, res.stderr
    assert res.json()["error"] == "camera.virtual_dir"
    assert not (tmp_path / "a.jpg").exists()
