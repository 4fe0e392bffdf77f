"""A scanner's burst is told from a person's keys (code mode): unit rules, then in the desk."""

from __future__ import annotations

from station.tui.burst import GAP, BurstGuard


def test_a_person_typing_gets_each_key():
    guard = BurstGuard()
    assert guard.printable("a", "a", 0.0) == "hold"
    assert guard.printable("r", "r", 0.5) == "release+hold"       # 500 ms later: a person
    assert guard.take_held() == ("r", "r")
    assert not guard.collecting


def test_a_fast_run_of_characters_is_one_burst():
    guard = BurstGuard()
    t = 0.0
    for ch in "ASK7Q2":
        verdict = guard.printable(ch.lower(), ch, t)
        t += GAP / 4
    assert verdict == "burst" and guard.held is None
    assert guard.end_burst() == "ASK7Q2"


def test_two_quick_keys_are_not_a_code():
    guard = BurstGuard()
    guard.printable("a", "a", 0.0)
    guard.printable("a", "a", 0.01)
    assert guard.end_burst() is None


def test_in_code_mode_a_burst_is_a_code_and_a_slow_key_still_works(data_dir):
    """"ASK7Q2\\t" typed by a scanner while the desk has the focus: no accept, no skip — the
    code field gets it. A person's "p" a moment later opens the payment form as always."""
    import asyncio

    from textual import events

    from station.sim.demo import write_mode
    from station.tui.screens.dialogs import PayDialog
    from station.tui.widgets.code_field import CodeField

    from .conftest import desk_app, person, student_at_desk

    someone = person(9)
    write_mode(data_dir, "code")        # the station's setting, as `station demo --mode code` does

    async def run():
        app = desk_app(data_dir, {someone.id_number: []})
        async with app.run_test(size=(120, 40)) as pilot:
            await student_at_desk(app, pilot, someone)
            desk = app.get_screen("desk")
            assert desk.query_one(CodeField).display
            for ch in "ASK7Q2":                     # one read from the terminal: queued at once
                app.post_message(events.Key(ch.lower() if ch.isalpha() else ch, ch))
            app.post_message(events.Key("tab", "\t"))
            await pilot.pause(0.5)
            await app.settle()
            assert desk.state == "identified" and not isinstance(app.screen, PayDialog)
            assert app.runner.service.person.capture_code == "ASK7Q2"   # the service took it
            await pilot.press("k")                  # typed by hand into the field
            await pilot.press(*"MANUAL9", "enter")
            await pilot.pause(0.3)
            await app.settle()
            assert app.runner.service.person.capture_code == "MANUAL9"
            assert app.focused is None              # the desk's keys work again
            await pilot.press("p")
            await pilot.pause(0.3)
            assert isinstance(app.screen, PayDialog)
            await pilot.press(*"4200000000000009", "enter")     # paid: the form closes
            await pilot.pause(0.3)
            await app.settle()
            assert app.screen is desk and app.focused is None   # a closed form focuses nothing

    asyncio.run(run())


def test_a_bad_code_at_the_desk_names_the_scan_field_once_in_the_readers_words(data_dir):
    """A code of the wrong form typed at the desk: the notice says which input was wrong in
    plain words ("扫码框：…"), never the internal "capture_code, 字段 capture_code", and the desk
    keeps the student (a good scan after it is taken)."""
    import asyncio

    from station.sim.demo import write_mode
    from station.tui.widgets.notice import Notice

    from .conftest import desk_app, person, student_at_desk

    someone = person(8)
    write_mode(data_dir, "code")

    async def run():
        app = desk_app(data_dir, {someone.id_number: []})
        async with app.run_test(size=(120, 40)) as pilot:
            await student_at_desk(app, pilot, someone)
            desk = app.get_screen("desk")
            await pilot.press("k")
            await pilot.press(*"a/b", "enter")
            await pilot.pause(0.3)
            await app.settle()
            zh, en = desk.query_one(Notice).words
            assert zh.startswith("扫码框：图像采集码格式不对"), zh
            assert en.startswith("Scan field: "), en
            for words in (zh, en):
                assert "capture_code" not in words and "字段" not in words and "field field" not in words
            assert desk.state == "identified" and app.runner.service.person.capture_code is None
            await pilot.press("k")
            await pilot.press(*"GOOD7Q2", "enter")
            await pilot.pause(0.3)
            await app.settle()
            assert app.runner.service.person.capture_code == "GOOD7Q2"

    asyncio.run(run())
