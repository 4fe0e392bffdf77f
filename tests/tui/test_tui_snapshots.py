"""SVG snapshots of every screen in Chinese and English (pytest-textual-snapshot).

Deterministic: fixed clock, fixed people, a drawn picture instead of live frames, no device
workers. Update with `pytest tests/tui --snapshot-update` after checking the pictures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from station.tui.app import make_app

from .conftest import (
    PHO_PIN,
    PHOTOGRAPHER,
    SUP_PIN,
    SUPERVISOR,
    desk_app,
    person,
    portrait,
)
from .conftest import (
    step as session_step,
)

LANGS = ["zh", "en"]
OK_PERSON, BLOCKED_PERSON = person(1), person(2)


def app_for(data_dir, lang, login=(PHOTOGRAPHER, PHO_PIN)):
    return desk_app(data_dir, {OK_PERSON.id_number: [],
                               BLOCKED_PERSON.id_number: ["not_eligible", "wrong_slot"]},
                    lang=lang, login=login)


async def logged_in(pilot):
    await pilot.app.settle()
    await pilot.pause()


async def step(pilot, fn):
    await session_step(pilot, fn)


@dataclass
class LiveCheck:
    name: str
    status: str
    message_zh: str = ""
    message_en: str = ""


@dataclass
class FakeLiveReport:
    checks: list = field(default_factory=list)
    top_instruction: tuple = ("请稍微抬头", "Lift your chin a little")


async def show_fixed_frame(pilot):
    from station.tui.messages import LiveChecked, LiveFrame
    from station.tui.widgets.picture import picture_lines

    desk = pilot.app.screen
    live = desk.query_one("#live")
    cells = picture_lines(portrait(640, 800), live.size.width, live.size.height, pilot.app.guides)
    report = FakeLiveReport([LiveCheck("face_count", "pass"),
                             LiveCheck("eye_line", "warn", "眼睛偏低", "eyes too low"),
                             LiveCheck("sharpness", "pass")])
    desk.post_message(LiveFrame(cells, 1))
    desk.post_message(LiveChecked(report, 1))
    await pilot.pause()


@pytest.mark.parametrize("lang", LANGS)
def test_snapshot_login(snap_compare, data_dir, lang):
    app = make_app(data_dir, camera=None, reader=None, live=False, lang=lang)
    assert snap_compare(app, terminal_size=(120, 40), press=[*"摄影乙"])


@pytest.mark.parametrize("lang", LANGS)
def test_snapshot_desk_waiting(snap_compare, data_dir, lang):
    assert snap_compare(app_for(data_dir, lang), terminal_size=(120, 40), run_before=logged_in)


@pytest.mark.parametrize("lang", LANGS)
def test_snapshot_desk_ineligible(snap_compare, data_dir, lang):
    async def run(pilot):
        await logged_in(pilot)
        await step(pilot, lambda s: s.identify(BLOCKED_PERSON))

    assert snap_compare(app_for(data_dir, lang), terminal_size=(120, 40), run_before=run)


@pytest.mark.parametrize("lang", LANGS)
def test_snapshot_desk_framing(snap_compare, data_dir, lang):
    async def run(pilot):
        await logged_in(pilot)
        await step(pilot, lambda s: s.identify(OK_PERSON))
        await step(pilot, lambda s: s.pay("4200000001"))
        await show_fixed_frame(pilot)

    assert snap_compare(app_for(data_dir, lang), terminal_size=(120, 40), run_before=run)


@pytest.mark.parametrize("lang", LANGS)
def test_snapshot_desk_captured_failed(snap_compare, data_dir, lang):
    async def run(pilot):
        await logged_in(pilot)
        await step(pilot, lambda s: s.identify(OK_PERSON))
        await step(pilot, lambda s: s.pay(None))
        await step(pilot, lambda s: s.capture(b"BLURRY"))
        await pilot.press("a")          # refused: a check fails
        await pilot.app.settle()
        await pilot.pause()

    assert snap_compare(app_for(data_dir, lang), terminal_size=(120, 40), run_before=run)


def test_snapshot_desk_small_terminal(snap_compare, data_dir):
    async def run(pilot):
        await logged_in(pilot)
        await step(pilot, lambda s: s.identify(OK_PERSON))
        await step(pilot, lambda s: s.pay(None))
        await step(pilot, lambda s: s.capture(b"GOOD"))

    assert snap_compare(app_for(data_dir, "zh"), terminal_size=(80, 24), run_before=run)


@pytest.mark.parametrize("screen", ["f1", "f2", "f3", "f4", "f5"])
@pytest.mark.parametrize("lang", LANGS)
def test_snapshot_side_screens(snap_compare, data_dir, lang, screen):
    async def run(pilot):
        await logged_in(pilot)
        await step(pilot, lambda s: s.identify(OK_PERSON))
        await step(pilot, lambda s: s.pay(None))
        await step(pilot, lambda s: s.capture(b"BLURRY"))

        def override(service):
            sup = service.store.operators.authenticate(SUPERVISOR, SUP_PIN)
            service.accept(override_by=sup, reason="judged fine")

        if screen != "f2":    # the schedule's per-hour chart uses the store's wall clock
            await step(pilot, override)
        await pilot.press(screen)
        await pilot.app.settle()
        await pilot.pause()

    app = app_for(data_dir, lang, login=(SUPERVISOR, SUP_PIN))
    assert snap_compare(app, terminal_size=(120, 40), run_before=run)
