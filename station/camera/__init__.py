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
from typing import Any

from station.camera.base import Camera, CameraStatus, Capabilities, Capture, FileRef, Frame, Setting
from station.camera.errors import CameraDisconnected, CameraError
from station.camera.service import CameraEvent, CameraService

KINDS = ("gphoto2", "virtual", "sim")

__all__ = ["KINDS", "Camera", "CameraDisconnected", "CameraError", "CameraEvent", "CameraService",
           "CameraStatus", "Capabilities", "Capture", "FileRef", "Frame", "Setting",
           "default_vcamera_dir", "open_camera", "open_camera_from_config", "service_from_config"]


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
            opts["vcamera_dir"] = opts.get("vcamera_dir") or default_vcamera_dir()
        return GPhoto2Camera(virtual=kind == "virtual", **opts)
    raise CameraError("camera.unknown_kind", transient=False, kind=kind)


def open_camera_from_config(config: Any, kind: str | None = None) -> Camera:
    """The camera the station's configuration asks for (``[camera]`` in station.toml)."""
    kind = kind or config.get("camera.driver", "gphoto2")
    if kind == "sim":
        return open_camera("sim", delete_after_download=bool(config.get("camera.delete_after_download", True)))
    opts: dict[str, Any] = {
        "port": config.get("camera.port", "") or "",
        "download_raw": bool(config.get("camera.download_raw", False)),
        "delete_after_download": bool(config.get("camera.delete_after_download", True)),
    }
    if kind == "virtual":
        opts["vcamera_dir"] = config.get("camera.vcamera_dir", "") or None
    return open_camera(kind, **opts)


def service_from_config(config: Any, camera: Camera, data_dir: Path | None = None) -> CameraService:
    """A CameraService with the station's timing, back-off and preset settings (the configured
    ``[camera.preset]``, overridden by the preset saved in ``data_dir``)."""
    from station.camera.preset import load_preset

    get = config.get
    preset = {k: str(v) for k, v in (get("camera.preset", {}) or {}).items()}
    preset.update(load_preset(data_dir))
    return CameraService(
        camera,
        fps=float(get("camera.fps", 25)),
        capture_timeout=float(get("camera.capture_timeout_s", 8.0)),
        reconnect_initial=float(get("camera.reconnect_initial_s", 2.0)),
        reconnect_max=float(get("camera.reconnect_max_s", 20.0)),
        detect_interval=float(get("camera.detect_interval_s", 0.5)),
        preview_failure_limit=int(get("camera.preview_failure_limit", 10)),
        live_view_idle_s=float(get("camera.live_view_idle_s", 120)),
        busy_retries=int(get("camera.busy_retries", 5)),
        busy_retry_delay_s=float(get("camera.busy_retry_delay_s", 0.3)),
        preset=preset,
    )
