"""The in-process simulated camera: generated portraits for the demo, and faults for the tests.

It behaves like a tethered body where it matters: live view at its own frame rate, captures that
land on a "card" and are downloaded, deleted or kept, settings with choices, and a cable that can
be pulled at any moment (``unplug``), also in the middle of a chosen step (``unplug_at``), and a
live view that goes quiet without an error (``stall_preview``: asleep, stopped by the body).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from datetime import datetime

from station.camera.base import (
    SETTING_NAMES,
    Camera,
    CameraStatus,
    Capabilities,
    Capture,
    FileRef,
    Frame,
    Setting,
)
from station.camera.errors import CameraDisconnected, CameraError
from station.camera.models import ModelTable
from station.sim.frames import FrameSource, SwayingPortrait

_CHOICES: dict[str, tuple[str, ...]] = {
    "iso": ("100", "200", "400", "800", "1600"),
    "aperture": ("f/4", "f/5.6", "f/8", "f/11"),
    "shutter": ("1/60", "1/125", "1/250"),
    "white_balance": ("Auto", "Daylight", "Cloudy", "Tungsten", "Fluorescent", "Flash"),
    "image_quality": ("JPEG Fine", "JPEG Normal", "NEF+Fine"),
    "image_size": ("Large", "Medium", "Small"),
    "capture_target": ("Internal RAM", "Memory card"),
}
_DEFAULTS = {"iso": "200", "aperture": "f/8", "shutter": "1/125", "white_balance": "Daylight",
             "image_quality": "JPEG Fine", "image_size": "Large", "capture_target": "Internal RAM"}
PHASES = ("connect", "preview", "trigger", "download", "cleanup")


class SimCamera(Camera):
    """A simulated camera. Thread-safe fault controls; camera calls from one owner thread."""

    kind = "sim"
    model = "Capture Station SimCam"

    def __init__(self, *, source: FrameSource | None = None, preview_size: tuple[int, int] = (480, 640),
                 capture_size: tuple[int, int] = (1200, 1600), fps: float = 30.0,
                 delete_after_download: bool = True, preview: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source or SwayingPortrait()
        self.preview_size = preview_size
        self.capture_size = capture_size
        self.fps = fps
        self.delete_after_download = delete_after_download
        self.has_preview = preview
        self.clock = clock
        self._lock = threading.Lock()
        self._plugged = True
        self._back_at: float | None = None
        self._unplug_at: dict[str, float | None] = {}
        self._busy_next = 0
        self._stalled_until: float | None = None   # live view sends nothing (see stall_preview)
        self._stalled = False
        self._session = 0  # bumped on every connect; a stale session is a dead handle
        self._open_session = 0
        self._values = dict(_DEFAULTS)
        self._table = ModelTable.for_camera("Capture Station", self.model)
        self.card: dict[str, bytes] = {}
        self.frames_made = 0
        self.shots = 0
        self.connects = 0
        self._next_frame_at = 0.0
        self._t0 = clock()

    # -- fault controls (any thread) ------------------------------------------------------
    def unplug(self, for_s: float | None = None) -> None:
        """Pull the cable; with ``for_s`` it is plugged back after that many seconds."""
        with self._lock:
            self._plugged = False
            self._back_at = None if for_s is None else self.clock() + for_s
            self._power_cycle()

    def _power_cycle(self) -> None:
        """What a pulled cable or a flat battery does: the session dies, RAM and settings reset."""
        self._open_session = 0
        if self._values["capture_target"] == "Internal RAM":
            self.card.clear()
        self._values = dict(_DEFAULTS)

    def plug(self) -> None:
        with self._lock:
            self._plugged = True
            self._back_at = None

    def unplug_at(self, phase: str, for_s: float | None = None) -> None:
        """Pull the cable the next time the camera reaches ``phase`` (see PHASES)."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; one of {PHASES}")
        with self._lock:
            self._unplug_at[phase] = for_s

    def busy_next(self, times: int) -> None:
        """Answer the next ``times`` triggers with "busy" (-110)."""
        with self._lock:
            self._busy_next = times

    def stall_preview(self, for_s: float | None = None) -> None:
        """Live view stops sending frames without an error while the session stays open: a body
        that went to sleep, stopped its own live view or hangs in a USB transfer. Each preview
        call waits until ``resume_preview`` (or ``for_s`` seconds, or the cable is pulled)."""
        with self._lock:
            self._stalled = True
            self._stalled_until = None if for_s is None else self.clock() + for_s

    def resume_preview(self) -> None:
        with self._lock:
            self._stalled, self._stalled_until = False, None

    def _preview_stalled(self) -> bool:
        with self._lock:
            if self._stalled and self._stalled_until is not None \
                    and self.clock() >= self._stalled_until:
                self._stalled, self._stalled_until = False, None
            return self._stalled

    @property
    def plugged(self) -> bool:
        with self._lock:
            if not self._plugged and self._back_at is not None and self.clock() >= self._back_at:
                self._plugged = True
                self._back_at = None
            return self._plugged

    def _step(self, phase: str) -> None:
        with self._lock:
            if phase in self._unplug_at:
                for_s = self._unplug_at.pop(phase)
                self._plugged = False
                self._back_at = None if for_s is None else self.clock() + for_s
                self._power_cycle()
        if not self.plugged:
            self._open_session = 0
            raise CameraDisconnected(code=-7, action=phase)
        if self._open_session == 0 or self._open_session != self._session:
            raise CameraDisconnected(code=-52, action=phase)

    # -- session ------------------------------------------------------------------------------
    def detect(self) -> bool:
        return self.plugged

    def list_cameras(self) -> list[dict]:
        return [{"model": self.model, "port": "sim:", "driver": "sim"}] if self.plugged else []

    def connect(self) -> None:
        if not self.plugged:
            raise CameraError("camera.not_found", code=-52, transient=True)
        self._session += 1
        self._open_session = self._session
        self.connects += 1
        self._step("connect")

    def close(self) -> None:
        self._open_session = 0

    @property
    def connected(self) -> bool:
        return self._open_session != 0 and self._open_session == self._session and self.plugged

    def capabilities(self) -> Capabilities:
        return Capabilities(preview=self.has_preview, trigger=True, config=True, delete=True)

    # -- live view ------------------------------------------------------------------------------
    def preview_frame(self) -> Frame:
        self._step("preview")
        if not self.has_preview:
            raise CameraError("camera.no_preview", code=-6, transient=False)
        while self._preview_stalled():         # nothing from the sensor, no error either
            time.sleep(0.02)
            if not self.plugged:
                self._open_session = 0
                raise CameraDisconnected(code=-7, action="preview")
        now = self.clock()
        if now < self._next_frame_at:  # the sensor delivers at its own pace
            time.sleep(self._next_frame_at - now)
            now = self.clock()
        self._next_frame_at = now + 1.0 / self.fps
        width, height = self.preview_size
        bgr, truth = self.source(width, height, now - self._t0)
        self.frames_made += 1
        truth = dict(truth, frame_no=self.frames_made)
        return Frame(seq=self.frames_made, captured_at=time.monotonic(), bgr=bgr, truth=truth)

    # -- capture --------------------------------------------------------------------------------
    def trigger(self, timeout: float) -> list[FileRef]:
        self._step("trigger")
        with self._lock:
            if self._busy_next > 0:
                self._busy_next -= 1
                raise CameraError("camera.busy", code=-110, transient=True)
        self.shots += 1
        name = f"SIM_{self.shots:04d}.JPG"
        self.card[name] = self._jpeg(self.shots)
        return [FileRef("/store_00010001/DCIM/100SIMCAM", name)]

    def _jpeg(self, shot: int) -> bytes:
        import cv2
        from PIL import Image

        width, height = self.capture_size
        bgr, _truth = self.source(width, height, self.clock() - self._t0)
        image = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        exif = Image.Exif()
        exif[0x010F] = "Capture Station"  # Make
        exif[0x0110] = self.model  # Model
        exif[0x0132] = datetime.now().strftime("%Y:%m:%d %H:%M:%S")  # DateTime
        exif[0xA420] = f"sim-{shot:06d}"  # ImageUniqueID: lets tests tell shots apart
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=92, exif=exif, dpi=(300, 300))
        return buf.getvalue()

    def download(self, refs: list[FileRef]) -> Capture:
        self._step("download")
        ref = refs[0]
        if ref.name not in self.card:
            raise CameraError("camera.file_missing", code=-108, transient=False)
        from station.camera.exif import read_exif

        data = self.card[ref.name]
        return Capture(data=data, file_name=ref.name, folder=ref.folder, exif=read_exif(data),
                       camera={"model": self.model, "driver": "sim"}, downloaded_at=time.monotonic())

    def cleanup(self, refs: list[FileRef]) -> None:
        self._step("cleanup")
        if self.delete_after_download or self._values["capture_target"] == "Internal RAM":
            for ref in refs:
                self.card.pop(ref.name, None)

    # -- settings and status ------------------------------------------------------------------
    def settings(self) -> dict[str, Setting]:
        if not self.connected:
            raise CameraDisconnected(code=-52, action="settings")
        return {name: Setting(name, self._values[name], _CHOICES[name], False, name)
                for name in SETTING_NAMES}

    def set_setting(self, name: str, value: str) -> Setting:
        if not self.connected:
            raise CameraDisconnected(code=-52, action="settings")
        if name not in _CHOICES:
            raise CameraError("camera.setting_unknown", transient=False, name=name,
                              available=", ".join(SETTING_NAMES))
        self._values[name] = self._table.vendor_value(name, str(value), _CHOICES[name])
        return self.settings()[name]

    def status(self) -> CameraStatus:
        if not self.connected:
            raise CameraDisconnected(code=-52, action="status")
        return CameraStatus(model=self.model, serial="SIM-0001", port="sim:", battery="100%",
                            free_kb=8_000_000, capacity_kb=16_000_000, free_images=999)
