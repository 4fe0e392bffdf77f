"""Review (F3) finds a person outside its queue — by student number, 图像采集码 or the ID
number's last digits — and judges their captures in the same flow; a search that finds nobody,
several people with captures or nobody with a capture says so. On the sim desk: a supervisor photographs a student (an
accepted photo that passed its checks is in no queue), then looks them up. A Friday walk-in of
another school is found on that school's roster too, its school code beside them. No full ID
number is ever on the screen."""

from __future__ import annotations

import asyncio
import collections

from station.sim import demo
from station.tui.screens.review import ReviewScreen

from .conftest import TECH_PIN, TECHNICIAN, WALK_IN_SCHOOL, accept_walk_ins, desk_app, person
from .screen import screen_lines
from .test_tui_picture import sim_desk
from .test_tui_sessions import capture, connected, desk, tap_and_pay, until


def shown(app) -> str:
    return "".join(line.strip() for line in screen_lines(app)).replace(" ", "")


def test_review_finds_a_person_outside_the_queue_and_overrides_their_photo(tmp_path):
    from station.store import open_store

    app = sim_desk(tmp_path, "halfblock")
    app.options.login = (demo.DEMO_SUPERVISOR, demo.DEMO_SUPERVISOR_PIN)
    student = app.options.demo_people[0]
    with open_store(app.options.data_dir) as store:
        roster = {r["id_number"]: r["student_no"] for r in store.conn.execute(
            "SELECT id_number, student_no FROM roster_current")}
        tails = collections.defaultdict(list)
        for number in roster:
            tails[number[-4:]].append(number)
        mine = student.id_number[-4:]
        shared, unphotographed = [t for t, ns in tails.items() if len(ns) > 1 and t != mine][:2]
        with store.transaction():                  # photographed earlier, both of them
            image = store.images.put(b"an earlier photo")
            for number in tails[shared]:
                store.facts.record_capture(number, image, source_name="earlier.jpg")
    assert sum(n.endswith(student.id_number[-6:]) for n in roster) == 1
    nobody_yet = next(n for n in roster if n != student.id_number
                      and n[-4:] not in (shared, mine))      # on the roster, no photo
    full_numbers = set(roster)

    def no_full_number(screen: str) -> None:
        assert not any(number in screen for number in full_numbers), "a full ID number shown"

    async def search(pilot, query: str) -> str:
        await pilot.press("slash")
        await until(pilot, lambda: type(app.screen).__name__ == "SearchDialog", what="the form")
        await pilot.press(*query, "enter")
        await app.settle()
        await pilot.pause()
        screen = shown(app)
        no_full_number(screen)
        return screen

    async def run() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await connected(pilot)
            await tap_and_pay(pilot, "4200001234567890")
            await capture(pilot)
            await pilot.press("a")
            await until(pilot, lambda: desk(app).state == "accepted", what="accepted")
            await pilot.press("f3")
            await until(pilot, lambda: isinstance(app.screen, ReviewScreen)
                        and app.screen.data is not None, what="the review queue")
            review = app.screen
            assert all(i.id_number != student.id_number for i in review.data.items)

            screen = await search(pilot, roster[student.id_number])      # the student number
            assert review.found is not None and review.found.id_number == student.id_number
            assert [i.reason for i in review.data.items] == ["no_review"]
            assert "查找结果" in screen and "无需复核" in screen and "通过" in screen
            assert student.id_number[-4:] in screen and "Esc返回复核队列" in screen
            await pilot.press("x", *"wrong person", "enter")          # judged as a queued one
            await app.settle()
            await pilot.pause()
            assert review.found is not None and review.data.items[0].decision == "reject"
            await pilot.press("escape")                                 # back to the queue
            await app.settle()
            await pilot.pause()
            assert app.screen is review and review.found is None

            for end in (student.id_number[-6:], mine):                 # the ID number's end
                screen = await search(pilot, end)      # (others ending so have no photo)
                assert review.found is not None and review.found.id_number == student.id_number
                await pilot.press("escape")
                await app.settle()

            screen = await search(pilot, "20990000001")
            assert review.found is None and "没有找到" in screen and "209****0001" in screen
            screen = await search(pilot, shared)
            assert review.found is None and f"对应{len(tails[shared])}位有照片的人" in screen
            assert "学号" in screen                                    # what to type instead
            screen = await search(pilot, unphotographed)
            assert review.found is None and "都还没有照片" in screen
            screen = await search(pilot, roster[nobody_yet])
            assert review.found is None and "还没有照片" in screen
            await pilot.press("escape")
            await app.settle()
            assert not isinstance(app.screen, ReviewScreen)             # Esc: the desk again

    asyncio.run(run())
    with open_store(app.options.data_dir) as store:
        decisions = [tuple(r) for r in store.conn.execute(
            "SELECT decision, reason, operator FROM acceptances ORDER BY hlc")]
    assert decisions[-1] == ("reject", "wrong person", demo.DEMO_SUPERVISOR)


def test_review_finds_a_walk_in_of_another_school_by_its_rosters_student_number(data_dir):
    """A 10674 student photographed at the station's Friday walk-in desk is on 10674's roster
    (imported with --school-code), not on the station's own: / with their student number finds
    them, named as that roster names them, with 10674 beside them."""
    walker = person(50, name="赵强")
    accept_walk_ins(data_dir, [walker], student_nos=["K2014050"])
    app = desk_app(data_dir, {}, login=(TECHNICIAN, TECH_PIN))

    async def run() -> None:
        async with app.run_test(size=(100, 24)) as pilot:
            await app.settle()
            await pilot.press("f3")
            await until(pilot, lambda: isinstance(app.screen, ReviewScreen)
                        and app.screen.data is not None, what="the review queue")
            review = app.screen
            await pilot.press("slash")
            await until(pilot, lambda: type(app.screen).__name__ == "SearchDialog", what="the form")
            await pilot.press(*"K2014050", "enter")
            await until(pilot, lambda: review.found is not None or review.refusal is not None,
                        what="the search's answer")
            await pilot.pause()
            assert review.refusal is None
            assert review.found.id_number == walker.id_number
            assert (review.found.student_no, review.found.school_code) == ("K2014050", WALK_IN_SCHOOL)
            screen = shown(app)
            assert f"学校代码{WALK_IN_SCHOOL}" in screen and "K2014050" in screen
            assert walker.id_number[-4:] in screen and walker.id_number not in screen
            assert walker.name not in screen                      # masked, as every name here

    asyncio.run(run())


def test_a_whole_id_number_typed_into_find_is_told_to_type_its_last_digits(data_dir):
    """The find form takes the ID number's last 4–6 characters, never the whole number; typing
    the whole number of a photographed person said "nobody found", as if they were not here."""
    from station.i18n import t
    from station.tui.screens.review import ReviewScreen as Review

    someone = person(40)
    accept_walk_ins(data_dir, [someone], student_nos=["S2017040"])

    async def run():
        app = desk_app(data_dir, {}, login=(TECHNICIAN, TECH_PIN), lang="zh")
        async with app.run_test(size=(80, 24)) as pilot:
            await app.settle()
            await pilot.press("f3")
            await app.settle()
            await pilot.pause()
            review = app.screen
            assert isinstance(review, Review)
            await pilot.press("slash")
            await pilot.pause(0.2)
            await pilot.press(*someone.id_number, "enter")
            await app.settle()
            await pilot.pause(0.2)
            assert review.refusal is not None and review.found is None
            assert review.refusal[0] == t("session.search_whole_id", "zh"), review.refusal
            assert someone.id_number not in shown(app)
            await pilot.press("slash")                     # its last six: found
            await pilot.pause(0.2)
            await pilot.press(*someone.id_number[-6:], "enter")
            await app.settle()
            await pilot.pause(0.2)
            assert review.found is not None and review.found.id_number == someone.id_number

    asyncio.run(run())
