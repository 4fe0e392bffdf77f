"""Picture renderer choice (tui.picture) and the textual-image path on the simulated camera."""

from __future__ import annotations

import sys
import time

import pytest

from station.config import SettingsError, load_settings
from station.tui import picture_mode
from station.tui.picture_mode import choose


def test_forced_modes_win_over_detection():
    assert choose("graphics", headless=True, environ={}, detected=lambda: False) == "graphics"
    assert choose("halfblock", headless=False, environ={}, detected=lambda: True) == "halfblock"


def test_auto_follows_textual_image_detection_on_a_real_terminal():
    assert choose("auto", headless=False, environ={}, detected=lambda: True) == "graphics"
    assert choose("auto", headless=False, environ={}, detected=lambda: False) == "halfblock"


def test_auto_is_halfblock_headless_and_in_tmux_even_if_detected():
    assert choose("auto", headless=True, environ={}, detected=lambda: True) == "halfblock"
    assert choose("auto", headless=False, environ={"TMUX": "/tmp/tmux-0/default,1,0"},
                  detected=lambda: True) == "halfblock"


def test_textual_image_reports_no_graphics_without_a_terminal():
    picture_mode.probe("graphics", environ={})   # imports textual-image; stdout is no tty here
    assert "textual_image.renderable" in sys.modules
    assert picture_mode.graphics_detected() is False
    assert choose("auto", headless=False, environ={}) == "halfblock"


def test_setting_default_env_override_and_bad_value(tmp_path, monkeypatch):
    assert load_settings(tmp_path).tui.picture == "auto"
    monkeypatch.setenv("STATION__TUI__PICTURE", "Graphics")
    assert load_settings(tmp_path).tui.picture == "graphics"
    monkeypatch.setenv("STATION__TUI__PICTURE", "sixels")
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    assert "tui.picture" in err.value.message and "sixels" in err.value.message


def test_picture_image_is_scaled_to_the_cell_box_with_guides_drawn():
    from station.tui.render import GUIDE_EYES, Guides
    from station.tui.widgets.picture import picture_image

    from .conftest import portrait

    img = portrait(640, 800)
    pic = picture_image(img, 40, 20, (10, 20), Guides())
    # export aspect 3:4 inside a 400×400 px box → 300×400
    assert pic.size == (300, 400) and pic.mode == "RGB"
    eye_y = int(Guides().eye_line[0] * 400 / 640)
    assert pic.getpixel((5, eye_y)) == GUIDE_EYES[::-1]


@pytest.mark.parametrize(("picture", "graphics"), [("graphics", True), ("halfblock", False),
                                                   (None, False)])
def test_desk_mode_on_the_sim_camera(tmp_path, picture, graphics):
    import asyncio

    from PIL import Image as PILImage
    from textual_image.widget._base import Image as TextualImage

    from station.sim import demo
    from station.tui.app import make_app
    from station.tui.widgets.picture_view import PictureView

    from .test_tui_sessions import ScriptedSource, capture, connected, desk, tap_and_pay, until

    setup = demo.prepare(tmp_path / "data", people=2)
    app = make_app(setup.data_dir, camera="sim", reader="sim", demo=True,
                   demo_people=setup.eligible[:2], clock=demo.demo_clock(), picture=picture,
                   login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                   camera_opts={"source": ScriptedSource(), "fps": 8,
                                "capture_size": (720, 960), "preview_size": (360, 480)})

    async def run() -> None:
        async with app.run_test(size=(140, 44)) as pilot:
            await connected(pilot)
            await tap_and_pay(pilot, "4200001234567890")
            await until(pilot, lambda: desk(app).frames_shown > 0, what="a live frame")
            await pilot.pause()     # a resize of the view on its way is handled (refits it)
            live = desk(app).query_one("#live", PictureView)
            images = list(desk(app).query(TextualImage))
            assert app.picture_mode == ("graphics" if graphics else "halfblock")
            if not graphics:
                assert images == [] and live.strips    # half-block cells, no textual-image
                return
            image = live.query_one(".picture-image", TextualImage)
            assert isinstance(image.image, PILImage.Image) and live.strips == []
            cw, ch = picture_mode.cell_pixels()
            cols, rows = live.size.width, live.size.height
            w, h = image.image.size
            # fitted to the live view's pixel box, export aspect 3:4 kept
            assert (w <= cols * cw and h <= rows * ch) and (w == cols * cw or h == rows * ch)
            assert abs(w / h - 3 / 4) < 0.02
            await capture(pilot)
            shot = desk(app).query_one("#shot-this-picture").query_one(TextualImage)
            await until(pilot, lambda: isinstance(shot.image, PILImage.Image), what="crop image")
            assert abs(shot.image.size[0] / shot.image.size[1] - 3 / 4) < 0.02

    asyncio.run(run())


class HeldCamera:
    """Holds the desk's live picture worker where a loaded machine can leave it: ``stall()``
    gives it no new frames (a slow or paused camera: the picture on screen stays), ``hold()``
    stops it right after it drew a frame, before the frame reaches the desk (a frame drawn for
    the pane's size as it was; the layout may change meanwhile), ``release()`` lets that frame
    go and stalls the worker after it. Only the picture worker's thread is held."""

    def __init__(self, app, monkeypatch) -> None:
        import threading

        from station.tui.widgets import picture

        self.stalled = False
        self.waits = 0                      # the worker's looks for a frame while stalled
        self.held = threading.Event()       # the worker drew a frame and waits
        self._go: threading.Event | None = None
        self._main = threading.main_thread()
        wait_frame = app.devices.wait_frame

        def stalled_wait_frame(after_seq, timeout):
            if self.stalled and sys._getframe(1).f_code.co_name == "picture_loop":
                self.waits += 1
                time.sleep(timeout)
                return None
            return wait_frame(after_seq, timeout)

        def held(draw):
            def draw_then_hold(*args, **kwargs):
                result = draw(*args, **kwargs)
                go = self._go
                if go is not None and threading.current_thread() is not self._main:
                    self._go = None
                    self.held.set()
                    go.wait(60)
                    self.stalled = True
                return result
            return draw_then_hold

        monkeypatch.setattr(app.devices, "wait_frame", stalled_wait_frame)
        monkeypatch.setattr(picture, "picture_image", held(picture.picture_image))
        monkeypatch.setattr(picture, "picture_lines", held(picture.picture_lines))

    async def stall(self, pilot) -> None:
        """No new frames from here on; returns once a frame in the making has reached the desk."""
        from .test_tui_sessions import until

        self.stalled = True
        await until(pilot, lambda: self.waits >= 2, what="the picture worker stalled")
        await pilot.pause()

    async def hold(self, pilot) -> None:
        import threading

        from .test_tui_sessions import until

        self._go = threading.Event()
        go = self._go
        await until(pilot, self.held.is_set, what="the picture worker drew a frame")
        self._release = go

    def release(self) -> None:
        self._release.set()


def assert_fitted(live, graphics: bool) -> None:
    """The live picture fills the live view's box exactly, never more (the gate's assertion)."""
    cols, rows = live.size.width, live.size.height
    if graphics:
        from textual_image.widget._base import Image as TextualImage

        image = live.query_one(".picture-image", TextualImage)
        cw, ch = picture_mode.cell_pixels()
        w, h = image.image.size
        assert (w <= cols * cw and h <= rows * ch) and (w == cols * cw or h == rows * ch), \
            f"picture {w}×{h} px in a {cols}×{rows} view of {cw}×{ch} px cells"
        assert abs(w / h - 3 / 4) < 0.02
    else:
        assert live.strips and len(live.strips) == rows, (len(live.strips or []), rows)
        assert all(strip.cell_length == cols for strip in live.strips)


def sim_desk(tmp_path, picture):
    from station.sim import demo
    from station.tui.app import make_app

    from .test_tui_sessions import ScriptedSource

    setup = demo.prepare(tmp_path / "data", people=2)
    return make_app(setup.data_dir, camera="sim", reader="sim", demo=True,
                    demo_people=setup.eligible[:2], clock=demo.demo_clock(), picture=picture,
                    login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                    camera_opts={"source": ScriptedSource(), "fps": 8,
                                 "capture_size": (720, 960), "preview_size": (360, 480)})


async def live_frame_shown(pilot, app, monkeypatch):
    """A student tapped and paid on the sim desk, the first live frame on screen: the camera
    (held by the test from now on) and the live view."""
    from station.tui.widgets.picture_view import PictureView

    from .test_tui_sessions import connected, desk, tap_and_pay, until

    await connected(pilot)
    camera = HeldCamera(app, monkeypatch)
    await tap_and_pay(pilot, "4200001234567890")
    await until(pilot, lambda: desk(app).frames_shown > 0, what="a live frame")
    return camera, desk(app).query_one("#live", PictureView)


@pytest.mark.parametrize("picture", ["graphics", "halfblock"])
def test_live_picture_is_fitted_again_when_the_view_changes_size(tmp_path, monkeypatch, picture):
    """The terminal shrinks and grows while the camera sends nothing new: the picture on screen
    is drawn again for the live view's new size (it overflowed its pane before)."""
    import asyncio

    from .test_tui_sessions import desk

    app = sim_desk(tmp_path, picture)
    graphics = picture == "graphics"

    async def run() -> None:
        async with app.run_test(size=(140, 44)) as pilot:
            camera, live = await live_frame_shown(pilot, app, monkeypatch)
            await camera.stall(pilot)
            shown = desk(app).frames_shown
            for size in ((140, 40), (170, 50), (120, 36)):
                before = live.size
                await pilot.resize_terminal(*size)
                await pilot.pause()
                assert live.size != before
                assert_fitted(live, graphics)
            assert desk(app).frames_shown == shown        # no new frame did it

    asyncio.run(run())


@pytest.mark.parametrize("picture", ["graphics", "halfblock"])
def test_a_frame_drawn_before_the_view_changed_size_is_fitted_to_it(tmp_path, monkeypatch,
                                                                    picture):
    """The gate's failure (fitted 585×780 = 39 rows, the view 38): the worker drew a frame for
    the size it last saw, the layout changed before the desk got it; shown as it was, it
    overflows its pane until the next frame (never, if the camera pauses)."""
    import asyncio

    from .test_tui_sessions import desk, until

    app = sim_desk(tmp_path, picture)
    graphics = picture == "graphics"

    async def run() -> None:
        async with app.run_test(size=(140, 44)) as pilot:
            camera, live = await live_frame_shown(pilot, app, monkeypatch)
            await camera.hold(pilot)                 # a frame drawn for the view as it is
            before = live.size
            await pilot.resize_terminal(140, 43)     # one line less, as in the gate
            assert live.size.height == before.height - 1
            shown = desk(app).frames_shown
            camera.release()
            await until(pilot, lambda: desk(app).frames_shown > shown, what="the held frame")
            await pilot.pause()
            assert_fitted(live, graphics)

    asyncio.run(run())


def test_cli_refuses_a_bad_picture_setting_before_starting_the_tui(tmp_path):
    from tests.conftest import run_station_cmd

    res = run_station_cmd(["demo", "--lang", "en"], data_dir=tmp_path / "data",
                          env={"STATION__TUI__PICTURE": "sixels"}, stdin="", timeout=60)
    assert res.returncode == 2
    assert "tui.picture" in res.stderr and "sixels" in res.stderr


def test_fitted_strips_fill_the_pane_centred_and_come_rendered():
    """The live picture's worker hands the desk pane-sized strips with their terminal codes made,
    so the UI thread paints a frame without rendering it again."""
    from rich.console import Console
    from rich.style import Style

    from station.tui.render import to_cells
    from station.tui.widgets.picture_view import fitted_strips
    from tests.tui.conftest import portrait

    lines = to_cells(portrait(480, 640), 12, 8)           # 6×8 cells: narrower than the pane
    width = sum(len(s.text) for s in lines[0])
    console = Console(color_system="truecolor", force_terminal=True)
    strips = fitted_strips(lines, 20, 12, Style(bgcolor="black"), console)
    assert len(strips) == 12 and all(s.cell_length == 20 for s in strips)
    top = (12 - len(lines)) // 2
    assert all("\u2580" not in s.text for s in strips[:top] + strips[top + len(lines):])
    row = strips[top].text
    assert row.index("\u2580") == (20 - width) // 2 and row.count("\u2580") == width
    assert all(s._render_cache is not None for s in strips)
    from textual.strip import Strip

    assert strips[top]._render_cache == Strip(list(strips[top]), 20).render(console)
