"""Live view stops when nobody is at the desk, even while the desk keeps asking for it and reading
its frames (camera.md: live view left running for hours heats the sensor). Simulated time."""

from __future__ import annotations

import pytest

from station.camera import CameraService
from station.camera.clock import ManualClock
from station.camera.sim import SimCamera

pytestmark = pytest.mark.usefixtures("no_thread_leak")


def run_for(clock: ManualClock, seconds: float, each=lambda: None, step: float = 0.05) -> None:
    end = clock.now() + seconds
    clock.settle()
    while clock.now() < end:
        each()
        clock.advance(step)
        clock.settle()


@pytest.mark.parametrize("reads_frames", [False, True])
def test_reasserting_live_view_and_reading_frames_is_not_somebody_looking(reads_frames):
    clock = ManualClock()
    cam = SimCamera(preview_size=(120, 160), capture_size=(240, 320))
    with CameraService(cam, clock=clock, live_view_idle_s=2.0) as service:
        run_for(clock, 0.5)
        assert service.state == "connected"
        service.live_view(True)                       # the desk enters FRAMING: a real "on"

        def desk_loop():                              # what tui/live.py does on every pass
            service.live_view(True)
            if reads_frames:
                service.wait_frame(0, 0, look=False)

        run_for(clock, 8.0, desk_loop)
        assert not service.live                       # stopped after 2 s with nobody there
        frames = cam.frames_made
        run_for(clock, 3.0, desk_loop)
        assert cam.frames_made == frames and not service.live  # re-asserting does not restart it
        service.touch()                               # the operator presses a key
        run_for(clock, 0.5, desk_loop)
        assert service.live and cam.frames_made > frames
        events = []
        while not service.events.empty():
            events.append(service.events.get_nowait())
    assert [e.live for e in events if e.kind == "live_view"] == [False]


def test_off_then_on_is_a_real_start_after_an_idle_stop():
    clock = ManualClock()
    cam = SimCamera(preview_size=(120, 160), capture_size=(240, 320))
    with CameraService(cam, clock=clock, live_view_idle_s=1.0) as service:
        run_for(clock, 0.5)
        service.live_view(True)
        run_for(clock, 2.0)
        assert not service.live
        service.live_view(False)                      # the desk left FRAMING …
        service.live_view(True)                       # … and the next student arrives
        run_for(clock, 0.5)
        assert service.live
