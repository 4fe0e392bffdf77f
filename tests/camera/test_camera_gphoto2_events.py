"""The gphoto2 driver's capture logic (events → files → download → cleanup) on a scripted camera.

libgphoto2's virtual camera only shoots JPEG and never stalls; real bodies shoot RAW+JPEG, answer
"busy" and drop off the bus. A scripted stand-in for ``gphoto2.Camera`` covers those paths.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from station.camera.base import Capabilities
from station.camera.errors import CameraDisconnected, CameraError
from station.camera.gphoto2_driver import GPhoto2Camera
from station.camera.gphoto2_env import gphoto2_module
from station.camera.models import ModelTable

gp = gphoto2_module()
FOLDER = "/store_00020001/DCIM/100CANON"


def added(name: str) -> tuple:
    return gp.GP_EVENT_FILE_ADDED, SimpleNamespace(folder=FOLDER, name=name)


class ScriptedCamera:
    """Plays back events after each trigger; files are bytes by name."""

    def __init__(self, after_trigger: list, files: dict[str, bytes], *, busy: int = 0,
                 fail_get: int | None = None) -> None:
        self.after_trigger = after_trigger
        self.files = dict(files)
        self.busy = busy
        self.fail_get = fail_get
        self.events: list = []
        self.deleted: list[str] = []
        self.read: list[str] = []
        self.exited = False

    def trigger_capture(self):
        if self.busy:
            self.busy -= 1
            self.events.append((gp.GP_EVENT_UNKNOWN, "PTP Property d1a2 changed"))
            raise gp.GPhoto2Error(gp.GP_ERROR_CAMERA_BUSY)
        self.events.extend(self.after_trigger)

    def wait_for_event(self, timeout_ms):
        if self.events:
            return self.events.pop(0)
        return gp.GP_EVENT_TIMEOUT, None

    def file_get(self, folder, name, kind):
        if self.fail_get is not None:
            raise gp.GPhoto2Error(self.fail_get)
        if name not in self.files:
            raise gp.GPhoto2Error(gp.GP_ERROR_FILE_NOT_FOUND)
        self.read.append(name)
        return SimpleNamespace(get_data_and_size=lambda: self.files[name])

    def file_delete(self, folder, name):
        self.deleted.append(name)
        self.files.pop(name, None)

    def exit(self):
        self.exited = True


def driver(fake: ScriptedCamera, *, raw: bool = False, ram: bool = False, delete: bool = True):
    cam = GPhoto2Camera(download_raw=raw, delete_after_download=delete)
    cam._cam = fake
    cam._caps = Capabilities(preview=True, trigger=True, config=True, delete=True)
    cam._table = ModelTable.for_camera("Canon", "Canon EOS 2000D")
    cam._ram_target = ram
    cam._model = "Canon EOS 2000D"
    return cam


JPEG = b"\xff\xd8\xffjpeg\xff\xd9"
RAW = b"II*\x00raw"


def test_raw_and_jpeg_both_downloaded_when_wanted():
    fake = ScriptedCamera([added("IMG_1.CR2"), added("IMG_1.JPG"), (gp.GP_EVENT_CAPTURE_COMPLETE, None)],
                          {"IMG_1.JPG": JPEG, "IMG_1.CR2": RAW})
    cam = driver(fake, raw=True)
    capture = cam.capture(5)
    assert capture.data == JPEG and capture.file_name == "IMG_1.JPG"
    assert capture.extra == {"IMG_1.CR2": RAW}
    assert sorted(fake.deleted) == ["IMG_1.CR2", "IMG_1.JPG"]
    assert fake.events == []  # drained: the next capture starts clean


def test_unwanted_raw_is_removed_from_the_camera_not_downloaded():
    fake = ScriptedCamera([added("IMG_2.JPG"), added("IMG_2.CR2")], {"IMG_2.JPG": JPEG, "IMG_2.CR2": RAW})
    cam = driver(fake)
    refs = cam.trigger(5)
    assert [r.name for r in refs] == ["IMG_2.JPG"]  # handed over without waiting for the RAW
    capture = cam.download(refs)
    assert capture.extra == {}
    cam.cleanup(refs)
    assert sorted(fake.deleted) == ["IMG_2.CR2", "IMG_2.JPG"]  # the late RAW came in the drain
    assert fake.read == ["IMG_2.JPG"]


def test_camera_ram_files_are_read_never_deleted():
    fake = ScriptedCamera([added("capt0001.jpg"), added("capt0001.cr2")],
                          {"capt0001.jpg": JPEG, "capt0001.cr2": RAW})
    cam = driver(fake, ram=True)
    capture = cam.capture(5)
    assert capture.data == JPEG
    assert fake.deleted == []
    assert sorted(fake.read) == ["capt0001.cr2", "capt0001.jpg"]  # the RAW is fetched to free RAM


def test_keep_on_card_when_configured():
    fake = ScriptedCamera([added("IMG_3.JPG")], {"IMG_3.JPG": JPEG})
    driver(fake, delete=False).capture(5)
    assert fake.deleted == [] and "IMG_3.JPG" in fake.files


def test_busy_drains_events_and_says_busy():
    fake = ScriptedCamera([added("IMG_4.JPG")], {"IMG_4.JPG": JPEG}, busy=1)
    cam = driver(fake)
    with pytest.raises(CameraError) as info:
        cam.trigger(5)
    assert info.value.key == "camera.busy" and info.value.code == -110
    assert fake.events == []  # what the camera had to say was read before the retry
    assert cam.capture(5).data == JPEG  # the retry works


def test_unplug_during_download_closes_the_session():
    fake = ScriptedCamera([added("IMG_5.JPG")], {"IMG_5.JPG": JPEG}, fail_get=gp.GP_ERROR_IO)
    cam = driver(fake)
    refs = cam.trigger(5)
    with pytest.raises(CameraDisconnected):
        cam.download(refs)
    assert fake.exited and not cam.connected


def test_raw_only_is_refused_and_cleared():
    fake = ScriptedCamera([added("IMG_6.CR2"), (gp.GP_EVENT_CAPTURE_COMPLETE, None)], {"IMG_6.CR2": RAW})
    cam = driver(fake)
    with pytest.raises(CameraError) as info:
        cam.trigger(5)
    assert info.value.key == "camera.no_file"
    assert fake.deleted == ["IMG_6.CR2"]


def test_no_file_within_the_timeout():
    fake = ScriptedCamera([], {})
    with pytest.raises(CameraError) as info:
        driver(fake).trigger(0.3)
    assert info.value.key == "camera.capture_timeout"
    assert "0.3" in info.value.messages[1]


def test_store_full_event_is_reported():
    fake = ScriptedCamera([(gp.GP_EVENT_UNKNOWN, "PTP Event 400a, Param1 00000021")], {})
    with pytest.raises(CameraError) as info:
        driver(fake).trigger(2)
    assert info.value.key == "camera.storage_full"


class ShotsCamera(ScriptedCamera):
    """Each trigger plays the next script of ``shots``; a test adds a late file to ``events``."""

    def __init__(self, shots: list[list], files: dict[str, bytes]) -> None:
        super().__init__([], files)
        self.shots = list(shots)
        self.log: list[str] = []

    def trigger_capture(self):
        self.log.append("trigger")
        self.events.extend(self.shots.pop(0))

    def file_get(self, folder, name, kind):
        self.log.append(f"get {name}")
        return super().file_get(folder, name, kind)

    def file_delete(self, folder, name):
        self.log.append(f"delete {name}")
        super().file_delete(folder, name)


SHOTS = {f"SHOT_{n}.JPG": f"\xff\xd8\xffshot {n}\xff\xd9".encode("latin-1") for n in (1, 2, 3)}


def _timed_out(cam) -> None:
    with pytest.raises(CameraError) as info:
        cam.trigger(0.2)
    assert info.value.key == "camera.capture_timeout"


def test_late_file_of_a_timed_out_shot_arriving_before_the_next_trigger_is_discarded():
    fake = ShotsCamera([[], [added("SHOT_2.JPG")]], SHOTS)
    cam = driver(fake, delete=False)
    _timed_out(cam)
    fake.events.append(added("SHOT_1.JPG"))  # the camera finally delivers the first shot
    capture = cam.capture(5)
    assert capture.file_name == "SHOT_2.JPG" and capture.data == SHOTS["SHOT_2.JPG"]
    assert "SHOT_1.JPG" in fake.deleted  # the other student's photo is gone from the camera
    assert "SHOT_2.JPG" not in fake.deleted  # kept on the card as configured


def test_late_file_of_a_timed_out_shot_arriving_after_the_next_trigger_is_discarded():
    fake = ShotsCamera([[], [added("SHOT_1.JPG"), added("SHOT_2.JPG")]], SHOTS)
    cam = driver(fake)
    _timed_out(cam)
    capture = cam.capture(5)
    assert capture.file_name == "SHOT_2.JPG"
    assert fake.log.index("delete SHOT_1.JPG") < fake.log.index("get SHOT_2.JPG")
    assert "get SHOT_1.JPG" not in fake.log


def test_a_shot_that_never_comes_costs_one_retake_not_every_later_one():
    # the first trigger never produced a file (e.g. autofocus gave up): the next file is taken
    # for the late one, once; the capture after that works again
    fake = ShotsCamera([[], [added("SHOT_2.JPG")], [added("SHOT_3.JPG")]], SHOTS)
    cam = driver(fake)
    _timed_out(cam)
    _timed_out(cam)
    assert cam.capture(5).file_name == "SHOT_3.JPG"


def test_service_never_hands_out_the_previous_shot_after_a_timeout(no_thread_leak):
    from station.camera import CameraService

    fake = ShotsCamera([[], [added("SHOT_2.JPG")], [added("SHOT_3.JPG")]], SHOTS)
    cam = driver(fake)
    with CameraService(cam, capture_timeout=2.0) as service:
        with pytest.raises(CameraError) as info:
            service.capture(0.3)
        assert info.value.key == "camera.capture_timeout"
        fake.events.append(added("SHOT_1.JPG"))  # 1 s after the deadline, say
        second = service.capture(5)
        third = service.capture(5)
    assert second.file_name == "SHOT_2.JPG" and second.data == SHOTS["SHOT_2.JPG"]
    assert third.file_name == "SHOT_3.JPG"
    assert "get SHOT_1.JPG" not in fake.log and "delete SHOT_1.JPG" in fake.log
    # shot 2 was downloaded before anything deleted it
    assert fake.log.index("get SHOT_2.JPG") < fake.log.index("delete SHOT_2.JPG")


def test_raw_after_a_pause_is_downloaded_and_kept_on_the_card():
    fake = ScriptedCamera([added("DSC_1.JPG"), (gp.GP_EVENT_TIMEOUT, None), added("DSC_1.NEF"),
                           (gp.GP_EVENT_CAPTURE_COMPLETE, None)],
                          {"DSC_1.JPG": JPEG, "DSC_1.NEF": RAW})
    capture = driver(fake, raw=True, delete=False).capture(5)
    assert capture.extra == {"DSC_1.NEF": RAW}
    assert fake.deleted == [] and set(fake.files) == {"DSC_1.JPG", "DSC_1.NEF"}


def test_late_raw_not_wanted_stays_on_the_card_when_files_are_kept():
    fake = ScriptedCamera([added("DSC_2.JPG"), added("DSC_2.NEF")],  # the RAW comes in cleanup
                          {"DSC_2.JPG": JPEG, "DSC_2.NEF": RAW})
    capture = driver(fake, delete=False).capture(5)
    assert capture.extra == {}
    assert fake.deleted == [] and fake.read == ["DSC_2.JPG"]


def test_raw_wanted_but_never_sent_ends_the_wait_on_capture_complete():
    fake = ScriptedCamera([added("DSC_3.JPG"), (gp.GP_EVENT_TIMEOUT, None),
                           (gp.GP_EVENT_CAPTURE_COMPLETE, None)], {"DSC_3.JPG": JPEG})
    capture = driver(fake, raw=True).capture(5)
    assert capture.file_name == "DSC_3.JPG" and capture.extra == {}


@pytest.mark.parametrize("data", [JPEG[:-2], b"PK\x03\x04 not a photo", b""])
def test_a_file_that_is_not_a_whole_jpeg_is_refused_and_removed(data):
    from station.camera import CameraService

    fake = ScriptedCamera([added("IMG_7.JPG")], {"IMG_7.JPG": data})
    with CameraService(driver(fake)) as service, pytest.raises(CameraError) as info:
        service.capture(5)
    assert info.value.key == "camera.bad_file" and "IMG_7.JPG" in info.value.messages[1]
    assert fake.deleted == ["IMG_7.JPG"]  # nothing of that shot stays for the next one


def test_a_jpeg_padded_after_its_end_marker_is_accepted():
    fake = ScriptedCamera([added("IMG_8.JPG")], {"IMG_8.JPG": JPEG + b"\x00" * 64})
    assert driver(fake).capture(5).file_name == "IMG_8.JPG"
