"""The log-in form as a new operator uses it: Enter pressed on an empty field is not a try."""

from __future__ import annotations

import asyncio

from station.i18n import t
from station.store import lockout, open_store

from .conftest import PHO_PIN, PHOTOGRAPHER, desk_app, desk_shown
from .screen import screen_lines


def test_enter_on_an_empty_name_or_pin_is_not_a_failed_log_in(data_dir):
    """Enter on the empty name moved to the PIN and the name then typed went into the PIN field,
    hidden; Enter on an empty PIN (a double Enter after the name) was sent: each one a "PIN
    wrong" for 操作员“”, or one of the photographer's five tries gone. Now the empty field keeps
    the cursor and says what to type, and nothing is counted."""
    from station.tui.screens.login import LoginScreen

    async def run():
        app = desk_app(data_dir, {}, login=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await app.settle()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, LoginScreen)
            await pilot.press("enter")
            await app.settle()
            await pilot.pause()
            assert app.focused.id == "login-name"
            assert screen.query_one("#login-notice").message == t("tui.login.name_empty", "zh")
            await pilot.press(*PHOTOGRAPHER, "enter", "enter")
            await app.settle()
            await pilot.pause()
            assert app.focused.id == "login-pin"
            notice = screen.query_one("#login-notice").message
            assert notice == t("tui.form.pin_empty", "zh")
            assert notice in "\n".join(screen_lines(app))
            with open_store(data_dir, access="read", check=False) as store:
                assert lockout.read(store.conn, PHOTOGRAPHER).failures == 0
                assert lockout.read(store.conn, "").failures == 0
            await pilot.press(*PHO_PIN, "enter")
            await desk_shown(pilot)

    asyncio.run(run())


def test_a_wrong_pin_is_said_whole_on_a_small_terminal(data_dir):
    """At 80x24 the log-in box is 44 cells wide: the refusal wraps to a second line. The notice
    kept the one line it had before the words came, so the operator read "…PIN 错误（再错 4"
    and never how many tries are left before the lock-out."""
    async def run():
        app = desk_app(data_dir, {}, login=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await app.settle()
            await pilot.pause()
            await pilot.press(*PHOTOGRAPHER, "enter", *"0000", "enter")
            await app.settle()
            await pilot.pause(0.2)
            notice = app.screen.query_one("#login-notice").message
            assert "锁定" in notice
            shown = "".join(line.strip(" █▊▎") for line in screen_lines(app))
            assert notice.replace(" ", "") in shown.replace(" ", ""), shown

    asyncio.run(run())
