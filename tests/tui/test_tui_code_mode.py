"""Code mode at the desk (issue 12.5), end to end through the TUI: the station's setting as
`station demo --mode code` writes it, the real service and store, the sim camera. One student's
图像采集码 arrives as a scanner types it (the demo's q), the next one's from the QR code held up
to the camera (v: OpenCV's decoder on the live frame); no photo is taken before the code, and
each accepted capture carries its student's code in the store."""

from __future__ import annotations

import asyncio
import io

import cv2
import numpy as np

from station.config import load_settings
from station.sim import demo
from station.tui.app import make_app
from station.tui.widgets.instruction import Instruction

from .test_tui_sessions import ScriptedSource, capture, connected, desk, until

HELD_UP = "Qm7Xk2PzR9tB4cWa"    # the second student's code, shown on the phone


class PhoneSource(ScriptedSource):
    """The rendered portrait, with a phone's QR code in front of the lens when ``code`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.code: str | None = None

    def __call__(self, width: int, height: int, t: float):
        frame, truth = super().__call__(width, height, t)
        if self.code is None:
            return frame, truth
        qr = cv2.QRCodeEncoder.create().encode(self.code)
        module = max(2, min(width, height) // 3 // qr.shape[0])
        qr = cv2.resize(qr, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
        qr = cv2.copyMakeBorder(qr, 4 * module, 4 * module, 4 * module, 4 * module,
                                cv2.BORDER_CONSTANT, value=255)
        out = np.array(frame, copy=True)
        h, w = qr.shape
        out[8:8 + h, 8:8 + w] = cv2.cvtColor(qr, cv2.COLOR_GRAY2BGR)
        return out, truth


def panel_lines(app) -> list[str]:
    """The identity panel's lines as the terminal shows them (cut at the panel's height)."""
    from rich.console import Console

    from station.tui.widgets.identity import IdentityPanel

    panel = desk(app).query_one(IdentityPanel)
    width, height = panel.content_size
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(panel.render())
    return console.export_text().splitlines()[:height]


def stored_codes(data_dir) -> dict[str, str | None]:
    from station.store import open_store

    store = open_store(data_dir)
    try:
        return {r[0]: r[1] for r in store.conn.execute(
            "SELECT c.id_number, c.capture_code FROM captures c "
            "JOIN capture_decisions d ON d.capture_id = c.id WHERE d.decision = 'accept'")}
    finally:
        store.close()


def test_code_mode_desk_takes_a_scanned_and_a_camera_read_code(tmp_path):
    setup = demo.prepare(tmp_path / "data", people=3, mode="code")
    assert load_settings(setup.data_dir).session.mode == "code"
    first, second = setup.eligible[:2]
    source = PhoneSource()
    app = make_app(setup.data_dir, camera="sim", reader="sim", demo=True,
                   demo_people=[first, second], clock=demo.demo_clock(),
                   login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                   camera_opts={"source": source, "fps": 8, "capture_size": (720, 960),
                                "preview_size": (360, 480)})

    def said() -> str:
        return desk(app).query_one(Instruction).words[1]

    async def pay(pilot, reference: str) -> None:
        await pilot.press("p")
        await pilot.pause(0.3)
        await pilot.press(*reference, "enter")
        await until(pilot, lambda: desk(app).state == "framing", what="framing")

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            # the first student: the scanner types the code (the demo's q)
            await pilot.press("t")
            await until(pilot, lambda: desk(app).state == "identified", what="identified")
            assert "capture code" in said().lower()
            await pilot.press("q")
            scanned = demo.demo_capture_code(first)
            await until(pilot, lambda: app.runner.service.person.capture_code == scanned,
                        what="the scanned code")
            await pay(pilot, "4200000000000001")
            assert app.focused is None     # after the pay form the desk's keys act (no auto-focus)
            await capture(pilot)
            await pilot.press("a")
            await until(pilot, lambda: desk(app).state == "accepted", what="accepted")
            # the second student: paid, but no photo before the code
            await pilot.press("t")
            await until(pilot, lambda: desk(app).state == "identified"
                        and app.runner.service.person.identity.id_number == second.id_number,
                        what="second identified")
            await pay(pilot, "4200000000000002")
            assert "first" in said().lower()          # scan the capture code first
            await pilot.press("space")
            await app.settle()
            assert desk(app).state == "framing"       # refused: no code yet
            source.code = HELD_UP                     # the phone in front of the lens
            desk(app).frames_shown = 0
            await until(pilot, lambda: desk(app).frames_shown > 2, what="frames with the code")
            await pilot.press("v")
            await until(pilot, lambda: app.runner.service.person.capture_code == HELD_UP,
                        what="the code read from the camera")
            source.code = None
            await capture(pilot)
            await pilot.press("a")
            await until(pilot, lambda: desk(app).state == "accepted", what="second accepted")

    asyncio.run(run())
    assert stored_codes(setup.data_dir) == {first.id_number: demo.demo_capture_code(first),
                                            second.id_number: HELD_UP}


def test_the_code_row_stays_in_sight_on_a_short_terminal(tmp_path):
    """A terminal of 22 rows (a laptop with a large font): the panel cannot show every row, and
    the 图像采集码 (the key the batch is filed under) is the one that must not be cut off."""
    setup = demo.prepare(tmp_path / "data", people=2, mode="code")
    app = make_app(setup.data_dir, camera="sim", reader="sim", demo=True,
                   demo_people=setup.eligible[:1], clock=demo.demo_clock(),
                   login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                   camera_opts={"fps": 8, "preview_size": (360, 480)})

    async def run() -> list[str]:
        async with app.run_test(size=(120, 22)) as pilot:
            await connected(pilot)
            await pilot.press("t")
            await until(pilot, lambda: desk(app).state == "identified", what="identified")
            return panel_lines(app)

    lines = asyncio.run(run())
    assert any("未扫描" in line for line in lines), lines


def test_demo_students_hold_up_their_code_and_v_reads_it(tmp_path):
    """`station demo --mode code`: the student who sits down holds up a phone with their
    图像采集码 (the sim stage), v reads it from the live view, and the phone goes away."""
    from station.sim.students import Stage

    setup = demo.prepare(tmp_path / "data", people=2, mode="code")
    student = setup.eligible[0]
    stage = Stage(setup.looks, codes=demo.demo_capture_codes(setup.people))
    app = make_app(setup.data_dir, camera="sim", reader="sim", demo=True,
                   demo_people=[student], clock=demo.demo_clock(),
                   login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                   camera_opts={"source": stage, "fps": 8, "preview_size": (360, 480)})

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            await pilot.press("t")
            await until(pilot, lambda: desk(app).state == "identified", what="identified")
            assert stage.phone == demo.demo_capture_code(student)      # the phone is up
            await pilot.press("p")
            await pilot.pause(0.3)
            await pilot.press(*"4200000000000003", "enter")
            await until(pilot, lambda: desk(app).state == "framing", what="framing")
            await until(pilot, lambda: desk(app).frames_shown > 2, what="live frames")
            await pilot.press("v")
            await until(pilot, lambda: app.runner.service.person.capture_code
                        == demo.demo_capture_code(student), what="the code read by v")
            await until(pilot, lambda: stage.phone is None, what="the phone put away")

    asyncio.run(run())


def test_the_reading_notice_goes_once_v_has_read_the_code(tmp_path):
    """V says it is reading the QR code; once the code is read (the panel shows it) the notice
    went on saying 正在从相机画面读取采集码二维码…… for the rest of the framing."""
    from station.i18n import t
    from station.tui.widgets.notice import Notice

    setup = demo.prepare(tmp_path / "data", people=1, mode="code")
    source = PhoneSource()
    app = make_app(setup.data_dir, camera="sim", reader="sim", demo=True,
                   demo_people=setup.eligible[:1], clock=demo.demo_clock(),
                   login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                   camera_opts={"source": source, "fps": 8, "capture_size": (720, 960),
                                "preview_size": (360, 480)})

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            await pilot.press("t")
            await until(pilot, lambda: desk(app).state == "identified", what="identified")
            await pilot.press("p")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await until(pilot, lambda: desk(app).state == "framing", what="framing")
            source.code = HELD_UP
            desk(app).frames_shown = 0
            await until(pilot, lambda: desk(app).frames_shown > 2, what="frames with the code")
            await pilot.press("v")
            await until(pilot, lambda: desk(app).person is not None
                        and desk(app).person.capture_code == HELD_UP, what="the code on screen")
            await app.settle()
            await pilot.pause(0.2)
            assert desk(app).query_one(Notice).message != t("tui.code.reading", "zh")

    asyncio.run(run())


def test_k_and_v_before_a_card_say_the_card_comes_first(data_dir):
    """Code mode, nobody at the desk: the field's label says 按 K 输入, yet K (and V) did
    nothing at all; a scanned code at that moment is told 先刷身份证，再扫描图像采集码, and so
    are they now."""
    from station.i18n import t
    from station.sim.demo import write_mode
    from station.tui.widgets.notice import Notice

    from .conftest import desk_app

    write_mode(data_dir, "code")

    async def run() -> None:
        app = desk_app(data_dir, {})
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            await pilot.pause(0.3)
            notice = desk(app).query_one(Notice)
            for key in ("k", "v"):
                notice.clear()
                await pilot.press(key)
                await pilot.pause(0.5)                 # past the scanner's burst guard
                assert notice.message == t("tui.code.no_person", "zh"), key
                assert app.focused is None

    asyncio.run(run())


def test_tab_does_not_trap_the_desk_keys_in_the_code_field(data_dir):
    """Code mode, a student at the desk: Tab (a stray press, or a scanner's Tab alone) moved
    the focus into the code field without a word, and the desk's letters then went into it
    until Esc (P typed a "p" instead of opening the fee form). Tab now leaves the focus where
    it is and says how the code goes in; K still opens the field, where Tab hands the code
    over as a scanner's does."""
    from station.i18n import t
    from station.sim.demo import write_mode
    from station.tui.screens.dialogs import PayDialog
    from station.tui.widgets.notice import Notice

    from .conftest import desk_app, person

    someone = person(9)
    write_mode(data_dir, "code")

    async def run() -> None:
        app = desk_app(data_dir, {someone.id_number: []})
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            app.runner.step(lambda s: s.identify(someone))
            await app.settle()
            await pilot.pause(0.3)
            notice = desk(app).query_one(Notice)
            for key in ("tab", "shift+tab"):
                notice.clear()
                await pilot.press(key)
                await pilot.pause(0.5)                 # past the scanner's burst guard
                assert app.focused is None, key
                assert notice.message == t("tui.code.tab", "zh"), key
            await pilot.press("p")                     # the desk's key still acts
            await until(pilot, lambda: isinstance(app.screen, PayDialog), what="pay dialog")
            await pilot.press("escape")
            await pilot.pause(0.3)
            await pilot.press("k")
            await pilot.pause(0.5)
            assert app.focused is not None and app.focused.id == "capture-code"
            await pilot.press(*"TAB427", "tab")        # in the field, Tab hands the code over
            await pilot.pause(0.3)
            await app.settle()
            assert app.runner.service.person.capture_code == "TAB427"
            assert app.focused is None

    asyncio.run(run())
