"""The desk's devices behind one small facade: camera service, card reader, live checker.

The TUI's workers and the simulator call these methods from their own threads; every call may
block (that is why it is never made on the UI thread). Device modules are imported on open, so the
session package stays importable without them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from station.errors import DeviceError

log = logging.getLogger(__name__)

# Reader errors that only mean "no card on the reader yet".
_QUIET_READER_ERRORS = ("ReaderTimeoutError", "NoCardError", "CardRemovedError")


@dataclass
class DeviceState:
    """What the desk shows about one device."""

    name: str            # camera | reader
    ok: bool
    detail: dict
    problem: tuple[str, str] | None = None   # (zh, en): what happened and what to do


class DeskDevices:
    """Camera (through its owner-thread service), card reader and live checks of one desk."""

    def __init__(self, camera_kind: str | None = "sim", reader_spec: str | None = "sim",
                 profile_name: str = "chsi", camera_opts: dict | None = None,
                 reader_opts: dict | None = None) -> None:
        self.camera_kind = camera_kind
        self.reader_spec = reader_spec
        self.profile_name = profile_name
        self.camera_opts = dict(camera_opts or {})
        self.reader_opts = dict(reader_opts or {})
        self.camera: Any = None       # CameraService
        self.reader: Any = None       # CardReader
        self.live: Any = None         # LiveChecker
        self._live_on = False

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        """Open what is configured; a device that fails to open is reported, not fatal."""
        from station.checks import LiveChecker, load_profile

        self.live = LiveChecker(load_profile(self.profile_name))
        if self.camera_kind:
            from station.camera import CameraService, open_camera

            self.camera = CameraService(open_camera(self.camera_kind, **self.camera_opts))
            self.camera.start()
        if self.reader_spec:
            from station.idcard import open_reader

            self.reader = open_reader(self.reader_spec, **self.reader_opts)

    def close(self) -> None:
        for closer in (getattr(self.camera, "stop", None), getattr(self.reader, "close", None)):
            if closer is None:
                continue
            try:
                closer()
            except Exception:  # closing must never stop the others from closing
                log.exception("closing a device failed")
        self.camera = self.reader = None

    # ------------------------------------------------------------ reader

    def read_card(self, timeout: float) -> Any | None:
        """One card read, or None when no card came within ``timeout``; DeviceError otherwise."""
        if self.reader is None:
            return None
        try:
            return self.reader.read(timeout)
        except DeviceError as exc:
            if type(exc).__name__ in _QUIET_READER_ERRORS:
                return None
            raise

    def tap(self, identity: Any) -> bool:
        """Simulated reader only: put ``identity``'s card on the reader (the demo's tap key)."""
        present = getattr(self.reader, "present", None)
        if present is None:
            return False
        present(identity)
        return True

    # ------------------------------------------------------------ camera

    def live_view(self, on: bool) -> None:
        if self.camera is not None and on != self._live_on:
            self.camera.live_view(on)
            self._live_on = on

    def latest_frame(self) -> Any | None:
        return self.camera.latest_frame() if self.camera is not None else None

    def analyse(self, frame: Any) -> Any:
        return self.live.analyse(frame.image())

    def capture(self, timeout: float = 10.0) -> Any:
        if self.camera is None:
            raise DeviceError("camera.not_open")
        return self.camera.capture(timeout)

    def camera_state(self) -> DeviceState:
        if self.camera is None:
            return DeviceState("camera", False, {"kind": self.camera_kind})
        status = self.camera.status()
        data = status if isinstance(status, dict) else getattr(status, "to_json", lambda: {})()
        state = str(data.get("state", "connected"))
        problem = None
        if state not in ("connected", "live", "idle", "ready"):
            reason = data.get("reason_zh") or data.get("reason") or state
            problem = (str(reason), str(data.get("reason_en") or data.get("reason") or state))
        return DeviceState("camera", problem is None, data, problem)

    def reader_state(self) -> DeviceState:
        if self.reader is None:
            return DeviceState("reader", False, {"spec": self.reader_spec})
        info = {"spec": self.reader_spec, "kind": type(self.reader).__name__}
        return DeviceState("reader", True, info)
