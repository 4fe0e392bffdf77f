"""The live picture that stops being live (camera asleep, live view stopped, nobody at the desk)
says so on the picture, with what to do, and the notice goes with the first new frame. Driven as a
photographer meets it: the sim desk at 80x24, a student framed, the camera goes quiet."""

from __future__ import annotations

import asyncio
import time

import pytest

from station.tui.live import STALE_AFTER

from .screen import screen_lines
from .test_tui_picture import sim_desk
from .test_tui_sessions import connected, desk, tap_and_pay, until

PAUSED = "实时画面已暂停"


def shown(app) -> str:
    return "\n".join(screen_lines(app))


async def framing(pilot) -> None:
    app = pilot.app
    await connected(pilot)
    await tap_and_pay(pilot, "4200001234567890")
    await until(pilot, lambda: desk(app).frames_shown > 0, what="a live frame")


@pytest.mark.parametrize("picture", ["halfblock", "graphics"])
def test_a_camera_that_stops_sending_frames_is_said_on_the_picture_until_frames_come(tmp_path,
                                                                                    picture):
    app = sim_desk(tmp_path, picture)

    async def run() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await framing(pilot)
            await pilot.pause(STALE_AFTER + 0.5)            # frames flowing: nothing to say
            assert PAUSED not in shown(app)
            app.devices.driver.stall_preview(for_s=60)       # asleep: no frame, no error
            try:
                await until(pilot, lambda: PAUSED in shown(app), timeout=STALE_AFTER + 10,
                            what="the paused notice")
                screen = shown(app)
                assert "半按快门" in screen.replace("\n", "")   # what to do, on the picture
                assert desk(app).state == "framing" and app.devices.camera.state == "connected"
                assert "✓" not in screen, "checks of a frozen picture still shown as passed"
                frames = desk(app).frames_shown
            finally:
                app.devices.driver.resume_preview()
            started = time.monotonic()
            await until(pilot, lambda: PAUSED not in shown(app), timeout=10,
                        what="the notice gone with the first new frame")
            assert desk(app).frames_shown > frames
            assert time.monotonic() - started < STALE_AFTER

    asyncio.run(run())


def test_live_view_stopped_for_nobody_at_the_desk_says_press_a_key(tmp_path, monkeypatch):
    monkeypatch.setenv("STATION__CAMERA__LIVE_VIEW_IDLE_S", "1")
    app = sim_desk(tmp_path, "halfblock")

    async def run() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await framing(pilot)
            await until(pilot, lambda: PAUSED in shown(app), timeout=STALE_AFTER + 10,
                        what="the paused notice")
            assert "按任意键" in shown(app).replace("\n", "")
            frames = desk(app).frames_shown
            await pilot.press("x")                            # any key: live view comes back
            await until(pilot, lambda: PAUSED not in shown(app), timeout=10,
                        what="the notice gone with the first new frame")
            assert desk(app).frames_shown > frames

    asyncio.run(run())
