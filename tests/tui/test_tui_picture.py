"""Picture renderer choice (tui.picture) and the textual-image path on the simulated camera."""

from __future__ import annotations

import sys

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
