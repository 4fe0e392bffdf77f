"""Sessions the owner gives up on (preview or capture failing again and again) come back with
back-off — 2 s doubling to 20 s — that only starts over once a frame or a capture works again.
Run in simulated time (ManualClock): no real-time tolerance."""

from __future__ import annotations

import pytest

from station.camera import CameraError, CameraService
from station.camera.clock import ManualClock
from station.camera.sim import SimCamera
from tests.camera.conftest import run_until

pytestmark = pytest.mark.usefixtures("no_thread_leak")


class Failing(SimCamera):
    """Live view and/or captures fail with a plain camera error while the counters last."""

    def __init__(self, preview_failures: int = 0, capture_failures: int = 0) -> None:
        super().__init__(preview_size=(120, 160), capture_size=(240, 320))
        self.preview_failures = preview_failures
        self.capture_failures = capture_failures

    def preview_frame(self):
        if self.preview_failures > 0:
            self.preview_failures -= 1
            raise CameraError("camera.unspecified", code=-1)
        return super().preview_frame()

    def trigger(self, timeout):
        if self.capture_failures > 0:
            self.capture_failures -= 1
            raise CameraError("camera.unspecified", code=-1)
        return super().trigger(timeout)


def delays(service: CameraService) -> list[float]:
    out = []
    while not service.events.empty():
        event = service.events.get_nowait()
        if event.kind == "reconnecting":
            out.append(event.delay_s)
    return out


def test_preview_failures_reconnect_with_backoff_until_a_frame_works():
    clock = ManualClock()
    cam = Failing(preview_failures=30)  # three sessions of ten failures, then frames again
    with CameraService(cam, clock=clock, reconnect_initial=0.1, reconnect_max=0.4,
                       live_view_idle_s=0) as service:
        run_until(clock, lambda: service.state == "connected", step=0.05, limit=5)
        service.live_view(True)
        run_until(clock, lambda: service.stats["frames"] > 0, step=0.01, limit=10)
        first = delays(service)
        cam.preview_failures = 10  # a new streak after frames worked: the back-off starts over
        run_until(clock, lambda: cam.connects == 5 and service.stats["frames"] > 5, step=0.01,
                  limit=10)
        second = delays(service)
    assert first == [0.1, 0.2, 0.4]
    assert second == [0.1]
    assert cam.connects == 5


def test_repeated_capture_failures_reopen_the_session_with_backoff():
    import time

    cam = Failing(capture_failures=3)
    with CameraService(cam, reconnect_initial=0.05, reconnect_max=0.4) as service:
        assert service.wait_connected(5)
        for _ in range(3):
            with pytest.raises(CameraError) as info:
                service.capture(timeout=3)
            assert info.value.key == "camera.unspecified"
        end = time.monotonic() + 5
        while cam.connects < 2 and time.monotonic() < end:
            time.sleep(0.01)
        assert service.wait_connected(5)
        capture = service.capture(timeout=3)
        waits = delays(service)
    assert cam.connects == 2 and service.stats["reconnects"] == 1
    assert waits == [0.05]
    assert capture.file_name.endswith(".JPG")


def test_a_slow_download_is_not_blamed_on_focus():
    import threading

    class SlowDownload(SimCamera):
        def __init__(self) -> None:
            super().__init__(preview_size=(120, 160), capture_size=(240, 320))
            self.release = threading.Event()

        def download(self, refs):
            self.release.wait(30)  # a 300 MB file on a slow link
            return super().download(refs)

    cam = SlowDownload()
    with CameraService(cam) as service:
        assert service.wait_connected(5)
        try:
            with pytest.raises(CameraError) as info:
                service.capture(timeout=0.3)
        finally:
            cam.release.set()
    assert info.value.key == "camera.download_timeout"
    zh, en = info.value.messages
    assert "focus" not in en and "对焦" not in zh and "--timeout" in en
