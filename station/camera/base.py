"""The camera interface every driver implements, and the values it hands out.

A driver is used by exactly one thread at a time (the owner thread of ``CameraService``); it does
no locking of its own. Methods raise ``CameraError`` (a ``DeviceError``) with a message in words.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

# The settings a photographer uses at a station. Drivers map these names to vendor widgets.
SETTING_NAMES = ("iso", "aperture", "shutter", "white_balance", "image_quality", "image_size",
                 "capture_target")


@dataclass(frozen=True)
class Capabilities:
    """What the connected camera can do; checked at connect time so the UI can adapt."""

    preview: bool = False
    trigger: bool = False
    config: bool = False
    delete: bool = False

    def to_json(self) -> dict:
        return {"preview": self.preview, "trigger": self.trigger, "config": self.config,
                "delete": self.delete}


@dataclass(frozen=True)
class CameraStatus:
    """The camera's own view of itself: shown to the operator (battery, free space, model)."""

    model: str = ""
    serial: str = ""
    port: str = ""
    battery: str = ""
    free_kb: int | None = None
    capacity_kb: int | None = None
    free_images: int | None = None
    # filled in by CameraService.status(): connected / starting / reconnecting / failed / stopped,
    # and when not connected why, as a message key and in both languages
    state: str = ""
    reason: str = ""
    reason_zh: str = ""
    reason_en: str = ""

    def to_json(self) -> dict:
        return {"model": self.model, "serial": self.serial, "port": self.port,
                "battery": self.battery, "free_kb": self.free_kb, "capacity_kb": self.capacity_kb,
                "free_images": self.free_images, "state": self.state, "reason": self.reason,
                "reason_zh": self.reason_zh, "reason_en": self.reason_en}


@dataclass(frozen=True)
class Setting:
    """One camera setting under its station name, with the camera's own choices."""

    name: str
    value: str
    choices: tuple[str, ...] = ()
    readonly: bool = False
    widget: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "value": self.value, "choices": list(self.choices),
                "readonly": self.readonly, "widget": self.widget}


@dataclass
class Frame:
    """One live-view frame. ``jpeg`` from real cameras, ``bgr`` from the simulator.

    The owner thread never decodes: a consumer that wants pixels calls ``image()`` in its own
    thread, so a slow consumer never slows the camera down.
    """

    seq: int
    captured_at: float
    jpeg: bytes | None = None
    bgr: Any = None
    truth: dict | None = None
    delivered_at: float = 0.0

    def image(self) -> Any:
        """The frame as a BGR ndarray (decoded on first use)."""
        if self.bgr is None and self.jpeg is not None:
            import cv2
            import numpy as np

            self.bgr = cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_COLOR)
        return self.bgr


@dataclass(frozen=True)
class FileRef:
    """A file the camera announced ("file added"): where it is and what kind."""

    folder: str
    name: str

    @property
    def is_jpeg(self) -> bool:
        return self.name.lower().endswith((".jpg", ".jpeg"))

    @property
    def path(self) -> str:
        return f"{self.folder.rstrip('/')}/{self.name}"


@dataclass
class Capture:
    """A downloaded photo: the JPEG bytes, its name on the camera, EXIF, and any extra files."""

    data: bytes
    file_name: str
    folder: str = ""
    exif: dict = field(default_factory=dict)
    extra: dict[str, bytes] = field(default_factory=dict)  # e.g. the RAW, by file name
    camera: dict = field(default_factory=dict)  # model/serial at capture time
    triggered_at: float = 0.0
    downloaded_at: float = 0.0

    def to_json(self) -> dict:
        return {"file_name": self.file_name, "folder": self.folder, "size": len(self.data),
                "exif": self.exif, "extra": sorted(self.extra), "camera": self.camera}


class Camera(ABC):
    """A tethered camera. ``connect`` opens a fresh session each time it is called."""

    kind: str = "abstract"

    @abstractmethod
    def detect(self) -> bool:
        """Whether a camera seems to be attached (cheap; used by the reconnect supervisor)."""

    @abstractmethod
    def connect(self) -> None:
        """Open a session with the camera (a fresh one on every call)."""

    @abstractmethod
    def close(self) -> None:
        """End the session; never raises."""

    @property
    @abstractmethod
    def connected(self) -> bool: ...

    @abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abstractmethod
    def preview_frame(self) -> Frame:
        """One live-view frame. Only called when ``capabilities().preview``."""

    def stop_preview(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Let the camera leave live view (saves the sensor from heating up)."""

    @abstractmethod
    def trigger(self, timeout: float) -> list[FileRef]:
        """Release the shutter and wait for the files the camera adds (JPEG first)."""

    @abstractmethod
    def download(self, refs: list[FileRef]) -> Capture:
        """Fetch the announced JPEG (and RAW when configured); leaves them on the camera."""

    @abstractmethod
    def cleanup(self, refs: list[FileRef]) -> None:
        """Delete or keep the files per configuration and drain the camera's events, so that the
        next capture does not meet -110. Runs after the photo was handed over (it can be slow)."""

    def abandon(self, refs: list[FileRef] | None) -> None:  # noqa: B027 - optional hook
        """A capture failed after its trigger (no file in time, a bad file): get rid of what it
        announced and of what the camera still delivers for it, so no later capture can return
        that shot. Drivers whose captures cannot arrive late have nothing to do."""

    def capture(self, timeout: float = 10.0) -> Capture:
        """Trigger, download and clean up in one call (the service splits the steps)."""
        started = time.monotonic()
        refs = self.trigger(timeout)
        result = self.download(refs)
        result.triggered_at = started
        self.cleanup(refs)
        return result

    @abstractmethod
    def settings(self) -> dict[str, Setting]:
        """The station settings this camera has, by station name."""

    @abstractmethod
    def set_setting(self, name: str, value: str) -> Setting:
        """Change one setting, validated against the camera's choices; returns the new state."""

    @abstractmethod
    def status(self) -> CameraStatus: ...

    def list_cameras(self) -> list[dict]:
        """Detected cameras as ``{model, port}`` (for ``station camera list``)."""
        return []
