"""The desk's prompts agree with the session, forms keep what was typed, a scanner's burst ends
with Tab, a double press accepts once, auto-capture says when it is on and counts down."""

from __future__ import annotations

import asyncio

from station.i18n import t
from station.store import open_store
from station.tui.screens.dialogs import ManualEntryDialog, PayDialog

from .conftest import (
    SUP_PIN,
    SUPERVISOR,
    desk_app,
    person,
)
from .conftest import (
    step as session_step,
)
from .screen import screen_lines

P, TYPED = person(4), person(6)


def app_for(data_dir, lang="zh", **kw):
    return desk_app(data_dir, {P.id_number: [], TYPED.id_number: []}, lang=lang, **kw)


async def settle(pilot):
    await pilot.app.settle()
    await pilot.pause()
    await pilot.pause(0.1)


async def step(pilot, fn):
    await session_step(pilot, fn, linger=0.1)


def desk(app):
    return app.get_screen("desk")


def text(app) -> str:
    return "\n".join(screen_lines(app))


async def pay_form_for_p(pilot) -> None:
    """P tapped and ``p`` pressed: the pay form is open."""
    await settle(pilot)
    await step(pilot, lambda s: s.identify(P))
    await pilot.press("p")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PayDialog)


async def failed_photo_for_p(pilot) -> None:
    """P tapped, paid and photographed blurred: the photo's checks fail."""
    await settle(pilot)
    await step(pilot, lambda s: s.identify(P))
    await step(pilot, lambda s: s.pay(None))
    await step(pilot, lambda s: s.capture(b"BLURRY"))


async def override_form_without_reason(pilot):
    """``o`` on the failed photo, the supervisor's name and PIN typed, Enter on the empty reason:
    the override form, still open."""
    from station.tui.screens.dialogs import SupervisorDialog

    await pilot.press("o")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, SupervisorDialog)
    await pilot.press(*SUPERVISOR, "enter", *SUP_PIN, "enter", "enter")
    await settle(pilot)
    return form


def test_scanner_burst_ending_in_tab_pays_with_the_reference(data_dir):
    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            await pay_form_for_p(pilot)
            await pilot.press(*"4200009876", "tab")      # a keyboard-wedge scanner's burst
            await settle(pilot)
            assert desk(app).state == "framing"
            assert t("tui.say.framing", "zh") in text(app)      # no fee prompt once paid

    asyncio.run(run())
    store = open_store(data_dir)
    try:
        assert store.person_state(P.id_number).payments[0]["reference"] == "4200009876"
    finally:
        store.close()


def test_manual_entry_keeps_the_form_on_a_bad_id_and_says_typed_ids_are_not_exported(data_dir):
    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("m")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, ManualEntryDialog)
            bad = TYPED.id_number[:-1] + ("0" if TYPED.id_number[-1] != "0" else "1")
            await pilot.press(*TYPED.name, "enter", *bad, "enter", *SUPERVISOR, "enter",
                              *SUP_PIN, "enter")
            await settle(pilot)
            assert app.screen is form                           # still open, nothing lost
            values = {i.id: i.value for i in form.query("Input")}
            assert values["man-name"] == TYPED.name and values["man-id"] == bad
            assert values["sup-name"] == SUPERVISOR and values["sup-pin"] == ""
            error = form.query_one("#form-error").message
            assert "校验位" in error and "id_number" not in error
            assert app.focused.id == "man-id"
            form.query_one("#man-id").value = TYPED.id_number
            form.query_one("#sup-pin").value = SUP_PIN
            form.query_one("#sup-pin").focus()
            await pilot.press("enter")
            await settle(pilot)
            assert desk(app).state == "identified" and desk(app).person.source == "manual"
            assert t("tui.source.not_exported", "zh") in text(app)
            await step(pilot, lambda s: s.pay(None))
            await step(pilot, lambda s: s.capture(b"GOOD"))
            assert t("tui.say.accept_typed", "zh") in text(app)

    asyncio.run(run())


def test_a_double_press_accepts_once_and_errors_clear_after_the_next_step(data_dir):
    async def run():
        app = app_for(data_dir, lang="en")
        async with app.run_test(size=(120, 40)) as pilot:
            await failed_photo_for_p(pilot)
            await pilot.press("a")                               # refused: a check fails
            await settle(pilot)
            notice = desk(app).query_one("#notice")
            assert notice.level == "error" and notice.message
            await pilot.press("l")                               # the refusal follows the language
            await settle(pilot)
            assert notice.message == notice.words[0] and notice.message[:8] in text(app)
            await pilot.press("l")
            await pilot.press("r")
            await settle(pilot)
            assert notice.message == ""                          # the old error is gone
            await step(pilot, lambda s: s.capture(b"GOOD"))
            await pilot.press("a", "a", "a")
            await settle(pilot)
            assert desk(app).state == "accepted"
            assert notice.level != "error", notice.message

    asyncio.run(run())
    store = open_store(data_dir)
    try:
        decisions = [r[0] for r in store.conn.execute("SELECT decision FROM acceptances")]
        assert decisions.count("accept") == 1
    finally:
        store.close()


def test_walk_in_prompts_ask_for_the_address_and_show_it_masked(data_dir):
    """The address typed for a walk-in is recorded whole; the panel, which the next student in
    the queue can read, shows only its beginning (it showed the whole address)."""
    async def run():
        app = app_for(data_dir, lang="en", walk_in="10673")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await step(pilot, lambda s: s.identify(P))
            assert t("tui.say.pay_walk_in", "en", yuan="30") in text(app)
            await step(pilot, lambda s: s.pay(None))
            await step(pilot, lambda s: s.capture(b"GOOD"))
            assert t("tui.say.accept_needs_address", "en") in text(app)
            await pilot.press("w")
            await pilot.press(*"Kunming 650091", "enter")
            await settle(pilot)
            screen = text(app)
            assert "Kunmin…" in screen and "650091" not in screen
            assert desk(app).person.mailing_address == "Kunming 650091"
            assert t("tui.say.accept", "en") in screen

    asyncio.run(run())


def test_auto_capture_shows_its_state_and_counts_down(data_dir):
    from station.tui.messages import LiveChecked
    from tests.tui.test_tui_snapshots import FakeLiveReport, LiveCheck

    async def run():
        app = app_for(data_dir, lang="zh", auto_capture_seconds=30)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await step(pilot, lambda s: s.identify(P))
            await step(pilot, lambda s: s.pay(None))
            assert t("tui.key.auto_on", "zh") in text(app)
            report = FakeLiveReport([LiveCheck("face_count", "pass")], ("", ""))
            desk(app).post_message(LiveChecked(report, 1))
            await pilot.pause(0.2)
            desk(app).post_message(LiveChecked(report, 2))
            await pilot.pause(0.2)
            words = desk(app).query_one("#instruction").words[0]
            assert words.startswith("保持不动") and "秒后自动拍摄" in words
            await pilot.press("g")
            await settle(pilot)
            assert t("tui.key.auto_off", "zh") in text(app)
            assert desk(app).state == "framing"                  # never fired

    asyncio.run(run())


def test_the_desk_freezes_the_start_up_heap_and_the_app_undoes_it(data_dir):
    """Full collections walked the whole heap while the live view ran (pauses of 230 ms): once
    the desk is up, start-up's objects are frozen and full passes are rarer; the app's end
    puts the collector back as it found it."""
    import gc

    from station.tui.app import GC_THRESHOLDS

    before = gc.get_threshold()
    seen = {}

    async def run():
        async with app_for(data_dir).run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.pause(0.2)
            seen["frozen"], seen["threshold"] = gc.get_freeze_count(), gc.get_threshold()

    asyncio.run(run())
    assert seen["frozen"] > 1000 and seen["threshold"] == GC_THRESHOLDS
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_each_accept_freezes_what_the_day_built_so_full_passes_stay_short(data_dir):
    """The half-block pictures' styles and strips piled up in the oldest generation (270,000
    objects after six students: full passes of 265–390 ms while framing). After an accept they
    are collected once and frozen; every REFREEZE_FULL_EVERY accepts the frozen ones are walked
    too (what died in a cycle since is freed)."""
    import gc

    from station.tui import app as app_module

    seen: dict[str, int] = {}

    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            for _ in range(100):         # the desk freezes start-up after its first refresh: on
                if app._gc_thresholds is not None:  # a busy machine later than any fixed pause
                    break
                await pilot.pause(0.05)
            assert app._gc_thresholds is not None, "the desk never froze its start-up"
            keep = [[object()] for _ in range(5000)]       # long-lived, made after start-up
            gc.collect(1)
            seen["tracked"] = _collected_by_gc(keep)      # in the collector's generations
            await step(pilot, lambda s: s.identify(P))
            await step(pilot, lambda s: s.pay(None))
            await step(pilot, lambda s: s.capture(b"GOOD"))
            await pilot.press("a")
            await settle(pilot)
            await pilot.pause(0.1)
            seen["frozen"] = not _collected_by_gc(keep)   # the accept froze them
            seen["old"] = len(gc.get_objects(2))
            app._refreezes = app_module.REFREEZE_FULL_EVERY - 1
            app.refreeze_heap()                              # the 20th: all walked, refrozen
            seen["full"] = gc.get_freeze_count()
            del keep

    asyncio.run(run())
    assert seen["tracked"] and seen["frozen"] and seen["old"] < 1000, seen
    assert seen["full"] > 1000 and gc.get_freeze_count() == 0


def _collected_by_gc(obj) -> bool:
    """Whether ``obj`` is in one of the collector's generations (frozen objects are not)."""
    import gc

    return any(o is obj for o in gc.get_objects())


def test_the_pay_form_names_its_student_and_a_card_read_meanwhile_voids_it(data_dir):
    """B's reference is scanned into the form opened for P; C's card is read before Enter: no
    payment is recorded for anyone, and the desk says why."""
    from station.privacy import mask_name

    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            await pay_form_for_p(pilot)
            assert mask_name(P.name) in text(app)            # whom the form is for
            await step(pilot, lambda s: s.identify(TYPED))   # the next card, form still open
            await pilot.press(*"4200001111", "enter")
            await settle(pilot)
            assert desk(app).person.identity.id_number == TYPED.id_number
            assert desk(app).state == "identified"           # the next student has not paid
            assert t("session.person_changed", "zh")[:8] in text(app)

    asyncio.run(run())
    store = open_store(data_dir)
    try:
        assert store.person_state(P.id_number).payments == []
        assert store.person_state(TYPED.id_number).payments == []
    finally:
        store.close()


def test_the_same_student_again_is_told_a_new_accept_replaces_the_photo(data_dir):
    """A student whose photo was accepted before taps again: every instruction says so, and at
    the capture that A replaces the accepted photo (S keeps it) — no supervisor needed."""
    from station.tui.widgets.notice import Notice

    again = person(9)

    async def run():
        app = desk_app(data_dir, {again.id_number: ["already_captured"]}, lang="en")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            done = t("tui.say.already_done", "en")
            await step(pilot, lambda s: s.identify(again))
            instruction = desk(app).query_one("#instruction")
            assert done in instruction.text and instruction.has_class("-warn")
            await step(pilot, lambda s: s.pay(None))
            assert done in instruction.text and instruction.has_class("-warn")
            assert desk(app).query_one(Notice).message == t("tui.say.already_notice", "en")
            await step(pilot, lambda s: s.capture(b"GOOD"))
            words = t("tui.say.already_accept", "en", done=done)
            assert instruction.text == words and instruction.has_class("-warn")
            assert words in text(app)
            await pilot.press("a")
            await settle(pilot)
            assert desk(app).state == "accepted"                 # no supervisor asked for

    asyncio.run(run())


def test_a_photographers_own_pin_in_the_override_form_is_told_it_is_not_a_supervisors(data_dir):
    """o with the photographer's own name and PIN: the form says the operator named is not a
    supervisor (not the circular "supervisor override needs a supervisor's approval")."""
    from station.tui.screens.dialogs import SupervisorDialog

    from .conftest import PHO_PIN, PHOTOGRAPHER

    blocked = person(8)

    async def run():
        app = desk_app(data_dir, {blocked.id_number: ["not_eligible"]}, lang="zh")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await step(pilot, lambda s: s.identify(blocked))
            await pilot.press("o")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, SupervisorDialog)
            await pilot.press(*PHOTOGRAPHER, "enter", *PHO_PIN, "enter", *"想通过", "enter")
            await settle(pilot)
            assert app.screen is form
            error = form.query_one("#form-error").message
            assert "不是主管" in error and "需要主管批准" not in error, error
            shown = "".join(line.strip(" █▌▐") for line in text(app).splitlines())
            assert error.replace(" ", "") in shown.replace(" ", ""), shown

    asyncio.run(run())


def test_a_key_pressed_too_early_says_what_is_needed_first(data_dir):
    """Space before the fee, A or R while framing, Space on a photo not yet decided: a short
    notice says which step comes first, and nothing else happens."""
    from station.tui.widgets.notice import Notice

    async def run():
        app = app_for(data_dir, lang="en")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            notice = desk(app).query_one(Notice)
            for key, first in (("space", "tui.first.card"), ("a", "tui.first.card")):
                await pilot.press(key)
                await settle(pilot)
                assert notice.message == t(first, "en"), key
            await step(pilot, lambda s: s.identify(P))
            await pilot.press("space")
            await settle(pilot)
            assert desk(app).state == "identified"
            assert notice.message == t("tui.first.pay", "en") and notice.level == "warn"
            assert notice.message in text(app)
            await step(pilot, lambda s: s.pay(None))
            for key in ("a", "r"):
                await pilot.press(key)
                await settle(pilot)
                assert desk(app).state == "framing"
                assert notice.message == t("tui.first.capture", "en"), key
            await step(pilot, lambda s: s.capture(b"GOOD"))
            await pilot.press("space")
            await settle(pilot)
            assert desk(app).state == "captured"
            assert notice.message == t("tui.first.decide", "en")

    asyncio.run(run())


def test_a_supervisors_override_of_failed_checks_needs_a_reason_and_is_audited(data_dir):
    """O on a failed photo, the supervisor's name and PIN, Enter on an empty reason: the form
    stays open at the reason (the CLI's --force needs --reason too); with a reason the photo is
    accepted, audited under the supervisor's name with the failed checks and the reason."""

    async def run():
        app = app_for(data_dir, lang="zh")
        async with app.run_test(size=(120, 40)) as pilot:
            await failed_photo_for_p(pilot)
            form = await override_form_without_reason(pilot)
            assert app.screen is form and desk(app).state == "captured"
            assert "理由" in form.query_one("#form-error").message
            assert app.focused.id == "sup-reason"
            form.query_one("#sup-pin").value = SUP_PIN
            await pilot.press(*"学生眼镜反光已复核", "enter")
            await settle(pilot)
            assert desk(app).state == "accepted"

    asyncio.run(run())
    store = open_store(data_dir)
    try:
        rows = [dict(r) for r in store.conn.execute(
            "SELECT operator, details FROM audit WHERE action = 'session.override_accept'")]
        assert len(rows) == 1 and rows[0]["operator"] == SUPERVISOR
        assert "学生眼镜反光已复核" in rows[0]["details"] and "sharpness" in rows[0]["details"]
    finally:
        store.close()


def test_a_transaction_number_that_paid_another_students_fee_is_refused(data_dir):
    """Busy day: the scanner reads the last student's phone again (or a shared screenshot):
    the same WeChat transaction number for the next student is refused, naming whose fee it
    paid (masked), and nothing is recorded; the student's own number then pays."""
    from station.privacy import mask_id

    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            await pay_form_for_p(pilot)
            await pilot.press(*"4200009876", "enter")
            await settle(pilot)
            assert desk(app).state == "framing"
            await step(pilot, lambda s: s.skip())
            await step(pilot, lambda s: s.identify(TYPED))
            await pilot.press("p")
            await settle(pilot)
            await pilot.press(*"4200009876", "enter")
            await settle(pilot)
            assert desk(app).state == "identified"
            notice = desk(app).query_one("#notice")
            assert notice.level == "error" and "交易单号已用于" in notice.message
            assert mask_id(P.id_number) in notice.message and P.id_number not in text(app)
            await pilot.press("p")
            await settle(pilot)
            await pilot.press(*"4200001111", "enter")
            await settle(pilot)
            assert desk(app).state == "framing"

    asyncio.run(run())
    store = open_store(data_dir)
    try:
        assert [p["reference"] for p in store.person_state(TYPED.id_number).payments] == [
            "4200001111"]
    finally:
        store.close()


def test_a_camera_lost_between_students_says_to_wait_for_it_and_s_records_nothing(data_dir):
    """The camera goes while nobody is at the desk: the desk stops (failsafe) and refuses every
    card, so it must not ask for one (it said 请刷身份证 on the panel and the instruction), and S,
    with nobody to skip, is neither offered nor recorded (each press was a skip of nobody)."""
    from station.tui.widgets.notice import Notice

    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await step(pilot, lambda s: s.device_error("camera", "camera.down"))
            assert desk(app).state == "failsafe" and desk(app).person is None
            shown = text(app)
            assert t("tui.say.failsafe", "zh") in shown
            assert t("tui.say.tap_card", "zh") not in shown, shown
            assert t("tui.key.skip", "zh") not in shown
            await pilot.press("s", "s")
            await settle(pilot)
            assert desk(app).query_one(Notice).message == t("tui.say.failsafe", "zh")
            assert app.runner.service.counters.skipped == 0

    asyncio.run(run())
    store = open_store(data_dir)
    try:
        events = [r[0] for r in store.conn.execute("SELECT event FROM session_events")]
        assert "skip" not in events, events
    finally:
        store.close()



def test_enter_on_the_reason_after_a_missing_reason_asks_for_the_pin_not_a_wrong_pin(data_dir):
    """O on a failed photo, name, PIN, Enter on an empty reason: the refusal empties the PIN
    (it is never kept). The reason typed and Enter then sent the form with no PIN: "PIN wrong",
    one of the supervisor's five tries gone. Now Enter goes to the empty PIN field first."""
    from station.store import lockout

    async def run():
        app = app_for(data_dir, lang="zh")
        async with app.run_test(size=(120, 40)) as pilot:
            await failed_photo_for_p(pilot)
            form = await override_form_without_reason(pilot)
            assert app.focused.id == "sup-reason"
            await pilot.press(*"学生眼镜反光已复核", "enter")
            await settle(pilot)
            assert app.screen is form and app.focused.id == "sup-pin"
            assert form.query_one("#form-error").message == t("tui.form.pin_empty", "zh")
            with open_store(data_dir, access="read", check=False) as store:
                assert lockout.read(store.conn, SUPERVISOR).failures == 0
            await pilot.press(*SUP_PIN, "enter")
            await settle(pilot)
            assert desk(app).state == "accepted"

    asyncio.run(run())


def test_o_is_offered_only_when_there_is_something_to_override(data_dir):
    """A passing photo, or a student the roster lets sit: the key bar offered o 主管批准 and o
    opened the approval form, which recorded a supervisor override of nothing (the passing photo
    went out marked as approved over failed checks). Now o says what to press instead."""
    from station.tui.screens.dialogs import SupervisorDialog
    from station.tui.widgets.keybar import KeyBar
    from station.tui.widgets.notice import Notice

    def keys(app) -> list[str]:
        return [key for key, _label in desk(app).query_one(KeyBar).keys]

    async def run():
        app = app_for(data_dir, lang="zh")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await step(pilot, lambda s: s.identify(P))
            assert "o" not in keys(app)
            await pilot.press("o")
            await settle(pilot)
            assert not isinstance(app.screen, SupervisorDialog)
            assert desk(app).query_one(Notice).message == t("tui.first.pay", "zh")
            await step(pilot, lambda s: s.pay(None))
            await step(pilot, lambda s: s.capture(b"GOOD"))
            assert "o" not in keys(app) and "a" in keys(app)
            await pilot.press("o")
            await settle(pilot)
            assert not isinstance(app.screen, SupervisorDialog)
            assert desk(app).query_one(Notice).message == t("tui.say.accept", "zh")
            await pilot.press("r")
            await step(pilot, lambda s: s.capture(b"BLURRY"))
            assert "o" in keys(app)                       # failed checks: o is the way on
            await pilot.press("o")
            await settle(pilot)
            assert isinstance(app.screen, SupervisorDialog)

    asyncio.run(run())
    store = open_store(data_dir)
    try:
        assert [r[0] for r in store.conn.execute(
            "SELECT action FROM audit WHERE action LIKE 'session.override%'")] == []
    finally:
        store.close()


def _notice_fits(app) -> tuple[bool, str]:
    """Whether the desk's notice has the lines its words need at its width."""
    from rich.text import Text

    from station.tui.widgets.notice import Notice

    notice = desk(app).query_one(Notice)
    width, height = notice.content_size
    options = app.console.options.update(width=max(width, 1), height=None)
    needed = len(app.console.render_lines(Text(notice.message), options, pad=False))
    return needed <= height, f"{notice.message!r} needs {needed} lines, has {height}"


def test_a_long_refusal_is_said_whole_at_80x24(data_dir):
    """At 80x24 the desk's notice had two fixed lines: the next card read while a photo waits
    said "李*4 的照片还在等待决定：先按 A" and never R, S or to tap again; in English the
    refused accept lost "must override". The notice now takes the lines its words need."""
    waiting = person(5)

    async def run(lang: str):
        app = desk_app(data_dir, {P.id_number: [], waiting.id_number: []}, lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await failed_photo_for_p(pilot)
            await pilot.press("a")                          # refused: a check fails
            await settle(pilot)
            fits, why = _notice_fits(app)
            assert fits, why
            app.runner.step(lambda s: s.identify(waiting))  # the next card, the photo waits
            await settle(pilot)
            assert desk(app).query_one("#notice").level == "error"
            fits, why = _notice_fits(app)
            assert fits, why
            shown = text(app)
            for label in (t("tui.label.name", lang), t("tui.label.fee", lang)):
                assert label in shown, label               # the panel keeps what matters

    asyncio.run(run("zh"))
    asyncio.run(run("en"))


def test_a_form_names_its_student_in_the_desks_language(data_dir):
    """In English the pay form read 'Student: 李*4（530***********0496）' with the Chinese
    full-width brackets; each language has its own."""
    from station.privacy import mask_id, mask_name

    async def run():
        app = app_for(data_dir, lang="en")
        async with app.run_test(size=(120, 40)) as pilot:
            await pay_form_for_p(pilot)
            shown = text(app)
            assert f"Student: {mask_name(P.name)} ({mask_id(P.id_number)})" in shown, shown
            assert "（" not in shown

    asyncio.run(run())


def test_a_double_p_does_not_put_a_p_in_the_transaction_number(data_dir):
    """P pressed twice (a busy desk, a bouncing key): the second P went into the pay form's
    field, the scanner typed after it, and the fee was recorded with 'p4200001234', a
    transaction number WeChat never issued (and the check for a number used twice misses it)."""
    async def run():
        app = app_for(data_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await step(pilot, lambda s: s.identify(P))
            await pilot.press("p", "p")
            await pilot.pause(0.1)
            assert isinstance(app.screen, PayDialog)
            await pilot.press(*"4200001234", "enter")
            await settle(pilot)
            assert desk(app).state == "framing"

    asyncio.run(run())
    store = open_store(data_dir)
    try:
        assert [p["reference"] for p in store.person_state(P.id_number).payments] == ["4200001234"]
    finally:
        store.close()


def test_enter_on_an_empty_address_keeps_the_form_and_says_it_is_needed(data_dir):
    """W, then Enter with nothing typed: the form closed and nothing was said, while the accept
    still needs the address."""
    from station.tui.screens.dialogs import AddressDialog

    async def run():
        app = app_for(data_dir, lang="zh", walk_in="10673")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await step(pilot, lambda s: s.identify(P))
            await pilot.press("w")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, AddressDialog)
            await pilot.pause(0.5)                  # past the double press of W
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is form
            assert form.query_one("#form-error").message == t("session.address_required", "zh")
            await pilot.press(*"云南省昆明市一二一大街", "enter")
            await settle(pilot)
            assert desk(app).person.mailing_address == "云南省昆明市一二一大街"

    asyncio.run(run())


class SlowCamera:
    """A camera whose shutter answers only when the test lets it (a DSLR's download)."""

    taps_cards = False
    camera_kind = "test"

    def __init__(self) -> None:
        import threading

        self.started = threading.Event()
        self.release = threading.Event()

    def capture(self, timeout: float):
        from types import SimpleNamespace

        self.started.set()
        self.release.wait(timeout)
        return SimpleNamespace(data=b"GOOD", file_name="shot.jpg", camera={})

    def operator_active(self) -> None:
        pass

    def latest_frame(self):
        return None

    def code_taken(self) -> None:
        pass


def test_a_photo_that_arrives_after_a_skip_is_not_put_on_the_next_student(data_dir):
    """Space, then S while the camera is still downloading, the next card and its fee: the
    photo taken of the first student arrived while the second was framed and was stored and
    judged as the second student's capture. It is dropped, and the desk says why."""
    from station.tui.widgets.notice import Notice

    camera = SlowCamera()
    second = person(5)

    async def run():
        app = desk_app(data_dir, {P.id_number: [], second.id_number: []}, devices=camera)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await step(pilot, lambda s: s.identify(P))
            await step(pilot, lambda s: s.pay(None))
            await pilot.press("space")
            await asyncio.to_thread(camera.started.wait, 5)
            await pilot.press("s")
            await settle(pilot)
            await step(pilot, lambda s: s.identify(second))
            await step(pilot, lambda s: s.pay(None))
            assert desk(app).state == "framing"
            camera.release.set()
            await settle(pilot)
            await pilot.pause(0.3)
            await settle(pilot)
            assert desk(app).state == "framing" and desk(app).person.capture is None
            assert desk(app).query_one(Notice).level == "error"

    asyncio.run(run())
    store = open_store(data_dir)
    try:
        assert store.conn.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 0
    finally:
        store.close()


def test_m_with_a_student_at_the_desk_says_to_finish_or_skip_them_first(data_dir):
    """M while a student is identified, framed or photographed did nothing at all: the next
    student's unreadable card is typed only once the desk is free, and M now says so."""
    from station.tui.screens.dialogs import ManualEntryDialog
    from station.tui.widgets.notice import Notice

    async def run():
        app = app_for(data_dir, lang="en")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await step(pilot, lambda s: s.identify(P))
            for then in (lambda s: None, lambda s: s.pay(None), lambda s: s.capture(b"GOOD")):
                await step(pilot, then)
                desk(app).query_one(Notice).clear()
                await pilot.press("m")
                await settle(pilot)
                assert not isinstance(app.screen, ManualEntryDialog)
                assert desk(app).query_one(Notice).message == t("tui.first.manual", "en")

    asyncio.run(run())
