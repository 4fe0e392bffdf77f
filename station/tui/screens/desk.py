"""The capture desk: identity, live view with guides, live checks, last capture, counters.

Keys act on the session through the store thread (``SessionRunner``); the camera and the reader
are driven by thread workers whose results come back as messages, so no key ever waits on a
device.
"""

from __future__ import annotations

import time
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical

from station.i18n import both, t
from station.session.states import State
from station.tui.messages import (
    CardTapped,
    DeviceBack,
    DeviceProblem,
    LiveFrame,
    SessionChanged,
    SessionRefused,
)
from station.tui.screens._base import StationScreen
from station.tui.screens.dialogs import (
    AddressDialog,
    Approval,
    ManualEntryDialog,
    PayDialog,
    SupervisorDialog,
)
from station.tui.widgets.banner import DeviceBanner
from station.tui.widgets.capture_panel import CapturePanel
from station.tui.widgets.checks import CheckList
from station.tui.widgets.counters import Counters
from station.tui.widgets.identity import IdentityPanel
from station.tui.widgets.instruction import Instruction
from station.tui.widgets.keybar import KeyBar
from station.tui.widgets.live_view import LiveView
from station.tui.widgets.notice import Notice
from station.tui.workers import live_loop, reader_loop

# The keys shown in the key bar for each state (key, message key).
KEYS_BY_STATE: dict[str, list[tuple[str, str]]] = {
    "waiting_for_card": [("m", "tui.key.manual")],
    "identified": [("p", "tui.key.pay"), ("o", "tui.key.override"), ("s", "tui.key.skip")],
    "fee_confirmed": [("s", "tui.key.skip")],
    "framing": [("space", "tui.key.capture"), ("g", "tui.key.auto"), ("s", "tui.key.skip")],
    "captured": [("a", "tui.key.accept"), ("r", "tui.key.retake"), ("o", "tui.key.override"),
                 ("s", "tui.key.skip")],
    "accepted": [("n", "tui.key.next")],
    "failsafe": [("s", "tui.key.skip")],
}
COMMON_KEYS = [("F1", "tui.key.help"), ("F2", "tui.key.schedule"), ("F3", "tui.key.review"),
               ("F4", "tui.key.devices"), ("l", "tui.key.lang")]


class DeskScreen(StationScreen):
    """The photographer's screen for the whole day."""

    CSS_PATH = "../styles/desk.tcss"
    BINDINGS = [
        Binding("t", "tap", show=False),
        Binding("p", "pay", show=False),
        Binding("space,c", "capture", show=False),
        Binding("a", "accept", show=False),
        Binding("r", "retake", show=False),
        Binding("s", "skip", show=False),
        Binding("n", "next", show=False),
        Binding("o", "override", show=False),
        Binding("m", "manual", show=False),
        Binding("w", "address", show=False),
        Binding("g", "toggle_auto", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state = State.WAITING.value
        self.person: Any = None
        self.auto_capture = False
        self._steady_since: float | None = None
        self._capturing = False
        self.frames_shown = 0

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield DeviceBanner(id="banner")
        with Horizontal(id="desk"):
            with Vertical(id="left"):
                yield IdentityPanel(id="identity")
                yield Counters(id="counters")
                yield Notice(id="notice")
            with Vertical(id="center"):
                yield LiveView(id="live")
                yield Instruction(id="instruction")
            with Vertical(id="right"):
                yield CheckList(id="live-checks")
                yield CapturePanel(id="capture")
        yield KeyBar(self._keys(), id="keys")

    def on_mount(self) -> None:
        self.query_one(DeviceBanner).display = False
        self.auto_capture = bool(self.app.options.auto_capture_seconds)
        self._say_for_state()
        self._check_size()
        if self.app.options.live:
            self.run_worker(lambda: reader_loop(self.app), thread=True, group="reader",
                            exclusive=True, exit_on_error=False, name="reader")
            self.run_worker(lambda: live_loop(self.app, self), thread=True, group="live",
                            exclusive=True, exit_on_error=False, name="live")

    def on_resize(self) -> None:
        self._check_size()

    def _check_size(self) -> None:
        narrow = self.size.width < 110
        changed = narrow != self.has_class("-narrow")
        self.set_class(narrow, "-narrow")
        self.set_class(self.size.height < 30, "-short")
        if changed:
            self.query_one(KeyBar).set_keys(self._keys())

    def _keys(self) -> list[tuple[str, str]]:
        keys = list(KEYS_BY_STATE.get(self.state, []))
        if self.app.options.demo and self.state in ("waiting_for_card", "accepted", "identified"):
            keys.insert(0, ("t", "tui.key.tap"))
        if self.app.walk_in is not None and self.state in ("identified", "framing", "captured"):
            keys.append(("w", "tui.key.address"))
        if self.has_class("-narrow"):
            return keys + COMMON_KEYS[:1]
        return keys + COMMON_KEYS

    def relabel(self) -> None:
        self.query_one(KeyBar).set_keys(self._keys())
        self._say_for_state()

    # ------------------------------------------------------------ session results

    @on(SessionChanged)
    def session_changed(self, message: SessionChanged) -> None:
        message.stop()  # handled here; never back up to the app
        snap = message.snapshot
        previous = self.state
        self.state, self.person = snap.state, snap.person
        self.query_one(IdentityPanel).person = snap.person
        self.query_one(Counters).counters = snap.counters
        person = snap.person
        self.query_one(CapturePanel).show(person.capture if person else None)
        self.query_one(KeyBar).set_keys(self._keys())
        if previous != self.state:
            self._steady_since = None
            self.query_one(Notice).say("")
        self.app.live_wanted = self.state == State.FRAMING.value
        if self.state != State.FRAMING.value:
            self.query_one(LiveView).blank("tui.live.off")
            self.query_one(CheckList).show([])
        self._say_for_state()

    @on(SessionRefused)
    def session_refused(self, message: SessionRefused) -> None:
        message.stop()  # handled here; never back up to the app
        self._capturing = False
        self.query_one(Notice).say(message.message, "error")

    def _say_for_state(self) -> None:
        person, state = self.person, self.state
        words: tuple[str, str]
        level = "info"
        if state == "waiting_for_card":
            words = both("tui.say.tap_card")
        elif state == "identified":
            if person is not None and person.match.blocking and not person.override_by:
                words, level = both("tui.say.blocked"), "fail"
            else:
                words = both("tui.say.pay")
        elif state == "framing":
            return  # the live checks speak
        elif state == "captured":
            ok = person is not None and person.capture is not None and person.capture.passed
            words, level = (both("tui.say.accept"), "ok") if ok else (both("tui.say.retake"), "fail")
        elif state == "accepted":
            words, level = both("tui.say.done"), "ok"
        elif state == "failsafe":
            words, level = both("tui.say.failsafe"), "fail"
        else:
            words = ("", "")
        self.query_one(Instruction).say(words, level)

    # ------------------------------------------------------------ live view

    @on(LiveFrame)
    def live_frame(self, message: LiveFrame) -> None:
        message.stop()  # handled here; never back up to the app
        if self.state != State.FRAMING.value:
            return
        self.frames_shown += 1
        self.query_one(LiveView).show(message.image, message.seq)
        report = message.report
        checks = list(getattr(report, "checks", None) or [])
        self.query_one(CheckList).show(checks)
        words = getattr(report, "top_instruction", None) or ("", "")
        passed = bool(checks) and all(_status(c) == "pass" for c in checks)
        self.query_one(Instruction).say(tuple(words) if any(words) else both("tui.say.hold"),
                                        "ok" if passed else "warn")
        self._maybe_auto_capture(passed)

    def _maybe_auto_capture(self, passed: bool) -> None:
        if not passed:
            self._steady_since = None
            return
        now = time.monotonic()
        if self._steady_since is None:
            self._steady_since = now
        steady = self.app.options.auto_capture_seconds or 0.5
        if self.auto_capture and not self._capturing and now - self._steady_since >= steady:
            self.query_one(Notice).say(t("tui.auto.captured"), "ok")
            self.action_capture()

    @on(DeviceProblem)
    def device_problem(self, message: DeviceProblem) -> None:
        message.stop()  # handled here; never back up to the app
        self._capturing = False
        self.query_one(DeviceBanner).set_problem(message.device, message.message_zh,
                                                 message.message_en)
        if message.device == "camera":
            self.query_one(LiveView).blank("tui.live.camera_down")

    @on(DeviceBack)
    def device_back(self, message: DeviceBack) -> None:
        message.stop()  # handled here; never back up to the app
        self.query_one(DeviceBanner).clear(message.device)

    @on(CardTapped)
    def card_tapped(self, message: CardTapped) -> None:
        message.stop()  # handled here; never back up to the app
        identity = message.card.identity
        self.app.runner.step(lambda s: s.identify(identity))

    # ------------------------------------------------------------ keys

    def action_tap(self) -> None:
        if self.app.options.demo:
            self.app.tap_next_demo_card()

    def action_pay(self) -> None:
        if self.state != State.IDENTIFIED.value:
            return

        def paid(reference: str | None) -> None:
            if reference is not None:
                self.app.runner.step(lambda s: s.pay(reference or None))

        self.app.push_screen(PayDialog(), paid)

    def action_capture(self) -> None:
        if self.state != State.FRAMING.value or self._capturing:
            return
        self._capturing = True
        self.query_one(Notice).say(t("tui.capture.taking"))
        self._capture_worker()

    @work(thread=True, group="capture", exclusive=True, exit_on_error=False)
    def _capture_worker(self) -> None:
        from station.errors import DeviceError

        app = self.app
        try:
            shot = app.devices.capture(timeout=15.0)
        except DeviceError as exc:
            zh, en = exc.messages
            app.post_message(DeviceProblem("camera", zh, en))
            key = exc.key
            app.runner.step(lambda s: s.device_error("camera", key))
            return
        app.runner.step(lambda s: s.capture(shot.data, file_name=shot.file_name,
                                            camera=dict(getattr(shot, "camera", {}) or {}))
                        ).result()
        app.call_from_thread(self._capture_done)

    def _capture_done(self) -> None:
        self._capturing = False

    def action_accept(self) -> None:
        if self.state == State.CAPTURED.value:
            self.app.runner.step(lambda s: s.accept())

    def action_retake(self) -> None:
        if self.state == State.CAPTURED.value:
            self.app.runner.step(lambda s: s.retake())

    def action_skip(self) -> None:
        if self.state != State.WAITING.value:
            self.app.runner.step(lambda s: s.skip())

    def action_next(self) -> None:
        if self.state == State.ACCEPTED.value:
            self.app.runner.step(lambda s: s.next())

    def action_override(self) -> None:
        if self.state not in (State.IDENTIFIED.value, State.CAPTURED.value):
            return
        state = self.state

        def approved(value: Approval | None) -> None:
            if value is None:
                return

            def act(service: Any) -> None:
                sup = service.store.operators.authenticate(value.name, value.pin)
                if state == State.IDENTIFIED.value:
                    service.override_block(sup, value.reason)
                else:
                    service.accept(override_by=sup, reason=value.reason)

            self.app.runner.step(act)

        self.app.push_screen(SupervisorDialog(), approved)

    def action_manual(self) -> None:
        if self.state not in (State.WAITING.value, State.ACCEPTED.value):
            return

        def entered(values: dict | None) -> None:
            if values is None:
                return
            from station.session.manual import manual_identity

            def act(service: Any) -> None:
                sup = service.store.operators.authenticate(values["sup-name"].strip(),
                                                           values["sup-pin"])
                identity = manual_identity(values["man-name"], values["man-id"])
                service.identify(identity, source="manual", approved_by=sup)

            self.app.runner.step(act)

        self.app.push_screen(ManualEntryDialog(), entered)

    def action_address(self) -> None:
        if self.app.walk_in is None or self.person is None:
            return

        def entered(address: str | None) -> None:
            if address:
                self.app.runner.step(lambda s: s.set_mailing_address(address))

        self.app.push_screen(AddressDialog(), entered)

    def action_toggle_auto(self) -> None:
        self.auto_capture = not self.auto_capture
        self.query_one(Notice).say(t("tui.auto.on" if self.auto_capture else "tui.auto.off"))


def _status(check: Any) -> str:
    return str(check.get("status") if isinstance(check, dict) else getattr(check, "status", ""))
