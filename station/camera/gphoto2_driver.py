"""Real tethered cameras through libgphoto2 (python-gphoto2), and libgphoto2's virtual camera.

The virtual camera is the same code on a different I/O library: ``IOLIBS`` points at the wheel's
``vusb`` folder instead of ``iolibs`` and ``VCAMERADIR`` at a folder of JPEGs. libgphoto2 reads
both when it loads its port drivers, i.e. on every new camera session, so they are set right before
each camera call that loads them.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from station.camera.base import (
    Camera,
    Capabilities,
    Capture,
    FileRef,
    Frame,
)
from station.camera.errors import BUSY, NOT_SUPPORTED, CameraDisconnected, CameraError, from_gphoto2
from station.camera.exif import read_exif, warm_up
from station.camera.gphoto2_env import gphoto2_module, wheel_dir
from station.camera.gphoto2_settings import GPhoto2Settings
from station.camera.models import ModelTable

log = logging.getLogger(__name__)


def whole_jpeg(data: bytes) -> bool:
    """Whether ``data`` looks like a complete JPEG: it starts with the SOI marker and a segment,
    and ends with EOI (some bodies pad the file with zero bytes after it). Cheap on a 30 MB file,
    and enough to refuse a file cut short by a dropped link or a non-photo with a .jpg name."""
    return data[:3] == b"\xff\xd8\xff" and data.rstrip(b"\x00")[-2:] == b"\xff\xd9"


class GPhoto2Camera(GPhoto2Settings, Camera):
    """A camera driven by libgphoto2. Only the owner thread may call it."""

    def __init__(self, *, port: str = "", virtual: bool = False, vcamera_dir: str | Path | None = None,
                 download_raw: bool = False, delete_after_download: bool = True,
                 event_settle_ms: int = 200, drain_ms: int = 5, tables_dir: Path | None = None,
                 raw_wait_s: float = 3.0) -> None:
        self.kind = "virtual" if virtual else "gphoto2"
        self.port = port
        self.virtual = virtual
        self.vcamera_dir = Path(vcamera_dir) if vcamera_dir else None
        self.download_raw = download_raw
        self.delete_after_download = delete_after_download
        self.event_settle_ms = event_settle_ms
        self.drain_ms = drain_ms
        # RAW+JPEG bodies write the RAW after the JPEG, sometimes after a pause; a body set to
        # JPEG only never sends one, so the wait for it is bounded (and ends on "capture complete")
        self.raw_wait_s = raw_wait_s
        self.tables_dir = tables_dir
        self._cam: Any = None
        self._caps = Capabilities()
        self._table: ModelTable | None = None
        self._model = ""
        self._manufacturer = ""
        self._frame_no = 0
        self._widgets: set[str] = set()
        self._ram_target = False
        # Shots the camera still owes: triggers that fired but whose file had not arrived by their
        # deadline. Their files come later, and must never be handed out for a later trigger.
        self._owed = 0
        self._owed_stems: set[str] = set()

    # -- environment ------------------------------------------------------------------------
    def _prepare_env(self) -> Any:
        """Point libgphoto2 at the right port drivers before it loads them."""
        if self.virtual:
            if self.vcamera_dir is None or not any(self.vcamera_dir.glob("*.[jJ][pP][gG]")):
                raise CameraError("camera.virtual_dir", transient=False, path=str(self.vcamera_dir))
            os.environ["VCAMERADIR"] = str(self.vcamera_dir)
            iolibs = wheel_dir("vusb")
        else:
            os.environ.pop("VCAMERADIR", None)
            iolibs = wheel_dir("iolibs")
        # Without port drivers libgphoto2 only logs "No iolibs found" and finds no camera: that
        # would read as "check the USB cable" forever, for a fault no cable can fix.
        if not iolibs.is_dir() or not any(iolibs.glob("*.so*")):
            raise CameraError("camera.no_iolibs", transient=False, path=str(iolibs))
        os.environ["IOLIBS"] = str(iolibs)
        return gphoto2_module()

    def _call(self, action: str, fn: Any, *args: Any) -> Any:
        gp = gphoto2_module()
        try:
            return fn(*args)
        except gp.GPhoto2Error as exc:
            err = from_gphoto2(exc, action)
            if isinstance(err, CameraDisconnected):
                self.close()
            raise err from None

    # -- detection and session ----------------------------------------------------------------
    def list_cameras(self) -> list[dict]:
        gp = self._prepare_env()
        try:
            found = gp.Camera.autodetect()
        except gp.GPhoto2Error as exc:
            raise from_gphoto2(exc, "autodetect") from None
        return [{"model": found.get_name(i), "port": found.get_value(i), "driver": self.kind}
                for i in range(found.count())]

    def detect(self) -> bool:
        """Whether the camera is on the bus. A fault no re-plugging can fix (python-gphoto2 or
        its port drivers missing, an unusable virtual-camera folder) is raised, not hidden as
        "no camera": the supervisor reports it once as failed."""
        try:
            cameras = self.list_cameras()
        except CameraError as exc:
            if not exc.transient:
                raise
            return False
        return any(not self.port or c["port"] == self.port for c in cameras)

    def connect(self) -> None:
        self.close()
        gp = self._prepare_env()
        cam = gp.Camera()  # a fresh object per session: old handles die with unplugged devices
        if self.port:
            ports = gp.PortInfoList()
            ports.load()
            idx = ports.lookup_path(self.port)
            if idx < 0:
                raise CameraError("camera.not_found", code=idx, transient=True)
            cam.set_port_info(ports[idx])
        try:
            cam.init()
        except gp.GPhoto2Error as exc:
            if exc.code == gp.GP_ERROR_MODEL_NOT_FOUND and not self.detect():
                raise CameraError("camera.not_found", code=exc.code, transient=True) from None
            raise from_gphoto2(exc, "connect") from None
        self._cam = cam
        abilities = cam.get_abilities()
        ops = abilities.operations
        self._caps = Capabilities(
            preview=bool(ops & gp.GP_OPERATION_CAPTURE_PREVIEW),
            trigger=bool(ops & gp.GP_OPERATION_TRIGGER_CAPTURE),
            config=bool(ops & gp.GP_OPERATION_CONFIG),
            delete=bool(abilities.file_operations & gp.GP_FILE_OPERATION_DELETE),
        )
        if self.virtual and self._caps.preview and not self._previews(cam):
            # libgphoto2's virtual camera announces live view but refuses every frame: ask once
            # now (harmless there), so the UI adapts at connect instead of at the first frame
            self._caps = Capabilities(False, self._caps.trigger, self._caps.config, self._caps.delete)
        self._model = abilities.model
        self._manufacturer = abilities.model.split()[0] if abilities.model else ""
        self._widgets = set()
        if self._caps.config:
            try:
                self._widgets = set(self._walk(cam.get_config()))
            except gp.GPhoto2Error as exc:
                log.warning("cannot read the camera's config tree: %s", exc)
        self._table = ModelTable.for_camera(self._manufacturer, self._model, self.tables_dir)
        warm_up()
        self._ram_target = self._reads_ram_target(cam.get_config() if "capturetarget" in self._widgets else None)
        log.info("camera connected: %s (%s)", self._model, self.kind)

    @staticmethod
    def _previews(cam: Any) -> bool:
        """Whether one live-view frame comes. Never asked of a real body: one without live view
        fires the shutter on every "preview" (camera.md)."""
        gp = gphoto2_module()
        try:
            cam.capture_preview()
        except gp.GPhoto2Error as exc:
            return exc.code != NOT_SUPPORTED
        return True

    @staticmethod
    def _walk(widget: Any) -> list[str]:
        names = [widget.get_name()]
        for i in range(widget.count_children()):
            names.extend(GPhoto2Camera._walk(widget.get_child(i)))
        return names

    def close(self) -> None:
        cam, self._cam = self._cam, None
        self._owed, self._owed_stems = 0, set()  # a new session starts with a clean event queue
        if cam is not None:
            try:
                cam.exit()
            except Exception as exc:  # closing a dead camera fails; that is fine
                log.debug("camera exit: %s", exc)

    @property
    def connected(self) -> bool:
        return self._cam is not None

    def _require(self) -> Any:
        if self._cam is None:
            raise CameraDisconnected()
        return self._cam

    def capabilities(self) -> Capabilities:
        return self._caps

    # -- live view ------------------------------------------------------------------------------
    def preview_frame(self) -> Frame:
        cam = self._require()
        gp = gphoto2_module()
        try:
            cam_file = cam.capture_preview()
        except gp.GPhoto2Error as exc:
            if exc.code == NOT_SUPPORTED:  # announced but not there (e.g. the virtual camera)
                self._caps = Capabilities(False, self._caps.trigger, self._caps.config, self._caps.delete)
                raise CameraError("camera.no_preview", code=exc.code, transient=False) from None
            err = from_gphoto2(exc, "preview")
            if isinstance(err, CameraDisconnected):
                self.close()
            raise err from None
        data = bytes(memoryview(cam_file.get_data_and_size()))
        self._frame_no += 1
        return Frame(seq=self._frame_no, captured_at=time.monotonic(), jpeg=data)

    def stop_preview(self) -> None:
        if self._cam is None or "viewfinder" not in self._widgets:
            return
        try:
            self._set_widget("viewfinder", 0)
        except CameraError as exc:
            log.debug("could not leave live view: %s", exc)

    # -- capture --------------------------------------------------------------------------------
    def trigger(self, timeout: float) -> list[FileRef]:
        cam = self._require()
        gp = gphoto2_module()
        deadline = time.monotonic() + timeout
        refs: list[FileRef] = []
        # Whatever the camera announced before this trigger is not this shot's: read it now, so a
        # late file of an earlier (failed) shot can never be taken for this one.
        self._drain_stale()
        try:
            if self._caps.trigger:
                cam.trigger_capture()
            else:
                path = cam.capture(gp.GP_CAPTURE_IMAGE)
                refs.append(FileRef(path.folder, path.name))
        except gp.GPhoto2Error as exc:
            if exc.code == BUSY:  # let the camera finish what it is doing; the caller retries
                self._drain(refs_out=None, limit_s=0.2)
            err = from_gphoto2(exc, "capture")
            if isinstance(err, CameraDisconnected):
                self.close()
            raise err from None
        return self._collect(refs, deadline, timeout)

    def _collect(self, refs: list[FileRef], deadline: float, timeout: float) -> list[FileRef]:
        """Wait for "file added" events until the JPEG (and the RAW when wanted) has arrived."""
        cam = self._cam
        gp = gphoto2_module()
        complete = False
        discarded_late = False
        raw_until: float | None = None  # with RAW wanted: how long to wait for it after the JPEG
        while cam is not None:
            have_jpeg = any(r.is_jpeg for r in refs)
            have_raw = any(not r.is_jpeg for r in refs)
            # without RAW wanted, the JPEG is enough: a later RAW is dealt with in cleanup()
            if have_jpeg and (not self.download_raw or have_raw or complete):
                break
            if have_jpeg and raw_until is None:
                raw_until = time.monotonic() + self.raw_wait_s
            until = min(deadline, raw_until) if raw_until is not None else deadline
            remaining_ms = int((until - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                break
            wait_ms = min(remaining_ms, self.event_settle_ms if have_jpeg else 500)
            try:
                kind, data = cam.wait_for_event(wait_ms)
            except gp.GPhoto2Error as exc:
                err = from_gphoto2(exc, "wait for photo")
                if isinstance(err, CameraDisconnected):
                    self.close()
                raise err from None
            if kind == gp.GP_EVENT_FILE_ADDED:
                ref = FileRef(data.folder, data.name)
                if self._is_owed(ref):  # an earlier, failed shot's file: never this student's
                    self._discard([ref])
                    discarded_late = True
                else:
                    refs.append(ref)
            elif kind == gp.GP_EVENT_CAPTURE_COMPLETE:
                complete = True
            elif kind == gp.GP_EVENT_UNKNOWN and "event 400a" in str(data).lower():
                raise CameraError("camera.storage_full", code=-115, transient=False)  # PTP StoreFull
            elif kind == gp.GP_EVENT_TIMEOUT and have_jpeg and not self.download_raw:
                break  # a RAW that is wanted may follow after a pause (the body is still writing)
        if not refs:
            # The shutter fired (trigger_capture returned) but no file came: the camera owes it.
            # When this wait already threw away an owed file, that file may have been this shot's
            # own (the earlier trigger never fired): owing one more would fail every retake.
            if self._caps.trigger and not discarded_late:
                self._owed += 1
            raise CameraError("camera.capture_timeout", transient=False, seconds=round(timeout, 1))
        if not any(r.is_jpeg for r in refs):
            self._discard(refs)
            raise CameraError("camera.no_file", transient=False)
        return refs

    def _is_owed(self, ref: FileRef) -> bool:
        """Whether ``ref`` belongs to an earlier trigger whose file had not come in time (counts it
        paid). Cameras finish shots in order, so the first JPEG after such a trigger is its file;
        the RAW twin shares the JPEG's stem."""
        stem = ref.name.rsplit(".", 1)[0].lower()
        if stem in self._owed_stems:
            return True
        if self._owed and ref.is_jpeg:
            self._owed -= 1
            self._owed_stems.add(stem)
            return True
        return False

    def _drain_stale(self) -> None:
        """Read the events pending before a trigger; files in them belong to no request."""
        stale: list[FileRef] = []
        self._drain(stale, limit_s=1.0)
        owed = [r for r in stale if self._is_owed(r)]
        self._discard(owed)
        self._settle_late([r for r in stale if r not in owed])

    def _settle_late(self, refs: list[FileRef]) -> None:
        """Files nobody asked for (a late RAW, a shot fired on the body): out of the camera's RAM
        always; off the card only when files are not to be kept there."""
        if self._ram_target or self.delete_after_download:
            self._discard(refs)

    def abandon(self, refs: list[FileRef] | None) -> None:
        """A capture failed after the trigger: discard the files it announced and read what the
        camera still has to say, throwing away a late file of that shot if it has come by now."""
        if self._cam is None:
            return
        self._discard(list(refs or []))
        self._drain_stale()

    def download(self, refs: list[FileRef]) -> Capture:
        cam = self._require()
        gp = gphoto2_module()
        jpeg = next(r for r in refs if r.is_jpeg)
        data: dict[str, bytes] = {}
        for ref in [jpeg, *self._raws(refs)]:
            cam_file = self._call("download", cam.file_get, ref.folder, ref.name, gp.GP_FILE_TYPE_NORMAL)
            data[ref.name] = bytes(memoryview(cam_file.get_data_and_size()))
        if not whole_jpeg(data[jpeg.name]):
            raise CameraError("camera.bad_file", transient=False, name=jpeg.name,
                              size=len(data[jpeg.name]))
        capture = Capture(data=data.pop(jpeg.name), file_name=jpeg.name, folder=jpeg.folder,
                          extra=data, camera={"model": self._model, "driver": self.kind},
                          downloaded_at=time.monotonic())
        capture.exif = read_exif(capture.data)
        return capture

    def _raws(self, refs: list[FileRef]) -> list[FileRef]:
        return [r for r in refs if not r.is_jpeg] if self.download_raw else []

    def cleanup(self, refs: list[FileRef]) -> None:
        wanted = [r for r in refs if r.is_jpeg][:1] + self._raws(refs)
        unwanted = [r for r in refs if r not in wanted]
        late: list[FileRef] = []
        # A file in camera RAM is gone once downloaded; deleting it can even hang Canon bodies
        # (python-gphoto2 issue #65), and gp_camera_file_delete holds Python's GIL meanwhile.
        if self.delete_after_download and not self._ram_target:
            self._discard(wanted)
        self._settle_late(unwanted)
        self._drain(late, limit_s=1.0)
        owed = [r for r in late if self._is_owed(r)]
        self._discard(owed)
        # a late RAW or a stray shot must not clog the camera's RAM; on a card it stays when
        # files are to be kept there
        self._settle_late([r for r in late if r not in owed])

    def _discard(self, refs: list[FileRef]) -> None:
        """Get rid of files on the camera: read (and drop) them from RAM, delete them from a card."""
        cam = self._cam
        gp = gphoto2_module()
        for ref in refs:
            if cam is None:
                return
            try:
                if self._ram_target:
                    cam.file_get(ref.folder, ref.name, gp.GP_FILE_TYPE_NORMAL)
                else:
                    cam.file_delete(ref.folder, ref.name)
            except gp.GPhoto2Error as exc:
                err = from_gphoto2(exc, "delete")
                if isinstance(err, CameraDisconnected):
                    self.close()
                    raise err from None
                try:
                    cam.file_get(ref.folder, ref.name, gp.GP_FILE_TYPE_NORMAL)
                except gp.GPhoto2Error:
                    log.debug("could not delete or read %s: %s", ref.path, exc)

    def _drain(self, refs_out: list[FileRef] | None, limit_s: float) -> None:
        """Read the camera's pending events until it has nothing more to say (avoids -110 next)."""
        cam = self._cam
        gp = gphoto2_module()
        end = time.monotonic() + limit_s
        while cam is not None and time.monotonic() < end:
            try:
                kind, data = cam.wait_for_event(self.drain_ms)
            except gp.GPhoto2Error as exc:
                err = from_gphoto2(exc, "drain events")
                if isinstance(err, CameraDisconnected):
                    self.close()
                raise err from None
            if kind == gp.GP_EVENT_TIMEOUT:
                return
            if kind == gp.GP_EVENT_FILE_ADDED and refs_out is not None:
                refs_out.append(FileRef(data.folder, data.name))

