"""Tethered cameras behind one interface: gphoto2 (real), virtual (libgphoto2's vcamera), sim.

    camera = open_camera("sim")                 # or "gphoto2", "virtual"
    with CameraService(camera) as service:      # the one thread that talks to the camera
        service.live_view(True)
        frame = service.wait_frame()            # newest frame; frame.image() → BGR ndarray
        photo = service.capture()               # Capture: data (JPEG bytes), file_name, exif
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.camera.base import Camera, CameraStatus, Capabilities, Capture, FileRef, Frame, Setting
from station.camera.errors import CameraDisconnected, CameraError
from station.camera.service import CameraEvent, CameraService

if TYPE_CHECKING:
    from station.settings import CameraSection

KINDS = ("gphoto2", "virtual", "sim")

__all__ = ["KINDS", "Camera", "CameraDisconnected", "CameraError", "CameraEvent", "CameraService",
           "CameraStatus", "Capabilities", "Capture", "FileRef", "Frame", "Setting",
           "default_vcamera_dir", "open_camera", "open_camera_from_config", "service_from_config"]


# The virtual camera's folder as given to this command (cli.md: ``VCAMERADIR`` set for the
# command wins over ``camera.vcamera_dir``). Read once at start: the driver itself sets the
# variable for libgphoto2 later, which must not read back as the user's choice.
_VCAMERADIR_GIVEN = os.environ.get("VCAMERADIR") or None


def default_vcamera_dir() -> Path:
    """A folder with one generated portrait JPEG for the virtual camera to serve."""
    folder = Path(tempfile.gettempdir()) / f"station-vcamera-{os.getuid() if hasattr(os, 'getuid') else 0}"
    target = folder / "portrait.jpg"
    if not target.exists():
        import cv2

        from station.sim.frames import SwayingPortrait

        folder.mkdir(parents=True, exist_ok=True)
        bgr, _truth = SwayingPortrait()(1200, 1600, 0.0)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
        tmp = folder / f".portrait.{os.getpid()}.tmp"
        tmp.write_bytes(buf.tobytes())
        os.replace(tmp, target)
    return folder


def open_camera(kind: str, **opts: Any) -> Camera:
    """A camera driver (not yet connected): ``gphoto2``, ``virtual`` or ``sim``."""
    if kind == "sim":
        from station.camera.sim import SimCamera

        return SimCamera(**opts)
    if kind in ("gphoto2", "virtual"):
        from station.camera.gphoto2_driver import GPhoto2Camera

        if kind == "virtual":
            opts["vcamera_dir"] = _VCAMERADIR_GIVEN or opts.get("vcamera_dir") or default_vcamera_dir()
        return GPhoto2Camera(virtual=kind == "virtual", **opts)
    raise CameraError("camera.unknown_kind", transient=False, kind=kind)


def open_camera_from_config(settings: CameraSection, kind: str | None = None) -> Camera:
    """The camera the station's settings ask for (``[camera]`` in station.toml)."""
    kind = kind or settings.driver
    if kind == "sim":
        from station.sim.frames import frame_source

        return open_camera("sim", delete_after_download=settings.delete_after_download,
                           source=frame_source(settings.sim_scene))
    opts: dict[str, Any] = {
        "port": settings.port,
        "download_raw": settings.download_raw,
        "delete_after_download": settings.delete_after_download,
    }
    if kind == "virtual":
        opts["vcamera_dir"] = settings.vcamera_dir or None
    return open_camera(kind, **opts)


def service_from_config(settings: CameraSection, camera: Camera,
                        data_dir: Path | None = None) -> CameraService:
    """A CameraService with the station's timing, back-off and preset settings (the configured
    ``[camera.preset]``, overridden by the preset saved in ``data_dir``)."""
    from station.camera.preset import load_preset

    preset = dict(settings.preset)
    preset.update(load_preset(data_dir))
    return CameraService(
        camera,
        fps=settings.fps,
        capture_timeout=settings.capture_timeout_s,
        reconnect_initial=settings.reconnect_initial_s,
        reconnect_max=settings.reconnect_max_s,
        detect_interval=settings.detect_interval_s,
        preview_failure_limit=settings.preview_failure_limit,
        live_view_idle_s=settings.live_view_idle_s,
        busy_retries=settings.busy_retries,
        busy_retry_delay_s=settings.busy_retry_delay_s,
        preset=preset,
    )
