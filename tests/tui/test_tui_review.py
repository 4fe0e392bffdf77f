"""Review: what needs a second look, decisions with reasons, identity corrections with a trail,
merge conflicts in words decided by a supervisor, and the role gate (a photographer cannot open
it)."""

from __future__ import annotations

import asyncio

from station.tui.screens.desk import DeskScreen
from station.tui.screens.review import ReviewScreen

from .conftest import (
    PHO_PIN,
    PHOTOGRAPHER,
    SUP_PIN,
    SUPERVISOR,
    desk_app,
    person,
)

P = person(3)


def app_for(data_dir, login):
    return desk_app(data_dir, {P.id_number: []}, login=login)


async def blurry_capture(pilot, then) -> None:
    """P identified, paid and photographed blurry (failed checks); ``then(service)`` decides."""
    app = pilot.app
    await app.settle()

    def steps(service):
        service.identify(P)
        service.pay(None)
        service.capture(b"BLURRY")
        then(service)

    app.runner.step(steps)
    await app.settle()


async def open_review(pilot) -> object:
    """F3 pressed at the desk and the review screen drawn; the screen now on top."""
    await pilot.app.settle()
    await pilot.press("f3")
    await pilot.app.settle()
    await pilot.pause()
    return pilot.app.screen


async def overridden_capture(pilot):
    def override(service):
        sup = service.store.operators.authenticate(SUPERVISOR, SUP_PIN)
        service.accept(override_by=sup, reason="judged fine")

    await blurry_capture(pilot, override)
    await pilot.pause()


def test_review_correction_and_reject_leave_a_trail(data_dir):
    async def run():
        app = app_for(data_dir, (SUPERVISOR, SUP_PIN))
        async with app.run_test(size=(120, 40)) as pilot:
            await overridden_capture(pilot)
            review = await open_review(pilot)
            assert isinstance(review, ReviewScreen) and len(review.data) == 1
            assert review.data.items[0].reason == "override_reason"
            await pilot.press("e")
            await pilot.press(*"name", "enter", *"李明三", "enter", *"misprint", "enter")
            await app.settle()
            await pilot.pause()
            assert review.data.items[0].corrections[0]["new_value"] == "李明三"
            assert review.data.items[0].name == "李明三"
            await pilot.press("x")
            await pilot.press(*"glare", "enter")
            await app.settle()
            await pilot.pause()
            assert review.data.items == []            # decided: it leaves the queue

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


def merged_master(tmp_path):
    """st-a and st-b both accepted the same student (st-b read the name differently), merged at
    the master: two conflicts a supervisor must decide (issue 13.11)."""
    from station.store import open_store
    from station.sync.bundle import create_bundle
    from station.sync.merge import merge_bundle
    from tests.sync.conftest import enrol, idn, make_station

    make_station(tmp_path / "a", "st-a", [(idn(1), "张一"), (idn(2), "张二")], seed=1)
    make_station(tmp_path / "b", "st-b", [(idn(1), "张壹")], seed=2)
    make_station(tmp_path / "m", "master", [])
    enrol(tmp_path / "m", tmp_path / "a", tmp_path / "b")
    with open_store(tmp_path / "m") as master:
        for name in ("a", "b"):
            with open_store(tmp_path / name) as store:
                create_bundle(store, tmp_path / f"{name}.zip")
            merge_bundle(master, tmp_path / f"{name}.zip", operator="sup")
    return tmp_path / "m", idn(1)


def test_merge_conflicts_are_listed_in_words_and_a_supervisor_decides_them(tmp_path):
    from station.store import open_store
    from station.sync.conflicts import ConflictService
    from tests.sync.conftest import PIN

    master, id_number = merged_master(tmp_path)

    def on_screen(review) -> str:
        import io

        from rich.console import Console

        console = Console(width=120, record=True, file=io.StringIO())
        console.print(review.render_body(review.data))
        return console.export_text()

    async def run(login):
        app = app_for(master, login)
        async with app.run_test(size=(120, 40)) as pilot:
            review = await open_review(pilot)
            assert isinstance(review, ReviewScreen) and len(review.data.conflicts) == 2
            text = on_screen(review)
            assert "合并后需要主管决定：2 项" in text and "都有已通过的照片" in text
            assert "1) 保留工作站 st-a" in text and id_number not in text
            photo = next(i for i in review.data.conflicts if i.kind == "accepted_at_two_stations")
            while review.data.conflicts[review.cursor].id != photo.id:
                await pilot.press("down")
            keep_b = next(o for o in photo.options if o.station_id == "st-b")
            await pilot.press(keep_b.key)
            await pilot.press(*"darker", "enter")
            await app.settle()
            await pilot.pause()
            return review.data

    tech = asyncio.run(run(("tech", PIN)))
    assert len(tech.conflicts) == 2                   # a technician sees them, may not decide
    decided = asyncio.run(run(("sup", PIN)))
    assert [i.kind for i in decided.conflicts] == ["same_id_different_identity"]
    with open_store(master) as store:
        accepted = [c for c in store.facts.accepted_captures() if c["id_number"] == id_number]
        assert [c["station_id"] for c in accepted] == ["st-b"]    # the decision's effect
        assert len(ConflictService(store).items()) == 1


def test_a_refusal_in_review_is_said_in_review_not_on_the_desk(data_dir):
    """A technician may not accept a photo that failed its checks, nor correct a field that is
    not correctable: the refusal shows on the review screen, where the key was pressed; the
    desk below keeps no stale error for the next student."""
    from station.i18n import t
    from station.tui.widgets.notice import Notice

    from .conftest import TECH_PIN, TECHNICIAN
    from .screen import screen_lines

    async def failed_and_left(pilot):
        await blurry_capture(pilot, lambda service: service.skip())

    async def photographer():
        app = app_for(data_dir, (PHOTOGRAPHER, PHO_PIN))
        async with app.run_test(size=(120, 40)) as pilot:
            await failed_and_left(pilot)

    async def technician():
        app = app_for(data_dir, (TECHNICIAN, TECH_PIN))
        async with app.run_test(size=(120, 40)) as pilot:
            review = await open_review(pilot)
            assert isinstance(review, ReviewScreen) and len(review.data.items) == 1
            for keys in (["a", *"looks fine", "enter"],
                         ["e", *"shoe size", "enter", *"42", "enter", *"typo", "enter"]):
                await pilot.press(*keys)
                await app.settle()
                await pilot.pause()
                assert app.screen is review
                desk_notice = app.get_screen("desk").query_one(Notice).message
                assert desk_notice == "", f"said on the hidden desk: {desk_notice}"
                assert review.refusal is not None, keys
                said = review.refusal[0]
                shown = "".join(line.strip() for line in screen_lines(app))
                assert said.replace(" ", "") in shown.replace(" ", ""), (said, shown)
            assert review.data.items[0].decision is None       # still undecided
            await pilot.press("down")                          # the next key: said no more
            assert review.refusal is None
            await pilot.press("escape")
            await app.settle()
            await pilot.pause()
            assert t("auth.override_required", "zh", checks=t("checks.name.sharpness", "zh")) \
                not in "\n".join(screen_lines(app))           # nor on the desk

    asyncio.run(photographer())
    asyncio.run(technician())


def test_the_reason_form_says_what_it_decides_and_for_whom(data_dir):
    """A or X in review opened a form titled only 原因 above a field named 原因: nothing said
    whether Enter would accept or reject the photo, nor whose it was."""
    from station.i18n import t
    from station.privacy import mask_id, mask_name
    from station.tui.screens.dialogs import ReasonDialog

    from .screen import screen_lines

    async def run():
        app = app_for(data_dir, (SUPERVISOR, SUP_PIN))
        async with app.run_test(size=(120, 40)) as pilot:
            await overridden_capture(pilot)
            await open_review(pilot)
            for key, title in (("x", "tui.reason.reject"), ("a", "tui.reason.accept")):
                await pilot.press(key)
                await pilot.pause(0.2)
                assert isinstance(app.screen, ReasonDialog)
                shown = "\n".join(screen_lines(app))
                assert t(title, "zh") in shown, shown
                assert f"{mask_name(P.name)}（{mask_id(P.id_number)}）" in shown
                await pilot.press("escape")
                await pilot.pause(0.2)

    asyncio.run(run())


def test_arrow_keys_select_in_a_queue_longer_than_the_screen(data_dir):
    """At 80×24 a long queue (and the pictures under it) overflows the screen: ↓ scrolled the
    view and left the cursor on the first row, so x then rejected a photo the technician had
    not chosen. ↑↓ select, the selected row is scrolled into view, and x names it."""
    from station.privacy import mask_id, mask_name
    from station.tui.screens.dialogs import ReasonDialog

    from .conftest import TECH_PIN, TECHNICIAN, accept_at_desk
    from .screen import screen_lines

    people = [person(40 + i) for i in range(25)]
    accept_at_desk(data_dir, people, picture=b"BLURRY", overridden=True)

    async def run():
        app = desk_app(data_dir, {}, login=(TECHNICIAN, TECH_PIN))
        async with app.run_test(size=(80, 24)) as pilot:
            review = await open_review(pilot)
            assert isinstance(review, ReviewScreen) and len(review.data.items) == 25
            for _ in range(3):
                await pilot.press("down")
            await pilot.pause()
            assert review.cursor == 3
            for _ in range(30):
                await pilot.press("down")
            await pilot.pause(0.2)
            last = review.data.items[24]
            assert review.cursor == 24
            shown = "\n".join(screen_lines(app))
            assert mask_id(last.id_number) in shown, shown     # the selected row is in view
            await pilot.press("up")
            await pilot.pause()
            assert review.cursor == 23
            chosen = review.data.items[23]
            await pilot.press("x")
            await pilot.pause(0.2)
            assert isinstance(app.screen, ReasonDialog)
            shown = "\n".join(screen_lines(app))
            assert f"{mask_name(chosen.name)}（{mask_id(chosen.id_number)}）" in shown, shown
            await pilot.press("escape")
            await pilot.pause(0.2)
            for _ in range(30):
                await pilot.press("up")
            await pilot.pause(0.2)
            assert review.cursor == 0
            assert mask_id(review.data.items[0].id_number) in "\n".join(screen_lines(app))

    asyncio.run(run())


def test_choosing_a_conflict_option_names_it_before_the_reason(tmp_path):
    """A number key on a merge conflict opened a form titled only 原因: nothing said which option
    Enter would decide (a decision rejects one station's photo). The form names the option."""
    from station.i18n import t
    from station.tui.screens.dialogs import ReasonDialog

    from .screen import screen_lines

    master, _id_number = merged_master(tmp_path)
    from tests.sync.conftest import PIN

    async def run(lang):
        app = desk_app(master, {}, login=("sup", PIN), lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            review = await open_review(pilot)
            assert isinstance(review, ReviewScreen) and review.data.conflicts
            item = review.data.conflicts[0]
            option = item.options[-1]
            await pilot.press(option.key)
            await pilot.pause(0.2)
            assert isinstance(app.screen, ReasonDialog)
            shown = "".join(line.strip().strip("█").strip()      # the form's lines, wrapped
                            for line in screen_lines(app)).replace(" ", "")
            words = t("tui.reason.decide", lang, choice=f"{option.key}) {option.text(lang)}")
            assert words.replace(" ", "")[:40] in shown, shown
            assert option.text(lang).replace(" ", "")[:20] in shown, shown
            await pilot.press("escape")
            await pilot.pause(0.2)
            assert app.screen is review

    asyncio.run(run("zh"))
    asyncio.run(run("en"))


def test_an_id_number_correction_is_shown_masked_in_the_trail(data_dir):
    """The review screen never shows a whole ID number (README: F3), yet a supervisor's
    correction of one (e, field id_number) listed the old and new numbers in full in the trail."""
    from station.privacy import mask_id

    from .screen import screen_lines

    new_number = person(99).id_number

    async def run():
        app = app_for(data_dir, (SUPERVISOR, SUP_PIN))
        async with app.run_test(size=(120, 40)) as pilot:
            await overridden_capture(pilot)
            review = await open_review(pilot)
            assert isinstance(review, ReviewScreen) and len(review.data.items) == 1
            await pilot.press("e")
            await pilot.press(*"id_number", "enter", *new_number, "enter", *"misread", "enter")
            await app.settle()
            await pilot.pause(0.3)
            assert review.refusal is None, review.refusal
            corrections = [c for i in review.data.items for c in i.corrections]
            assert any(c["field"] == "id_number" for c in corrections), review.data.items
            shown = "\n".join(screen_lines(app))
            assert new_number not in shown and P.id_number not in shown, shown
            assert mask_id(new_number) in shown, shown

    asyncio.run(run())


def test_a_photo_key_on_a_merge_conflict_says_what_to_do(tmp_path):
    """With the cursor on a merge conflict, a, x and e (offered in the key bar) did nothing at
    all; they now say that they judge a photo and that the conflict is decided by its number."""
    from station.i18n import t

    from .screen import screen_lines

    master, _id_number = merged_master(tmp_path)
    from tests.sync.conftest import PIN

    async def run():
        app = desk_app(master, {}, login=("sup", PIN), lang="en")
        async with app.run_test(size=(120, 40)) as pilot:
            review = await open_review(pilot)
            assert isinstance(review, ReviewScreen) and review.data.conflicts
            assert review.cursor == 0
            for key in ("a", "x", "e"):
                await pilot.press(key)
                await pilot.pause(0.2)
                assert app.screen is review, key
                assert review.refusal == (t("tui.review.on_conflict", "zh"),
                                          t("tui.review.on_conflict", "en")), key
                assert t("tui.review.on_conflict", "en")[:30] in "\n".join(screen_lines(app))

    asyncio.run(run())


def test_a_technician_choosing_a_conflict_option_is_refused_before_the_reason_form(tmp_path):
    """Only supervisors decide merge conflicts (the options say so), yet a technician's number
    key opened the reason form and the refusal came only after the reason was typed."""
    from station.tui.screens.dialogs import ReasonDialog

    master, _id_number = merged_master(tmp_path)
    from tests.sync.conftest import PIN

    async def run():
        app = desk_app(master, {}, login=("tech", PIN), lang="zh")
        async with app.run_test(size=(80, 24)) as pilot:
            review = await open_review(pilot)
            assert isinstance(review, ReviewScreen) and review.data.conflicts
            await pilot.press(review.data.conflicts[0].options[0].key)
            await app.settle()
            await pilot.pause(0.2)
            assert not isinstance(app.screen, ReasonDialog)
            assert app.screen is review and review.refusal is not None
            assert "合并冲突" in review.refusal[0], review.refusal

    asyncio.run(run())
