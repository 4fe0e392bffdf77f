"""The desk's devices behind one small facade: camera service, card reader, live checker.

The TUI's workers and the simulator call these methods from their own threads; every call may
block (that is why it is never made on the UI thread). Device modules are imported on open (they
load native libraries), not when this module is imported.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.errors import DeviceError
from station.idcard.errors import NoCardYet, NoReaderError, ReaderGoneError, ReaderServiceError

if TYPE_CHECKING:
    from station.camera import Camera, CameraService, Capture, Frame
    from station.checks.calibration import Calibration
    from station.checks.live import LiveChecker, LiveReport
    from station.domain.identity import Identity
    from station.idcard.readers.base import CardRead, CardReader
    from station.settings import IdcardSection, Settings

log = logging.getLogger(__name__)

# Reader faults after which the reader object is dead (unplugged, pcscd gone, the device lost):
# the desk drops it and opens the reader again on its next read, so a replugged reader works.
_REOPEN = (NoReaderError, ReaderGoneError, ReaderServiceError)


def reader_options(idcard: IdcardSection, spec: str, profile: str | None = None) -> dict[str, Any]:
    """The configured options of the reader ``spec`` (pcsc[:NAME], usb[:PROFILE], serial:PORT, …):
    the profile; its timings and deadlines live in the profile file (drivers/readers)."""
    kind, _, arg = spec.partition(":")
    if kind in ("pcsc", "serial") or (kind == "usb" and not arg):
        return {"profile": profile or idcard.profile or None}
    return {}


@dataclass
class DeviceState:
    """What the desk shows about one device."""

    name: str            # camera | reader
    ok: bool
    detail: dict[str, Any]
    problem: tuple[str, str] | None = None   # (zh, en): what happened and what to do


class DeskDevices:
    """Camera (through its owner-thread service), card reader and live checks of one desk."""

    def __init__(self, camera_kind: str | None = "sim", reader_spec: str | None = "sim",
                 profile_name: str | None = None, camera_opts: dict[str, Any] | None = None,
                 reader_opts: dict[str, Any] | None = None, settings: Settings | None = None,
                 data_dir: Path | None = None) -> None:
        self.camera_kind = camera_kind
        self.reader_spec = reader_spec
        self.profile_name = profile_name or (settings.exports.profile if settings else "chsi")
        self.camera_opts = dict(camera_opts or {})
        if reader_opts is None and settings is not None and reader_spec:
            reader_opts = reader_options(settings.idcard, reader_spec)
        self.reader_opts = dict(reader_opts or {})
        self.settings = settings
        self.data_dir = data_dir
        self.calibration: Calibration | None = None
        self.camera: CameraService | None = None
        self.driver: Camera | None = None    # the driver the service owns (sim: fault controls)
        self.reader: CardReader | None = None
        self.live: LiveChecker | None = None
        self._live_on = False
        self._opened = threading.Event()

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        """Open what is configured; a device that fails to open is reported, not fatal."""
        try:
            self._open()
        finally:
            self._opened.set()

    def wait_open(self, timeout: float) -> bool:
        """Block until ``open`` has finished (a tap right after log-in must not get lost)."""
        return self._opened.wait(timeout)

    def _open(self) -> None:
        from station.checks import LiveChecker, load_profile

        calibration = None
        if self.data_dir is not None:
            from station.checks.calibration import load_calibration

            calibration = load_calibration(self.data_dir, self.profile_name)
        self.calibration = calibration
        self.live = LiveChecker(load_profile(self.profile_name), calibration=calibration)
        reader_error: DeviceError | None = None
        if self._reader_wanted():
            try:
                self._open_reader()
            except DeviceError as exc:
                reader_error = exc      # the camera still starts; read_card tries again
        if self.camera_kind:
            self.camera = self._camera_service(self.camera_kind)
            self.camera.start()
        if reader_error is not None:
            raise reader_error

    def _reader_wanted(self) -> bool:
        return bool(self.reader_spec) and self.reader_spec != "manual"  # typed: the desk's M key

    def _open_reader(self) -> None:
        from station.idcard import open_reader

        assert self.reader_spec is not None
        self.reader = open_reader(self.reader_spec, **self.reader_opts)

    def _camera_service(self, kind: str) -> CameraService:
        """The camera's owner thread, with the station's timing and preset when configured."""
        import station.camera as cam

        camera = cam.open_camera(kind, **self.camera_opts)
        self.driver = camera  # the simulator's fault controls (unplug/plug) for tests and demo
        if self.settings is not None:
            return cam.service_from_config(self.settings.camera, camera, self.data_dir)
        return cam.CameraService(camera)

    def close(self) -> None:
        closers: list[Callable[[], object]] = []
        if self.camera is not None:
            closers.append(self.camera.stop)
        if self.reader is not None:
            closers.append(self.reader.close)
        for closer in closers:
            try:
                closer()
            except Exception:  # closing must never stop the others from closing
                log.exception("closing a device failed")
        self.camera = None
        self.reader = None

    # ------------------------------------------------------------ reader

    def read_card(self, timeout: float) -> CardRead | None:
        """One card read, or None when no card came within ``timeout``; DeviceError otherwise
        (``CardProblem``: this card failed; ``ReaderFault``: the reader did).

        A reader that could not be opened, or was lost (unplugged, pcscd restarted), is opened
        again here on the next call: plugging it (back) in is all the operator has to do."""
        if self.reader is None:
            if not self._reader_wanted() or not self._opened.is_set():
                return None
            self._open_reader()         # still missing: its DeviceError says why
        assert self.reader is not None
        try:
            return self.reader.read(timeout)
        except NoCardYet:
            return None
        except _REOPEN:
            reader, self.reader = self.reader, None
            try:
                reader.close()
            except Exception:  # a dead reader may fail to close; the fault is what matters
                log.exception("closing a lost reader failed")
            raise

    @property
    def taps_cards(self) -> bool:
        """Whether :meth:`tap` can put a card on this reader (simulated, or virtual through the
        real PC/SC stack with the card emulator)."""
        return (self.reader_spec or "").partition(":")[0] in ("sim", "virtual")

    def tap(self, identity: Identity) -> bool:
        """Simulated and virtual readers only: put ``identity``'s card on the reader (the demo's
        tap key); False for a real reader."""
        from station.idcard.readers.sim import SimReader
        from station.idcard.readers.virtual import VirtualReader

        self.wait_open(30.0)
        if not isinstance(self.reader, SimReader | VirtualReader):
            return False
        self.reader.present(identity)
        self._step_in(identity)
        return True

    def _step_in(self, identity: Any) -> None:
        """Demo: the simulated camera now shows the student whose card was tapped."""
        from station.camera.sim import SimCamera
        from station.sim.students import Stage

        if isinstance(self.driver, SimCamera) and isinstance(self.driver.source, Stage):
            self.driver.source.step_in_for(identity.id_number)

    def code_taken(self) -> None:
        """Demo: the desk has the student's 图像采集码, so the student on the simulated camera's
        stage puts the phone with the QR code away (nothing for any other camera)."""
        from station.camera.sim import SimCamera
        from station.sim.students import Stage

        if isinstance(self.driver, SimCamera) and isinstance(self.driver.source, Stage):
            self.driver.source.phone_down()

    # ------------------------------------------------------------ camera

    def live_view(self, on: bool) -> None:
        if self.camera is not None and on != self._live_on:
            self.camera.live_view(on)
            self._live_on = on

    def latest_frame(self) -> Frame | None:
        return self.camera.latest_frame() if self.camera is not None else None

    def wait_frame(self, after_seq: int, timeout: float) -> Frame | None:
        """A frame newer than ``after_seq``, or None after ``timeout`` (blocks; no camera: waits).
        The desk's live loops read every frame by themselves, with or without anybody at the desk:
        their reads do not keep live view from its idle stop (``operator_active`` does)."""
        if self.camera is None:
            time.sleep(timeout)
            return None
        return self.camera.wait_frame(after_seq, timeout, look=False)

    def live_idle(self) -> bool:
        """Live view stopped by its idle timer (nobody at the desk): a key brings it back."""
        return self.camera is not None and self.camera.idle_stopped

    def operator_active(self) -> None:
        """The operator did something at the desk: live view stays on (or comes back)."""
        if self.camera is not None:
            self.camera.touch()

    def analyse(self, frame: Frame) -> LiveReport:
        if self.live is None:
            raise DeviceError("camera.not_open")
        return self.live.analyse(frame.image())

    def analyse_image(self, image: Any) -> LiveReport | None:
        """Live checks of a decoded frame; None until the checker is ready."""
        return self.live.analyse(image) if self.live is not None else None

    def capture(self, timeout: float = 10.0) -> Capture:
        if self.camera is None:
            raise DeviceError("camera.not_open")
        return self.camera.capture(timeout)

    def camera_state(self) -> DeviceState:
        """Connected or not, with the camera's own status (model, battery, free space) and, when
        it is not connected, what happened and what to do in both languages."""
        if self.camera is None:
            return DeviceState("camera", False, {"kind": self.camera_kind})
        state = self.camera.state
        status = self.camera.status()
        detail: dict[str, Any] = {"kind": self.camera_kind, "state": state}
        detail.update({k: v for k, v in status.to_json().items() if v not in (None, "")})
        caps = self.camera.capabilities
        if caps is not None:
            detail["capabilities"] = ", ".join(k for k, v in caps.to_json().items() if v)
        if state in ("connected", "starting"):
            return DeviceState("camera", True, detail)
        error = self.camera.last_error()
        problem = error.messages if error is not None else None
        return DeviceState("camera", False, detail, problem)

    def camera_settings(self, timeout: float = 3.0) -> dict[str, str]:
        """The camera's current settings (the preset), name → value; empty when unavailable."""
        if self.camera is None or self.camera.state != "connected":
            return {}
        try:
            return {name: s.value for name, s in self.camera.settings(timeout).items()}
        except DeviceError:
            return {}

    def calibration_state(self) -> dict[str, Any]:
        """When the backdrop and sharpness were calibrated, and the measured backdrop colour."""
        cal = self.calibration
        if cal is None:
            return {}
        return {"measured_at": cal.measured_at, "backdrop_rgb": list(cal.backdrop_rgb),
                "sharpness": cal.sharpness}

    def reader_state(self) -> DeviceState:
        if self.reader is None:
            return DeviceState("reader", False, {"spec": self.reader_spec})
        info: dict[str, Any] = {"spec": self.reader_spec, "kind": type(self.reader).__name__}
        caps = asdict(self.reader.capabilities)
        info["capabilities"] = ", ".join(k for k, v in caps.items() if v is True)
        return DeviceState("reader", True, info)
