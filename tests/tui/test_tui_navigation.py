"""Getting around: F-keys switch screens (Esc is always one step from the desk), a role that may
not open a screen is told who may, Ctrl+Q asks in the middle of a student, and screen switches
while the live view runs leave no error in the log (the workers never touch widgets)."""

from __future__ import annotations

import asyncio
import logging

from station.sim import demo
from station.tui.app import make_app
from station.tui.screens.desk import DeskScreen
from station.tui.screens.dialogs import ConfirmDialog

from .conftest import PHO_PIN, PHOTOGRAPHER, SUP_PIN, SUPERVISOR
from .test_tui_sessions import ScriptedSource, connected, desk, tap_and_pay, until


def plain_app(data_dir, login):
    return make_app(data_dir, camera=None, reader=None, live=False, login=login)


def test_f_keys_switch_screens_and_escape_returns_to_the_desk(data_dir):
    async def run():
        app = plain_app(data_dir, (SUPERVISOR, SUP_PIN))
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            await pilot.pause()
            for key, name in (("f2", "ScheduleScreen"), ("f4", "DevicesScreen"),
                              ("f3", "ReviewScreen"), ("f5", "ExportsScreen"),
                              ("f1", "HelpScreen"), ("f2", "ScheduleScreen")):
                await pilot.press(key)
                await app.settle()
                await pilot.pause()
                assert type(app.screen).__name__ == name
                assert len(app.screen_stack) == 3        # login, desk, one screen on top
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, DeskScreen)

    asyncio.run(run())


def test_photographer_is_told_exports_are_for_technicians(data_dir):
    async def run():
        app = plain_app(data_dir, (PHOTOGRAPHER, PHO_PIN))
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            await pilot.pause()
            await pilot.press("f5")
            await pilot.pause()
            assert isinstance(app.screen, DeskScreen)
            words = [n.message for n in app._notifications]
            assert words and "技术员" in words[-1] and "导出" in words[-1]

    asyncio.run(run())


async def quit_asked(app, pilot, someone) -> None:
    """``someone`` at the desk, then Ctrl+Q: the question whether to end the session is up."""
    from .conftest import student_at_desk

    await student_at_desk(app, pilot, someone)
    await pilot.press("ctrl+q")
    await pilot.pause()
    assert isinstance(app.screen, ConfirmDialog)


def test_ctrl_q_asks_in_the_middle_of_a_student(data_dir):
    from .conftest import desk_app, person

    someone = person(5)

    async def run():
        app = desk_app(data_dir, {someone.id_number: []})
        async with app.run_test(size=(120, 40)) as pilot:
            await quit_asked(app, pilot, someone)
            await pilot.press("n")                       # go on with the student
            await pilot.pause()
            assert isinstance(app.screen, DeskScreen) and app.is_running
            await pilot.press("ctrl+q")
            await pilot.pause()
            await pilot.press("y")
            await pilot.pause()
        assert app.return_code == 0

    asyncio.run(run())


def test_switching_screens_while_live_view_runs_logs_no_error(tmp_path, caplog):
    setup = demo.prepare(tmp_path / "data", people=2)
    app = make_app(setup.data_dir, camera="sim", reader="sim", demo=True,
                   demo_people=setup.eligible[:1], clock=demo.demo_clock(),
                   login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                   camera_opts={"source": ScriptedSource(), "fps": 15,
                                "capture_size": (720, 960), "preview_size": (360, 480)})

    async def run():
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            await tap_and_pay(pilot, "")
            await until(pilot, lambda: desk(app).frames_shown > 2, what="live frames")
            for _ in range(4):
                for key in ("f2", "f4", "escape", "f1", "escape"):
                    await pilot.press(key)
                    await pilot.pause(0.05)
            shown = desk(app).frames_shown
            await until(pilot, lambda: desk(app).frames_shown > shown, what="frames go on")

    with caplog.at_level(logging.WARNING):
        asyncio.run(run())
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert problems == [], [r.getMessage() for r in problems]


def test_the_tap_key_is_offered_where_it_works_and_help_agrees(tmp_path, data_dir):
    """A sim reader outside the demo takes test cards (t); a desk without a reader does not
    offer t, and F1 says how cards reach it."""
    from station.i18n import t

    from .screen import screen_lines

    setup = demo.prepare(tmp_path / "demo", people=2)

    async def run(app, tap: bool):
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            await pilot.pause(0.3)
            shown = "\n".join(screen_lines(app))
            assert (t("tui.key.tap") in shown) is tap
            await pilot.press("f1")
            await pilot.pause()
            helped = "\n".join(screen_lines(app))
            assert (t("tui.key.tap") in helped) is tap
            assert t("tui.help.cards_test" if tap else "tui.help.cards_typed")[:10] in helped
            if tap:
                await pilot.press("escape", "t")
                await until(pilot, lambda: desk(app).state == "identified", what="a test card")

    asyncio.run(run(make_app(setup.data_dir, camera=None, reader="sim", clock=demo.demo_clock(),
                             login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN)), True))
    asyncio.run(run(make_app(data_dir, camera=None, reader=None, live=False,
                             login=(PHOTOGRAPHER, PHO_PIN)), False))


def test_help_lists_the_keys_of_this_stations_mode(data_dir):
    """F1 on a card-mode desk lists no 采集码 keys (k, v); in code mode it lists both."""
    from station.i18n import t
    from station.sim.demo import write_mode

    from .screen import screen_lines

    code_keys = (t("tui.key.code"), t("tui.key.code_camera"))

    async def helped(app) -> str:
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            await pilot.press("f1")
            await pilot.pause()
            return "\n".join(screen_lines(app))

    card = asyncio.run(helped(plain_app(data_dir, (PHOTOGRAPHER, PHO_PIN))))
    assert t("tui.key.pay") in card
    assert not any(label in card for label in code_keys), card
    write_mode(data_dir, "code")
    code = asyncio.run(helped(plain_app(data_dir, (PHOTOGRAPHER, PHO_PIN))))
    assert all(label in code for label in code_keys), code


def test_quitting_while_a_store_call_hands_its_answer_to_the_ui_ends(data_dir):
    """A store call whose answer is on its way to the UI when the app closes: closing the store
    waits for that call, and the call waits for the UI (call_from_thread). Closing on the UI
    thread deadlocked (quit hung for good, and a failing TUI test hung until pytest's timeout)."""
    import threading

    from .conftest import desk_app

    answered: list = []
    go = threading.Event()

    async def run():
        app = desk_app(data_dir, {})
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            await pilot.pause()
            app.runner.call(lambda store: go.wait(60) and "answer", answered.append)
            close = app.runner.close

            def close_after_the_answer_is_sent() -> None:
                go.set()          # the call returns now and hands "answer" to the UI
                close()

            app.runner.close = close_after_the_answer_is_sent
        return app

    app = asyncio.run(run())
    assert app.runner.store is None and not app.runner.busy


def test_l_switches_every_word_on_screen_the_stage_and_help_too(data_dir):
    """After l nothing stays in the old language: the stage's 取景未开始 (live view off), and
    the help table opened before the switch."""
    from station.i18n import t

    from .screen import screen_lines

    def shown(app) -> str:
        return "\n".join(screen_lines(app))

    async def run():
        app = make_app(data_dir, camera=None, reader=None, live=False,
                       login=(PHOTOGRAPHER, PHO_PIN), lang="zh")
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            await pilot.pause()
            assert t("tui.live.off", "zh") in shown(app)
            await pilot.press("l")
            await pilot.pause()
            assert t("tui.live.off", "zh") not in shown(app)
            assert t("tui.live.off", "en") in shown(app)
            await pilot.press("f1")
            await pilot.pause()
            for lang in ("zh", "en"):       # English help, then l: Chinese help; l again
                before, after = ("en", "zh") if lang == "zh" else ("zh", "en")
                assert t("tui.key.capture", before) in shown(app)
                await pilot.press("l")
                await pilot.pause()
                text = shown(app)
                assert t("tui.help.title", after) in text, text
                assert t("tui.key.capture", after) in text
                assert t("tui.key.capture", before) not in text, before

    asyncio.run(run())


def test_ctrl_p_opens_no_english_command_palette(data_dir):
    """Ctrl+P opened Textual's command palette: English words on the Chinese desk, a Quit that
    ends the station at once in the middle of a student (no question, as Ctrl+Q asks), and a
    Screenshot that writes the screen, the student's name on it, to a file. The station has
    no palette: every action is a key of its own."""
    from textual.command import CommandPalette

    from .conftest import desk_app, person, student_at_desk

    someone = person(5)

    async def run():
        app = desk_app(data_dir, {someone.id_number: []})
        async with app.run_test(size=(120, 40)) as pilot:
            await student_at_desk(app, pilot, someone)
            await pilot.press("ctrl+p")
            await pilot.pause(0.3)
            assert not isinstance(app.screen, CommandPalette)
            assert isinstance(app.screen, DeskScreen)
            await pilot.press(*"quit", "enter")
            await pilot.pause(0.3)
            assert app.is_running

    asyncio.run(run())


def test_the_quit_question_names_the_student_masked_as_forms_do(data_dir):
    """Ctrl+Q mid-student asked '李明5 还没有完成…' with the whole name, in large type in the
    middle of the screen; every form names its student masked (李*5)."""
    from station.privacy import mask_name

    from .conftest import desk_app, person

    someone = person(5)

    async def run():
        app = desk_app(data_dir, {someone.id_number: []})
        async with app.run_test(size=(120, 40)) as pilot:
            await quit_asked(app, pilot, someone)
            question = app.screen.question
            assert mask_name(someone.name) in question and someone.name not in question

    asyncio.run(run())


def test_ctrl_c_says_how_to_quit_and_still_copies_in_a_field(data_dir):
    """Ctrl+C on the desk did nothing and said nothing (Textual's copy took it, and its own
    "how to quit" hint looks for an app.quit binding the station does not have): it now says
    按 Ctrl+Q 退出 (Press Ctrl+Q to quit in English), and the desk goes on. In a form's field
    with text selected, Ctrl+C still copies it and says nothing."""
    from textual.widgets import Input

    from station import i18n
    from station.tui.screens.dialogs import PayDialog

    from .conftest import desk_app, person

    someone = person(5)

    async def run():
        app = desk_app(data_dir, {someone.id_number: []})
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            await pilot.pause()
            await pilot.press("ctrl+c")
            await pilot.pause()
            assert app.is_running and isinstance(app.screen, DeskScreen)
            words = [str(n.message) for n in app._notifications]
            assert words and "Ctrl+Q" in words[-1] and "退出" in words[-1], words
            app.clear_notifications()
            await pilot.press("l")                       # English
            await pilot.pause()
            await pilot.press("ctrl+c")
            await pilot.pause()
            words = [str(n.message) for n in app._notifications]
            assert words and "Press Ctrl+Q to quit" in words[-1], words
            await pilot.press("l")
            await pilot.pause()
            app.clear_notifications()
            app.runner.step(lambda s: s.identify(someone))
            await app.settle()
            await pilot.pause()
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, PayDialog), what="pay dialog")
            await pilot.press(*"4200123", "shift+home")  # the reference, selected
            field = app.screen.query_one(Input)
            assert app.focused is field and field.selected_text == "4200123"
            await pilot.press("ctrl+c")
            await pilot.pause()
            assert app.clipboard == "4200123"
            assert not list(app._notifications)          # copied, not told to quit
            assert isinstance(app.screen, PayDialog) and field.value == "4200123"

    try:
        asyncio.run(run())
    finally:
        i18n.set_language("zh")
