"""The demo desk (Textual Pilot, sim reader and camera, real store and checks): a demo student in
a blue top is announced when the card is tapped, and the capture is refused for the clothes."""

from __future__ import annotations

import asyncio
import time

from station.sim import demo
from station.sim.students import Stage
from station.tui.app import make_app
from station.tui.screens.dialogs import PayDialog


async def until(pilot, condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_demo_student_in_a_blue_top_is_announced_and_refused(tmp_path):
    setup = demo.prepare(tmp_path / "data", people=8)
    blue = [i for i in setup.eligible if setup.looks.get(i.id_number) == "blue_top"]
    assert blue, setup.looks
    app = make_app(setup.data_dir, camera="sim", reader="sim", demo=True, demo_people=blue,
                   demo_looks=setup.looks, login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                   clock=demo.demo_clock(), lang="zh",
                   camera_opts={"source": Stage(setup.looks), "fps": 8, "capture_size": (900, 1200),
                                "preview_size": (360, 480)})

    async def run():
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.devices is not None and app.devices.camera is not None
                        and app.devices.camera.state == "connected", what="camera connected")
            desk = app.get_screen("desk")
            await pilot.press("t")
            await until(pilot, lambda: desk.state == "identified", what="identified")
            notices = [str(n.message) for n in app._notifications]
            assert any("蓝色上衣" in n for n in notices), notices
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, PayDialog), what="pay dialog")
            await pilot.press(*"4200001234", "enter")
            await until(pilot, lambda: desk.state == "framing", what="framing")
            await until(pilot, lambda: desk.frames_shown > 0, what="a live frame")
            await pilot.press("space")
            await until(pilot, lambda: desk.state == "captured", what="captured", timeout=60)
            capture = desk.person.capture
            assert capture.passed is False
            assert [c.name for c in capture.failed] == ["clothing_contrast"], capture.failed
            await pilot.press("a")                      # refused: the photo fails
            await app.settle()
            assert desk.state == "captured"

    asyncio.run(run())
