"""Whole sessions through the TUI (Pilot) on the simulated reader and camera, with the real
store, roster, checks and crop; the store is asserted afterwards."""

from __future__ import annotations

import asyncio
import time

import pytest

from station.sim import demo
from station.tui.app import make_app
from station.tui.screens.dialogs import PayDialog, SupervisorDialog


class ScriptedSource:
    """The sim camera's picture source: a real rendered portrait, blurred on demand."""

    def __init__(self) -> None:
        self.blur = 0.0
        self._cache: dict = {}

    def __call__(self, width: int, height: int, t: float):
        key = (width, height, self.blur)
        if key not in self._cache:
            from station.sim.portrait import render

            self._cache[key] = render(width, height, blur=self.blur)
        return self._cache[key]


async def until(pilot, condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}: {where(pilot.app)}")


def where(app) -> str:
    """What the app was doing (a timeout under load must say where it stuck)."""
    try:
        desk_screen = app.get_screen("desk")
    except KeyError:
        desk_screen = None
    service = app.runner.service
    reader = app.devices.reader if app.devices is not None else None
    return (f"screen={type(app.screen).__name__} focused={app.focused!r} "
            f"desk={getattr(desk_screen, 'state', None)} "
            f"service={service.state.value if service is not None else None} "
            f"runner_busy={app.runner.busy} reader={type(reader).__name__} "
            f"pending_taps={getattr(reader, 'pending', None)} "
            f"workers={[(w.name, w.state.name) for w in app.workers]} "
            f"notices={[str(n.message) for n in app._notifications]}")


def desk(app):
    return app.get_screen("desk")


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    """One prepared demo store (schedule + roster import is the slow part), copied per test."""
    path = tmp_path_factory.mktemp("demo") / "data"
    setup = demo.prepare(path, people=14)
    return setup


@pytest.fixture
def station(demo_store, tmp_path):
    import shutil

    data_dir = tmp_path / "data"
    shutil.copytree(demo_store.data_dir, data_dir)
    return data_dir, demo_store


def app_on(data_dir, people, source, login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN)):
    return make_app(data_dir, camera="sim", reader="sim", demo=True, demo_people=people,
                    login=login, clock=demo.demo_clock(),
                    camera_opts={"source": source, "fps": 8, "capture_size": (720, 960),
                                 "preview_size": (360, 480)})


async def connected(pilot):
    """Logged in, the desk on screen with its service, the camera connected: keys now reach
    the desk (a key pressed while the log-in screen is still up would be lost)."""
    from station.tui.screens.desk import DeskScreen

    app = pilot.app
    await until(pilot, lambda: app.devices is not None and app.devices.camera is not None
                and app.devices.camera.state == "connected", what="camera connected")
    await until(pilot, lambda: isinstance(app.screen, DeskScreen)
                and app.runner.service is not None, what="the desk")


async def student_paid(pilot) -> None:
    """The desk connected, the next demo card tapped and the fee paid (no WeChat number)."""
    await connected(pilot)
    await tap_and_pay(pilot, "")


async def ready(pilot) -> None:
    """The session takes a card: not in failsafe (a loaded machine can make the sim camera or
    reader miss a beat; the desk then refuses cards until the device is back, as it should)."""
    app = pilot.app
    await until(pilot, lambda: app.runner.service is not None
                and app.runner.service.state.value != "failsafe", what="the session out of failsafe")


async def tap_and_pay(pilot, reference: str) -> None:
    app = pilot.app
    await ready(pilot)
    await pilot.press("t")
    await until(pilot, lambda: desk(app).state == "identified", what="identified")
    await pilot.press("p")
    await until(pilot, lambda: isinstance(app.screen, PayDialog), what="pay dialog")
    await pilot.press(*reference, "enter")          # what a barcode scanner types
    await until(pilot, lambda: desk(app).state == "framing", what="framing")


async def capture(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: desk(app).frames_shown > 0, what="a live frame")
    await pilot.press("space")
    await until(pilot, lambda: desk(app).state == "captured", what="captured")


def test_ten_students_tap_pay_capture_retake_accept(station):
    data_dir, setup = station
    people = setup.eligible[:10]
    source = ScriptedSource()

    async def run():
        app = app_on(data_dir, people, source)
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            for i, _person in enumerate(people):
                await tap_and_pay(pilot, f"42{i:04d}" if i else "4200001234567890")
                source.blur = 6.0
                await capture(pilot)
                assert desk(app).person.capture.passed is False
                await pilot.press("a")                  # refused: sharpness fails
                await app.settle()
                assert desk(app).state == "captured"
                await pilot.press("r")
                await until(pilot, lambda: desk(app).state == "framing", what="retake")
                source.blur = 0.0
                desk(app).frames_shown = 0
                await capture(pilot)
                assert desk(app).person.capture.passed, desk(app).person.capture.failed
                await pilot.press("a")
                await until(pilot, lambda: desk(app).state == "accepted", what="accepted")
            counters = desk(app).query_one("#counters").counters
            assert counters.done == 10 and counters.retakes == 10

    asyncio.run(run())
    from station.store import open_store

    store = open_store(data_dir)
    try:
        for i, person in enumerate(people):
            state = store.person_state(person.id_number)
            assert state.accepted_capture_id, person.name
            assert [c["decision"] for c in state.captures] == ["accept", "reject"]
            assert state.paid_cents == 3000
            assert state.payments[0]["reference"] == (f"42{i:04d}" if i else "4200001234567890")
            accepted = state.captures[0]
            assert accepted["check_passed"] is True
        crops = [r[0] for r in store.conn.execute(
            "SELECT json_extract(camera, '$.crop_sha256') FROM captures")]
        assert all(crops)
        assert store.audit.verify() == []
    finally:
        store.close()


def test_camera_unplugged_mid_session_and_back(station):
    data_dir, setup = station
    source = ScriptedSource()

    async def run():
        app = app_on(data_dir, setup.eligible[:1], source)
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            await pilot.press("f4")                         # the devices screen
            await until(pilot, lambda: getattr(app.screen, "data", None) is not None, what="probe")
            camera_state, reader_state, settings, _cal = app.screen.data
            assert camera_state.ok and camera_state.detail.get("model") == "Capture Station SimCam"
            assert reader_state.ok and settings.get("iso")
            await pilot.pause()
            from .screen import screen_lines

            shown = "\n".join(screen_lines(app))
            assert "电量" in shown and "剩余" in shown and "GB" in shown and "白平衡" in shown
            for raw in ("battery", "capacity_kb", "free_images", "white_balance", "reads_identity"):
                assert raw not in shown, raw
            await pilot.press("escape")
            await tap_and_pay(pilot, "")
            await until(pilot, lambda: desk(app).frames_shown > 0, what="live frame")
            app.devices.driver.unplug()
            await until(pilot, lambda: desk(app).state == "failsafe", what="failsafe")
            banner = desk(app).query_one("#banner")
            assert banner.display and "camera" in banner.problems
            await pilot.press("space")              # nothing happens while the camera is gone
            await app.settle()
            assert desk(app).state == "failsafe"
            app.devices.driver.plug()
            await until(pilot, lambda: desk(app).state == "framing", timeout=40, what="resumed")
            await until(pilot, lambda: not banner.display, what="banner cleared")
            desk(app).frames_shown = 0
            await capture(pilot)
            await pilot.press("a")
            await until(pilot, lambda: desk(app).state == "accepted", what="accepted")

    asyncio.run(run())
    from station.store import open_store

    store = open_store(data_dir)
    try:
        events = [r[0] for r in store.conn.execute("SELECT event FROM session_events ORDER BY seq")]
        assert "device_error" in events and "device_ok" in events
        assert store.person_state(setup.eligible[0].id_number).accepted_capture_id
    finally:
        store.close()


def test_ineligible_student_is_stopped_until_a_supervisor_overrides(station):
    data_dir, setup = station
    person = setup.ineligible[0]

    async def run():
        app = app_on(data_dir, [person], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            await pilot.press("t")
            await until(pilot, lambda: desk(app).state == "identified", what="identified")
            assert "not_eligible" in desk(app).person.match.flags
            await pilot.press("p")                 # refused on the spot: no payment form
            await app.settle()
            await pilot.pause()
            assert not isinstance(app.screen, PayDialog)
            assert desk(app).state == "identified"
            assert desk(app).query_one("#notice").level == "error"
            await pilot.press("o")
            await until(pilot, lambda: isinstance(app.screen, SupervisorDialog), what="dialog")
            await pilot.press(*demo.DEMO_SUPERVISOR, "enter", *demo.DEMO_SUPERVISOR_PIN, "enter",
                              *"letter", "enter")
            await until(pilot, lambda: desk(app).person.override_by == demo.DEMO_SUPERVISOR,
                        what="override")
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, PayDialog), what="pay dialog")
            await pilot.press("enter")
            await until(pilot, lambda: desk(app).state == "framing", what="framing")

    asyncio.run(run())
    from station.store import open_store

    store = open_store(data_dir)
    try:
        assert len(store.person_state(person.id_number).payments) == 1
        overrides = [r for r in store.conn.execute(
            "SELECT operator FROM audit WHERE action = 'session.override_block'")]
        assert overrides and overrides[0][0] == demo.DEMO_SUPERVISOR
    finally:
        store.close()


def test_the_walk_in_desk_stops_an_ineligible_roster_student(station):
    """Friday make-ups waive the roster's presence and the slot, not its verdict: an in-service
    master on the roster is not eligible at the walk-in desk either; p takes no fee."""
    data_dir, setup = station
    person = setup.ineligible[0]

    async def run():
        app = make_app(data_dir, camera="sim", reader="sim", demo=True, demo_people=[person],
                       login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                       walk_in="10673", clock=demo.demo_clock(),
                       camera_opts={"source": ScriptedSource(), "fps": 8,
                                    "capture_size": (720, 960), "preview_size": (360, 480)})
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            await ready(pilot)
            await pilot.press("t")
            await until(pilot, lambda: desk(app).state == "identified", what="identified")
            assert desk(app).person.match.flags[0] == "walk_in"
            assert "not_eligible" in desk(app).person.match.flags
            await pilot.press("p")
            await app.settle()
            await pilot.pause()
            assert not isinstance(app.screen, PayDialog)
            assert desk(app).state == "identified"
            assert desk(app).query_one("#notice").level == "error"

    asyncio.run(run())
    from station.store import open_store

    store = open_store(data_dir)
    try:
        assert store.person_state(person.id_number).payments == []
    finally:
        store.close()


def test_walk_in_desk_with_auto_capture(station):
    """Friday make-ups: an off-roster card at a walk-in desk (school 10673), address typed,
    and the photo taken by itself once the live checks have passed steadily."""
    data_dir, setup = station
    stranger = setup.off_roster[0]

    async def run():
        app = make_app(data_dir, camera="sim", reader="sim", demo=True, demo_people=[stranger],
                       login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                       walk_in="10673", auto_capture_seconds=0.5, clock=demo.demo_clock(),
                       camera_opts={"source": ScriptedSource(), "fps": 8,
                                    "capture_size": (720, 960), "preview_size": (360, 480)})
        async with app.run_test(size=(120, 40)) as pilot:
            await student_paid(pilot)
            assert desk(app).person.match.flags == ["walk_in"]
            assert desk(app).person.school_code == "10673"
            await until(pilot, lambda: desk(app).state == "captured", what="auto-capture")
            await pilot.press("a")                      # refused: no mailing address yet
            await app.settle()
            assert desk(app).state == "captured"
            await pilot.press("w")
            await pilot.press(*"Kunming 650091", "enter")
            await until(pilot, lambda: desk(app).person.mailing_address is not None, what="addr")
            await pilot.press("a")
            await until(pilot, lambda: desk(app).state == "accepted", what="accepted")

    asyncio.run(run())
    from station.store import open_store

    store = open_store(data_dir)
    try:
        row = store.conn.execute("SELECT school_code, mailing_address FROM walk_ins").fetchone()
        assert tuple(row) == ("10673", "Kunming 650091")
        assert store.person_state(stranger.id_number).accepted_capture_id
    finally:
        store.close()


def test_the_next_card_tapped_while_a_student_is_framed_does_not_take_their_photo(station):
    """A busy day: B paid earlier and stepped away (S); while A sits in front of the camera,
    B taps. The desk stays with A and says so, instead of switching to B (B's paid card went
    straight to framing, so Space would have stored A's face under B's name). A's own card
    tapped twice changes nothing (no skip recorded). After A's accept, B's tap is B's turn."""
    data_dir, setup = station
    a, b = setup.eligible[0], setup.eligible[1]

    async def run():
        app = app_on(data_dir, [b, a, b], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            await tap_and_pay(pilot, "")                     # B pays …
            await pilot.press("s")                           # … and steps away
            await until(pilot, lambda: desk(app).state == "waiting_for_card", what="skipped")
            await tap_and_pay(pilot, "")                     # A
            assert desk(app).person.identity.id_number == a.id_number
            notice = desk(app).query_one("#notice")
            await pilot.press("t")                           # B's card, A still framed
            await until(pilot, lambda: notice.level == "error", what="the refusal")
            assert desk(app).state == "framing"
            assert desk(app).person.identity.id_number == a.id_number
            assert "正在拍摄" in notice.message
            app.devices.tap(a)                               # A's card again
            await until(pilot, lambda: app.devices.reader.pending == 0, what="read")
            await app.settle()
            assert desk(app).state == "framing"
            assert desk(app).person.identity.id_number == a.id_number
            await capture(pilot)
            await pilot.press("a")
            await until(pilot, lambda: desk(app).state == "accepted", what="accepted")
            await pilot.press("t")                           # now B's turn: paid, framing
            await until(pilot, lambda: desk(app).state == "framing"
                        and desk(app).person.identity.id_number == b.id_number, what="B")

    asyncio.run(run())
    from station.store import open_store

    store = open_store(data_dir)
    try:
        assert store.person_state(a.id_number).accepted_capture_id
        assert store.person_state(b.id_number).captures == []
        skips = [r[0] for r in store.conn.execute(
            "SELECT id_number FROM session_events WHERE event = 'skip'")]
        assert skips == [b.id_number]                        # only B's own S
    finally:
        store.close()


def test_a_reader_unplugged_mid_capture_stops_neither_the_photo_nor_typed_entry(station,
                                                                               monkeypatch):
    """The reader's cable is pulled while A is framed: the banner says so, yet A is photographed
    and accepted (the desk went to failsafe and refused Space, though the reader is not needed
    for A any more), and M opens typed entry for the next student while the reader is out.
    Plugged back, the banner goes."""
    import station.idcard as idcard
    from station.idcard.errors import NoReaderError, ReaderGoneError
    from station.tui.screens.dialogs import ManualEntryDialog

    data_dir, setup = station
    a = setup.eligible[0]
    unplugged = {"now": False}
    open_reader = idcard.open_reader

    def reopen(*args, **kwargs):
        if unplugged["now"]:
            raise NoReaderError("idcard.no_reader", name="", available="—")
        return open_reader(*args, **kwargs)

    monkeypatch.setattr(idcard, "open_reader", reopen)

    async def run():
        app = app_on(data_dir, [a], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await student_paid(pilot)
            reader = app.devices.reader

            def gone(timeout):
                time.sleep(min(timeout, 0.05))
                raise ReaderGoneError("idcard.reader_gone", reader="sim")

            unplugged["now"] = True
            reader.read = gone
            banner = desk(app).query_one("#banner")
            await until(pilot, lambda: "reader" in banner.problems, what="the reader banner")
            await app.settle()
            assert desk(app).state == "framing"
            await capture(pilot)
            await pilot.press("a")
            await until(pilot, lambda: desk(app).state == "accepted", what="accepted")
            await pilot.press("m")
            await until(pilot, lambda: isinstance(app.screen, ManualEntryDialog), what="typed")
            await pilot.press("escape")
            unplugged["now"] = False
            await until(pilot, lambda: "reader" not in banner.problems, timeout=30,
                        what="the reader back")

    asyncio.run(run())
    from station.store import open_store

    store = open_store(data_dir)
    try:
        assert store.person_state(a.id_number).accepted_capture_id
        actions = [r[0] for r in store.conn.execute("SELECT action FROM audit")]
        assert "session.device_error" in actions and "session.device_ok" in actions
        events = [r[0] for r in store.conn.execute("SELECT event FROM session_events")]
        assert "device_error" not in events                  # no failsafe for the reader
    finally:
        store.close()


def test_a_full_disk_at_the_shutter_is_said_in_words_and_the_photo_is_taken_again(station,
                                                                                  tmp_path):
    """The data folder's disk fills up during the session: Space says the disk is full, which
    folder, and that nothing stored is lost, in the station's language (it said 操作失败：
    OSError: [Errno 28] No space left on device: '…' with a traceback in the log); the student
    stays framed, and once space is freed Space takes the photo. (A read-only data folder takes
    the same path, media.read_only; it cannot be remounted read-only while the store is open.)"""
    import shutil

    from tests.faultkit import fill, mount_problem, tmpfs

    problem = mount_problem()
    if problem is not None:
        pytest.skip(problem)
    source_dir, setup = station
    a = setup.eligible[0]

    async def run(data_dir):
        app = app_on(data_dir, [a], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await student_paid(pilot)
            filler = fill(data_dir.parent, leave_bytes=16 * 1024)
            notice = desk(app).query_one("#notice")
            await until(pilot, lambda: desk(app).frames_shown > 0, what="a live frame")
            await pilot.press("space")
            await until(pilot, lambda: notice.level == "error", what="the refusal")
            assert desk(app).state == "framing"
            assert notice.message.startswith("磁盘已满") and str(data_dir) in notice.message
            assert "Errno" not in notice.message and "OSError" not in notice.message
            filler.unlink()
            await pilot.press("space")
            await until(pilot, lambda: desk(app).state == "captured", what="captured")

    with tmpfs(tmp_path / "mnt", "48m") as mount:
        data_dir = mount / "data"
        shutil.copytree(source_dir, data_dir)
        asyncio.run(run(data_dir))


def test_r_right_after_an_accept_photographs_the_student_again(station):
    """A pressed, then the photographer sees the eyes were half shut: R (shown on the key bar)
    frames the same student again, says a new accept replaces the photo; A replaces it. For B,
    R then S keeps the photo accepted first. R after an accept said only 此人已完成."""
    data_dir, setup = station
    a, b = setup.eligible[0], setup.eligible[1]
    accepted: dict[str, str] = {}

    async def run():
        app = app_on(data_dir, [a, b], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            for who in (a, b):
                await tap_and_pay(pilot, "")
                await capture(pilot)
                await pilot.press("a")
                await until(pilot, lambda: desk(app).state == "accepted", what="accepted")
                accepted[who.id_number] = desk(app).person.capture.capture_id
                assert ("r", "tui.key.again") in desk(app)._keys()
                await pilot.press("r")
                await until(pilot, lambda: desk(app).state == "framing", what="framed again")
                assert desk(app).person.identity.id_number == who.id_number
                assert desk(app).query_one("#notice").message == "已有通过的照片：再通过将替换它"
                desk(app).frames_shown = 0
                if who is a:
                    await capture(pilot)
                    assert desk(app)._previous.capture_id == accepted[a.id_number]
                    await pilot.press("a")
                    await until(pilot, lambda: desk(app).state == "accepted", what="again")
                    accepted["a again"] = desk(app).person.capture.capture_id
                else:
                    await pilot.press("s")
                    await until(pilot, lambda: desk(app).state == "waiting_for_card", what="S")
            assert desk(app).query_one("#counters").counters.done == 2

    asyncio.run(run())
    from station.store import open_store

    store = open_store(data_dir)
    try:
        assert store.person_state(a.id_number).accepted_capture_id == accepted["a again"]
        assert accepted["a again"] != accepted[a.id_number]
        assert store.person_state(b.id_number).accepted_capture_id == accepted[b.id_number]
        again = [r[0] for r in store.conn.execute(
            "SELECT id_number FROM session_events WHERE event = 'retake' AND from_state = "
            "'accepted'")]
        assert again == [a.id_number, b.id_number]
        assert store.audit.verify() == []
    finally:
        store.close()


def test_a_laptop_date_off_by_a_day_is_pointed_at_in_the_header(station):
    """The laptop's clock says 2017-10-26, the schedule is all on the 25th: every student is
    'not in this slot' and the header said only 今天没有场次; it names the date the station
    believes and asks to check the computer's date."""
    import datetime as dt

    from .screen import screen_lines

    data_dir, setup = station

    async def run():
        app = make_app(data_dir, camera=None, reader=None, live=False,
                       login=(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN),
                       clock=demo.fixed_clock(dt.datetime(2017, 10, 26, 9, 10,
                                                          tzinfo=dt.timezone(dt.timedelta(hours=8)))))
        async with app.run_test(size=(120, 40)) as pilot:
            from .conftest import desk_shown

            await desk_shown(pilot)
            await until(pilot, lambda: desk(app).context is not None, what="the context")
            await pilot.pause()
            header = screen_lines(app)[0]
            assert "今天（2017-10-26）没有场次：请核对电脑日期" in header, header

    asyncio.run(run())


def test_a_camera_unplugged_while_a_photo_waits_lets_the_photographer_accept_it(station):
    """The camera's cable is pulled with a good photo on screen: the banner says so and the
    photo stays, A accepts it (the desk went to failsafe, hid the photo and took only S, so the
    student waited for the camera); the desk stops at the next student until it is back."""
    data_dir, setup = station
    a = setup.eligible[0]

    async def run():
        app = app_on(data_dir, [a], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await student_paid(pilot)
            await capture(pilot)
            banner = desk(app).query_one("#banner")
            app.devices.driver.unplug()
            await until(pilot, lambda: "camera" in banner.problems, what="the camera banner")
            await app.settle()
            await pilot.pause()
            assert desk(app).state == "captured"
            assert desk(app).query_one("#shot").display            # the photo is still there
            await pilot.press("a")
            await until(pilot, lambda: desk(app).state == "accepted", what="accepted")
            await pilot.press("n")
            await until(pilot, lambda: desk(app).state == "failsafe", what="failsafe")
            app.devices.driver.plug()
            await until(pilot, lambda: desk(app).state == "waiting_for_card", timeout=40,
                        what="back")

    asyncio.run(run())
    from station.store import open_store

    store = open_store(data_dir)
    try:
        assert store.person_state(a.id_number).accepted_capture_id
    finally:
        store.close()


def test_the_devices_screen_follows_a_camera_unplugged_while_it_is_open(station):
    """F4 open, the camera's cable pulled: the desk went to failsafe under it, its banner out of
    sight, and F4 went on saying the camera was 正常 / 已连接 (what it read when it opened) until
    F6, which nothing on screen named. It now reads the devices again when one goes or comes
    back, and its key bar names F6."""
    from station.i18n import t

    from .screen import screen_lines

    data_dir, setup = station

    async def run():
        app = app_on(data_dir, setup.eligible[:1], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            await pilot.press("f4")
            await until(pilot, lambda: getattr(app.screen, "data", None) is not None, what="probe")
            assert app.screen.data[0].ok
            assert "F6" in "\n".join(screen_lines(app))
            app.devices.driver.unplug()
            await until(pilot, lambda: desk(app).state == "failsafe", what="failsafe")
            await until(pilot, lambda: not app.screen.data[0].ok, timeout=15,
                        what="the devices screen says the camera is down")
            assert t("tui.devices.down") in "\n".join(screen_lines(app))
            app.devices.driver.plug()
            await until(pilot, lambda: app.screen.data[0].ok, timeout=40,
                        what="the devices screen says the camera is back")

    asyncio.run(run())
