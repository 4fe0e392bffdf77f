"""What must stay on screen at 80×24 and 120×40, in Chinese and in English: after a tap the
name, masked ID, department, slot, roster verdict and fee; the prompt in full; a key for every
screen this operator may open and for the language switch; after a capture the photo filling the
centre. Read back from the rendered screen, as a person would read it."""

from __future__ import annotations

import asyncio

import pytest

from station.i18n import t
from station.privacy import mask_id
from station.tui.prompts import desk_prompt

from .conftest import (
    PHO_PIN,
    PHOTOGRAPHER,
    SUP_PIN,
    SUPERVISOR,
    desk_app,
    desk_shown,
    person,
)
from .conftest import (
    step as session_step,
)
from .screen import screen_lines

OK_PERSON, BLOCKED = person(1), person(2)
BLOCKED_TWICE = person(3)          # not eligible and in the wrong slot: two flag lines
SIZES = [(80, 24), (120, 40)]
LANGS = ["zh", "en"]


def app_for(data_dir, lang, login=(PHOTOGRAPHER, PHO_PIN)):
    return desk_app(data_dir, {OK_PERSON.id_number: [], BLOCKED.id_number: ["not_eligible"],
                               BLOCKED_TWICE.id_number: ["not_eligible", "wrong_slot"]},
                    lang=lang, login=login)


async def step(pilot, fn):
    await session_step(pilot, fn, linger=0.2)


async def paid(app, pilot) -> None:
    """The desk settled, OK_PERSON's card read and the fee paid: framing starts."""
    await app.settle()
    await step(pilot, lambda s: s.identify(OK_PERSON))
    await step(pilot, lambda s: s.pay(None))


def desk_of(app):
    return app.get_screen("desk")


def words_on(lines: list[str]) -> str:
    return "\n".join(lines)


def assert_identity_and_keys(app, lines: list[str], who, lang: str) -> None:
    text = words_on(lines)
    desk = desk_of(app)
    assert who.name in text
    assert mask_id(who.id_number) in text
    assert "物理与天文学院" in text                                 # department
    assert "2017-10-25" in text                                     # the slot
    for label in ("tui.label.flags", "tui.label.fee", "tui.label.slot",
                  "tui.label.department", "tui.label.name", "tui.label.id_number"):
        assert t(label, lang) in text, label
    prompt = desk_prompt(desk.state, desk.person, desk._facts(), desk._last_done)[0]
    sentence = prompt[0 if lang == "zh" else 1]
    assert squeezed(sentence) in squeezed(text), f"prompt cut: {sentence!r}"
    for key in ("F1", "F2", "F4"):
        assert f" {key} " in text, key
    assert t("tui.key.lang", lang) in text


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_after_a_tap_everything_that_matters_is_on_screen(data_dir, lang, size):
    async def run():
        app = app_for(data_dir, lang)
        async with app.run_test(size=size) as pilot:
            await app.settle()
            await step(pilot, lambda s: s.identify(OK_PERSON))
            lines = screen_lines(app)
            assert_identity_and_keys(app, lines, OK_PERSON, lang)
            assert t("tui.flag.ok", lang) in words_on(lines)
            assert t("tui.fee.unpaid_amount", lang, yuan="30") in words_on(lines)
            await step(pilot, lambda s: s.identify(BLOCKED))
            lines = screen_lines(app)
            assert_identity_and_keys(app, lines, BLOCKED, lang)
            assert t("tui.say.blocked", lang) in words_on(lines)

    asyncio.run(run())


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_after_a_capture_the_photo_fills_the_centre(data_dir, lang, size):
    async def run():
        app = app_for(data_dir, lang, login=(SUPERVISOR, SUP_PIN))
        async with app.run_test(size=size) as pilot:
            await paid(app, pilot)
            await step(pilot, lambda s: s.capture(b"BLURRY"))
            await pilot.pause(0.5)
            lines = screen_lines(app)
            assert_identity_and_keys(app, lines, OK_PERSON, lang)
            for key in ("F3", "F5"):                 # a supervisor may open every screen
                assert f" {key} " in words_on(lines)
            stage = desk_of(app).query_one("#stage")
            picture_rows = [line for line in lines if line.count("▀") >= 8]
            # the crop is 3:4; in half-block cells it is as tall as the stage allows
            assert len(picture_rows) >= stage.size.height - 4, (len(picture_rows), stage.size)
            assert t("checks.name.sharpness", lang) in words_on(lines)   # the failing check

    asyncio.run(run())


@pytest.mark.parametrize("lang", LANGS)
def test_a_retake_is_shown_beside_the_photo_before_it(data_dir, lang):
    async def run():
        app = app_for(data_dir, lang)
        async with app.run_test(size=(120, 40)) as pilot:
            await paid(app, pilot)
            await step(pilot, lambda s: s.capture(b"BLURRY"))
            first = desk_of(app).person.capture.capture_id
            await step(pilot, lambda s: s.retake())
            await step(pilot, lambda s: s.capture(b"GOOD"))
            await pilot.pause(0.5)
            shot = desk_of(app).query_one("#shot")
            assert shot.previous.capture_id == first and shot.current.passed
            text = words_on(screen_lines(app))
            assert t("tui.shot.previous", lang) in text and t("tui.shot.this", lang) in text
            assert t("tui.legend.eyes", lang) in text                  # the guides' legend

    asyncio.run(run())


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_a_refused_manual_entry_says_why_on_screen(data_dir, lang, size):
    """A bad check digit keeps the form open: the reason, the field it names and the Enter/Esc
    hint are all on screen, also when the form is taller than a 24-line terminal."""
    from station.tui.screens.dialogs import ManualEntryDialog

    async def run():
        app = app_for(data_dir, lang)
        async with app.run_test(size=size) as pilot:
            await app.settle()
            await pilot.press("m")
            await app.settle()
            await pilot.pause()
            form = app.screen
            assert isinstance(form, ManualEntryDialog)
            typed = person(7)
            bad = typed.id_number[:-1] + ("0" if typed.id_number[-1] != "0" else "1")
            await pilot.press(*typed.name, "enter", *bad, "enter", *SUPERVISOR, "enter",
                              *SUP_PIN, "enter")
            await app.settle()
            await pilot.pause(0.2)
            assert app.focused is not None and app.focused.id == "man-id"
            error = form.query_one("#form-error").message
            assert error
            text = words_on(screen_lines(app))
            assert error.split("（")[0].split(" (")[0] in text, error
            assert t("tui.form.hint", lang) in text
            assert bad in text                                # the field to correct, as typed

    asyncio.run(run())


def caption_fits(caption) -> bool:
    """Whether a caption's words, wrapped at its width, fit in its lines (nothing cut)."""
    from rich.console import Console

    width, height = caption.content_size
    console = Console(width=width, file=None, legacy_windows=False)
    return len(console.render_lines(caption.render(), console.options.update(width=width),
                                    pad=False)) <= height


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_code_mode_keeps_every_identity_line_and_the_code_field(data_dir, lang, size):
    """Code mode adds the 图像采集码 field under the identity panel: the panel still shows
    every flag and the fee, and the field's label is whole, before and after the scan."""
    from station.sim.demo import write_mode

    write_mode(data_dir, "code")

    async def run():
        app = app_for(data_dir, lang)
        async with app.run_test(size=size) as pilot:
            await app.settle()
            desk = await desk_shown(pilot)
            assert desk.code_mode
            for who, flags in ((BLOCKED_TWICE, ("not_eligible", "wrong_slot")),
                               (OK_PERSON, ("ok",))):
                await step(pilot, lambda s, who=who: s.identify(who))
                for code in (None, "QX7K2M9ABCDE"):
                    if code is not None:
                        await step(pilot, lambda s, code=code: s.set_capture_code(code))
                    lines = screen_lines(app)
                    assert_identity_and_keys(app, lines, who, lang)
                    text = words_on(lines)
                    assert t("tui.label.code", lang) in text
                    assert (("…" + code[-6:]) if code else t("tui.code.missing", lang)) in text
                    for flag in flags:
                        assert t(f"tui.flag.{flag}", lang) in text, flag
                    assert t("tui.fee.unpaid_amount", lang, yuan="30") in text
                    assert caption_fits(desk.query_one("#code-label")), "code label cut"
                await step(pilot, lambda s: s.skip())

    asyncio.run(run())


def panel_lines(app, selector: str = "IdentityPanel") -> list[str]:
    """A desk panel's lines as the terminal shows them (cut at its height)."""
    import io

    from rich.console import Console

    panel = desk_of(app).query_one(selector)
    width, height = panel.content_size
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(panel.render(), crop=True)
    return console.export_text().splitlines()[:height]


def squeezed(text: str) -> str:
    """Words without spaces and box lines: a sentence wrapped over lines reads as one."""
    import re

    return re.sub(r"[\s▊▎▔▁█▀▄│]", "", text)


class ClothingChecker:
    """A capture that fails one check only, with the real catalog's message and advice."""

    def check(self, data: bytes):
        from station.session.model import CheckLine

        zh, en = (t("checks.clothing_contrast.blue", lang, value=3.1) for lang in ("zh", "en"))
        lines = [CheckLine("face_count", "pass", 1, 1, "一张人脸", "one face"),
                 CheckLine("clothing_contrast", "fail", 3.1, 10, zh, en)]
        return False, lines, {"passed": False, "checks": [line.__dict__ for line in lines]}

    def crop(self, data: bytes) -> bytes:
        import cv2

        from .conftest import portrait

        return cv2.imencode(".jpg", portrait())[1].tobytes()


def reasoned_match(store, identity, now):
    """The roster's own sentence for a student who may not be photographed."""
    from station.session.model import MatchInfo

    if identity.id_number != BLOCKED.id_number:
        return MatchInfo(flags=[], department="物理与天文学院", degree="本科",
                         slot_label="2017-10-25 09:00–10:00 文汇楼一栋1403")
    zh, en = (t("match.not_eligible", lang, reason=t("roster.rule.part_time", lang))
              for lang in ("zh", "en"))
    return MatchInfo(flags=["not_eligible"], department="物理与天文学院", degree="本科",
                     slot_label="2017-10-25 09:00–10:00 文汇楼一栋1403",
                     details={"not_eligible": {"zh": zh, "en": en}})


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_what_to_do_about_a_failed_photo_and_why_a_student_may_not_sit(data_dir, lang, size):
    """The instruction says what the photographer does about the failed check (its advice), and
    the identity panel says why a student is not eligible — whole, not cut, at both sizes."""
    from station.tui.app import make_app

    from .conftest import FIXED_NOW

    async def run():
        app = make_app(data_dir, camera=None, reader=None, live=False, lang=lang,
                       login=(PHOTOGRAPHER, PHO_PIN), clock=lambda: FIXED_NOW,
                       service_kwargs={"checker": ClothingChecker(), "match": reasoned_match})
        async with app.run_test(size=size) as pilot:
            await app.settle()
            await step(pilot, lambda s: s.identify(BLOCKED))
            reason = t("match.not_eligible", lang, reason=t("roster.rule.part_time", lang))
            panel = squeezed("".join(panel_lines(app)))
            assert squeezed(reason) in panel, f"reason cut: {panel}"
            assert t("tui.fee.unpaid_amount", lang, yuan="30") in words_on(screen_lines(app))
            await step(pilot, lambda s: s.skip())
            await step(pilot, lambda s: s.identify(OK_PERSON))
            await step(pilot, lambda s: s.pay(None))
            await step(pilot, lambda s: s.capture(b"BLUE"))
            await pilot.pause(0.2)
            advice = t("checks.clothing_contrast.blue", lang, value=3.1).split(
                "：" if lang == "zh" else ": ", 1)[1]
            instruction = desk_of(app).query_one("#instruction").text
            assert advice in instruction and "R" in instruction
            assert squeezed(instruction) in squeezed(words_on(screen_lines(app))), "advice cut"
            message = t("checks.clothing_contrast.blue", lang, value=3.1)
            right = [line.rsplit("│", 1)[1] for line in screen_lines(app) if "│" in line]
            checks = squeezed("".join(right))          # the check list: right of the stage
            assert squeezed(message) in checks, f"check list cuts the advice: {checks}"

    asyncio.run(run())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_guides_legend_names_every_colour_it_shows_at_80x24(data_dir, lang):
    """At 80x24 the legend under the picture ran out of room: the face-width swatch was drawn
    with its name cut away ("━━ head top   ━━ eyes   ━━"), a colour nobody could read. It now
    shows only swatches whose names fit."""
    from rich.cells import cell_len

    from station.tui.widgets.legend import Legend

    async def run():
        app = app_for(data_dir, lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await paid(app, pilot)
            legend = desk_of(app).query_one(Legend)
            assert legend.display
            plain = legend.render().plain
            assert cell_len(plain) <= legend.content_size.width, plain
            for part in plain.split("━━")[1:]:
                assert part.strip(), plain

    asyncio.run(run())


@pytest.mark.parametrize("lang", LANGS)
def test_the_counters_and_the_idle_check_list_are_not_cut_at_80x24(data_dir, lang):
    """At 80 columns the counters ran out of room mid-number ("本台已通过 0 · 重拍 0 · 0人…",
    "done here 0 · retakes 0 · 0…") and the check list's "Waiting for frames" lost its last
    word: the counters now drop what does not fit whole (the rate first), the waiting words wrap."""
    from station.tui.widgets.checks import CheckList
    from station.tui.widgets.counters import Counters

    async def run():
        app = app_for(data_dir, lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await paid(app, pilot)
            desk = desk_of(app)
            shown = desk.query_one(Counters).render().plain
            assert "…" not in shown and t("tui.counters.desk_done", lang, done=0) in shown
            text = squeezed(words_on(screen_lines(app)))
            assert squeezed(shown) in text, f"counters cut: {shown!r}"
            assert not desk.query_one(CheckList).checks
            right = squeezed("".join(line.rsplit("│", 1)[1] for line in screen_lines(app)
                                     if "│" in line))  # the check list: right of the stage
            assert squeezed(t("tui.live.no_checks", lang)) in right, f"waiting words cut: {right}"

    asyncio.run(run())


def test_the_schedule_headings_are_whole_at_80x24(tmp_path):
    """F2's slot table folded its English heading at 80 columns ("department" / "s"): a narrow
    table now has a short heading; the department names below fold, not the heading."""
    from station.sim import demo
    from station.tui.app import make_app

    setup = demo.prepare(tmp_path / "data", people=4)

    async def run():
        app = make_app(setup.data_dir, camera=None, reader=None, live=False, lang="en",
                       login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                       clock=demo.demo_clock())
        async with app.run_test(size=(80, 24)) as pilot:
            await app.settle()
            await pilot.pause(0.2)
            await pilot.press("f2")
            await pilot.pause(0.5)
            lines = screen_lines(app)
            heading = next(line for line in lines if "time" in line and "room" in line)
            assert t("tui.schedule.departments_short", "en") in heading.split("┃")[5], lines

    asyncio.run(run())
