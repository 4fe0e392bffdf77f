"""Review: what needs a second look, decisions with reasons, identity corrections with a trail,
and the role gate (a photographer cannot open it)."""

from __future__ import annotations

import asyncio

from station.tui.app import make_app
from station.tui.screens.desk import DeskScreen
from station.tui.screens.review import ReviewScreen

from .conftest import (
    FIXED_NOW,
    PHO_PIN,
    PHOTOGRAPHER,
    SUP_PIN,
    SUPERVISOR,
    PictureChecker,
    person,
    table_match,
)

P = person(3)


def app_for(data_dir, login):
    return make_app(data_dir, camera=None, reader=None, live=False, login=login,
                    clock=lambda: FIXED_NOW,
                    service_kwargs={"checker": PictureChecker(),
                                    "match": table_match({P.id_number: []})})


async def overridden_capture(pilot):
    app = pilot.app
    await app.settle()

    def steps(service):
        service.identify(P)
        service.pay(None)
        service.capture(b"BLURRY")
        sup = service.store.operators.authenticate(SUPERVISOR, SUP_PIN)
        service.accept(override_by=sup, reason="judged fine")

    app.runner.step(steps)
    await app.settle()
    await pilot.pause()


def test_review_correction_and_reject_leave_a_trail(data_dir):
    async def run():
        app = app_for(data_dir, (SUPERVISOR, SUP_PIN))
        async with app.run_test(size=(120, 40)) as pilot:
            await overridden_capture(pilot)
            await pilot.press("f3")
            await app.settle()
            await pilot.pause()
            review = app.screen
            assert isinstance(review, ReviewScreen) and len(review.data) == 1
            assert review.data[0].reason == "override_reason"
            await pilot.press("e")
            await pilot.press(*"name", "enter", *"李明三", "enter", *"misprint", "enter")
            await app.settle()
            await pilot.pause()
            assert review.data[0].corrections[0]["new_value"] == "李明三"
            assert review.data[0].name == "李明三"
            await pilot.press("x")
            await pilot.press(*"glare", "enter")
            await app.settle()
            await pilot.pause()
            assert review.data == []                  # decided: it leaves the queue

    asyncio.run(run())
    from station.store import open_store

    store = open_store(data_dir)
    try:
        corr = store.conn.execute("SELECT field, new_value, reason, operator FROM corrections"
                                  ).fetchall()
        assert [tuple(r) for r in corr] == [("name", "李明三", "misprint", SUPERVISOR)]
        decisions = [r[0] for r in store.conn.execute(
            "SELECT decision FROM acceptances ORDER BY hlc")]
        assert decisions == ["accept", "reject"]
        assert store.person_state(P.id_number).accepted_capture_id is None
    finally:
        store.close()


def test_photographer_cannot_open_review(data_dir):
    async def run():
        app = app_for(data_dir, (PHOTOGRAPHER, PHO_PIN))
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            await pilot.pause()
            await pilot.press("f3")
            await pilot.pause()
            assert isinstance(app.screen, DeskScreen)
            await pilot.press("f2")                   # the schedule is for everyone
            await app.settle()
            await pilot.pause()
            assert type(app.screen).__name__ == "ScheduleScreen"

    asyncio.run(run())
