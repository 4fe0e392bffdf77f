"""Exports screen: a batch is built in a worker with a progress bar, and `x` cancels it cleanly
(no batch folder, nothing recorded); `s` chooses the school a batch is built for (walk-ins of
another school go out in their own school's batch)."""

from __future__ import annotations

import asyncio

from station.tui.app import make_app
from station.tui.screens.exports import ExportsScreen

from .conftest import (
    FIXED_NOW,
    PHO_PIN,
    PHOTOGRAPHER,
    TECH_PIN,
    TECHNICIAN,
    WALK_IN_SCHOOL,
    PictureChecker,
    accept_at_desk,
    accept_walk_ins,
    person,
    table_match,
)
from .screen import screen_lines

PEOPLE = [person(10 + i) for i in range(6)]


def app_for(data_dir, lang="en"):
    return make_app(data_dir, camera=None, reader=None, live=False, lang=lang,
                    login=(TECHNICIAN, TECH_PIN), clock=lambda: FIXED_NOW,
                    service_kwargs={"checker": PictureChecker(),
                                    "match": table_match({p.id_number: [] for p in PEOPLE})})


def fill_store(data_dir):
    """Six accepted captures, taken through the desk's own service like a photographer would."""
    from station.store import open_store

    accept_at_desk(data_dir, PEOPLE)
    with open_store(data_dir) as store:
        assert len(store.facts.accepted_captures(exported=False)) == len(PEOPLE)


async def open_exports(pilot) -> ExportsScreen:
    await pilot.app.settle()
    await pilot.press("f5")
    await pilot.app.settle()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ExportsScreen)
    return screen


async def wait_until(pilot, cond, timeout=20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "timed out"
        await pilot.pause(0.02)


def batches(data_dir):
    out = data_dir / "exports"
    return sorted(p.name for p in out.iterdir() if p.is_dir()) if out.exists() else []


def exported(data_dir):
    from station.store import open_store

    store = open_store(data_dir)
    try:
        return len(store.facts.accepted_captures(exported=True))
    finally:
        store.close()


def test_build_shows_progress_to_total(data_dir, monkeypatch):
    monkeypatch.setenv("STATION__EXPORTS__THROTTLE_MS", "250")
    fill_store(data_dir)
    seen = []

    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_exports(pilot)
            bar = screen.query_one("#export-progress")
            assert not bar.display
            await pilot.press("b")

            def finished():
                keys = [k for k, _ in screen.query_one("#keys").keys]
                seen.append((screen.building, bar.display, keys[0]))
                return not screen.building

            await wait_until(pilot, finished)
            # while it ran, the bar was shown and the key bar offered x (cancel) instead of b
            assert (True, True, "x") in seen
            await pilot.app.settle()
            await pilot.pause()
            assert bar.total is not None and bar.progress == bar.total
            assert not screen.cancelled
            assert "Exported 6 photos" in screen.last[1]
            assert [k for k, _ in screen.query_one("#keys").keys][0] == "b"

    asyncio.run(run())
    assert len(batches(data_dir)) == 1 and not batches(data_dir)[0].startswith(".")
    photos = [p for p in (data_dir / "exports" / batches(data_dir)[0]).rglob("*.jpg")]
    assert len(photos) == len(PEOPLE)
    assert exported(data_dir) == len(PEOPLE)


def test_cancel_mid_build_leaves_nothing(data_dir, monkeypatch):
    monkeypatch.setenv("STATION__EXPORTS__THROTTLE_MS", "400")
    fill_store(data_dir)
    out = data_dir / "exports"

    async def run():
        app = app_for(data_dir, lang="zh")
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_exports(pilot)
            await pilot.press("b")
            # mid-build: the partial folder exists and holds at least one photo
            await wait_until(pilot, lambda: out.exists() and any(out.rglob(".*partial*/**/*.jpg")))
            await pilot.press("x")
            await wait_until(pilot, lambda: not screen.building)
            await pilot.app.settle()
            await pilot.pause()
            assert screen.cancelled
            assert screen.last[0] == "导出已取消，没有留下写了一半的批次。"
            assert "导出已取消" in pilot.app.export_screenshot()

    asyncio.run(run())
    assert batches(data_dir) == []
    assert list(out.iterdir()) == []
    assert exported(data_dir) == 0


def test_an_export_leaves_the_desks_store_thread_free(data_dir, monkeypatch):
    """While a batch is being written, the store thread (card reads, session steps) answers:
    the export runs in a thread of its own, on a store connection of its own."""
    import threading

    import station.export.service as export_service

    fill_store(data_dir)
    started, release = threading.Event(), threading.Event()
    seen: dict = {}
    real_build = export_service.build_batch

    def held_build(store, *args, **kwargs):
        seen["store"], seen["thread"] = store, threading.current_thread().name
        started.set()
        release.wait(30)
        return real_build(store, *args, **kwargs)

    monkeypatch.setattr(export_service, "build_batch", held_build)

    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_exports(pilot)
            await pilot.press("b")
            await wait_until(pilot, started.is_set)
            answered = []
            app.runner.call(lambda store: len(store.facts.accepted_captures(exported=False)),
                            answered.append)
            try:
                await wait_until(pilot, lambda: bool(answered), timeout=5.0)
            finally:
                release.set()
            assert answered == [len(PEOPLE)] and screen.building   # answered mid-export
            assert seen["store"] is not app.runner.store
            assert not seen["thread"].startswith("station-store")
            await wait_until(pilot, lambda: not screen.building)
            assert "Exported 6 photos" in screen.last[1]

    asyncio.run(run())
    assert exported(data_dir) == len(PEOPLE)


def test_a_walk_in_schools_batch_is_chosen_with_s_and_built_for_that_school(data_dir):
    """The Friday desk's day at the branch office: the station's own school and a walk-in school
    each have photos waiting. The screen counts them per school (home first); s chooses 10674,
    b builds 10674's batch (its walk-ins only, under its code), the home school's stay waiting."""
    import json

    fill_store(data_dir)
    accept_walk_ins(data_dir, [person(40), person(41)])

    def row(app, code):
        return next([cell for cell in line.split() if cell != "│"]
                    for line in screen_lines(app) if f" {code} " in line)

    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_exports(pilot)
            assert list(screen.data.items()) == [("10673", 6), (WALK_IN_SCHOOL, 2)]
            assert ("s", "tui.exports.school") in screen.query_one("#keys").keys
            assert screen.chosen_school() == "10673"           # the default: the home school
            assert row(app, "10673")[0] == "▶" and row(app, "10673")[-1] == "6"
            assert row(app, WALK_IN_SCHOOL)[-1] == "2"
            await pilot.press("s")
            assert screen.chosen_school() == WALK_IN_SCHOOL
            assert row(app, WALK_IN_SCHOOL)[0] == "▶"
            await pilot.press("b")
            await wait_until(pilot, lambda: not screen.building)
            await pilot.app.settle()
            await pilot.pause()
            assert f"Exported 2 photos of school {WALK_IN_SCHOOL}" in screen.last[1]
            assert list(screen.data.items()) == [("10673", 6)]
            assert row(app, WALK_IN_SCHOOL)[-1] == "0"         # still said whose batch it was
            await pilot.press("s")                             # and round again: home
            assert screen.chosen_school() == "10673"

    asyncio.run(run())
    [batch] = batches(data_dir)
    items = json.loads((data_dir / "exports" / batch / "manifest.json").read_text("utf-8"))["items"]
    assert sorted(i["id_number"] for i in items) == sorted(p.id_number for p in (person(40), person(41)))
    assert {i["school_code"] for i in items} == {WALK_IN_SCHOOL}
    assert exported(data_dir) == 2


def test_b_with_nothing_to_export_says_no_batch_was_written_and_the_bar_stops(data_dir):
    """b with no accepted photo waiting said "Exported 0 photos: —" and left the progress bar
    pulsing (--%) as if a batch were still being written; the CLI says no batch was written."""
    from station.i18n import both

    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_exports(pilot)
            await pilot.press("b")
            await wait_until(pilot, lambda: not screen.building)
            await pilot.app.settle()
            await pilot.pause()
            assert screen.last == both("exports.nothing")
            assert not screen.query_one("#export-progress").display
            await wait_until(pilot, lambda: "no batch" in "\n".join(screen_lines(app)))
            shown = "\n".join(screen_lines(app))
            assert "no batch was written" in shown and "--%" not in shown, shown

    asyncio.run(run())
    assert batches(data_dir) == []


def test_people_left_out_of_a_batch_are_said_as_the_cli_says_them(data_dir):
    """A batch that leaves people out (here a photo not yet accepted) said only "Exported 6
    photos"; `station export build` lists them with the reason. The screen says how many, each reason with its count, and where the list beside the batch is."""
    from station.i18n import t
    from station.session.service import CaptureService
    from station.store import open_store

    fill_store(data_dir)
    late = person(30)
    with open_store(data_dir) as store:
        op = store.operators.authenticate(PHOTOGRAPHER, PHO_PIN)
        service = CaptureService(store, op, checker=PictureChecker(), clock=lambda: FIXED_NOW,
                                 match=table_match({late.id_number: []}))
        service.identify(late)
        service.pay(None)
        service.capture(b"BLURRY")
        service.skip()

    async def run(lang):
        app = app_for(data_dir, lang=lang)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_exports(pilot)
            await pilot.press("b")
            await wait_until(pilot, lambda: not screen.building)
            # drawn once the counts are read again (store thread, then the UI): a loaded
            # machine may take a moment after the build's own message
            await wait_until(pilot, lambda: "not in this batch" in "\n".join(screen_lines(app)))
            return screen.last, "\n".join(screen_lines(app))

    (zh, en), shown = asyncio.run(run("en"))
    assert "Exported 6 photos" in en
    assert t("exports.not_in_batch", "en", count=1) in en
    assert f"{t('exports.skip.not_accepted', 'en')} (1)" in en
    assert t("exports.not_in_batch", "zh", count=1) in zh
    assert f"{t('exports.skip.not_accepted', 'zh')}（1）" in zh
    assert "not in this batch" in shown and "no accepted photo yet (1)" in shown, shown
    assert late.id_number not in en + zh


def test_leaving_a_running_export_asks_first_and_says_it_was_cancelled(data_dir, monkeypatch):
    """Esc while a batch was being written went back to the desk and cancelled the export
    without a word: the technician believed it went on, and no batch was written. Esc now asks
    (n stays, the export goes on); leaving by another screen's key says it was cancelled."""
    from station.i18n import t
    from station.tui.screens.dialogs import ConfirmDialog
    from station.tui.screens.schedule import ScheduleScreen

    monkeypatch.setenv("STATION__EXPORTS__THROTTLE_MS", "300")
    fill_store(data_dir)

    async def run():
        app = app_for(data_dir, lang="zh")
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_exports(pilot)
            await pilot.press("b")
            await wait_until(pilot, lambda: screen.building)
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert isinstance(app.screen, ConfirmDialog)
            shown = "\n".join(screen_lines(app))
            assert t("tui.exports.leave_confirm", "zh")[:10] in shown, shown
            assert t("tui.exports.leave_hint", "zh") in shown and "继续拍摄" not in shown, shown
            await pilot.press("n")
            await pilot.pause(0.1)
            assert app.screen is screen and screen.building          # still writing
            await wait_until(pilot, lambda: not screen.building)
            assert "已导出 6 张照片" in screen.last[0]

    asyncio.run(run())
    assert exported(data_dir) == len(PEOPLE)

    # more photos, a second export left by F2: the cancel is said, not silent
    accept_at_desk(data_dir, [person(60 + i) for i in range(4)])

    async def leave():
        app = app_for(data_dir, lang="zh")
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_exports(pilot)
            await pilot.press("b")
            await wait_until(pilot, lambda: screen.building)
            await pilot.press("f2")
            await pilot.app.settle()
            await pilot.pause(0.3)
            assert isinstance(app.screen, ScheduleScreen)
            words = [str(n.message) for n in app._notifications]
            assert t("tui.exports.left_cancelled", "zh") in words, words

    asyncio.run(leave())
    assert exported(data_dir) == len(PEOPLE)
