"""The capture desk: who is at the desk, the live view or the capture being judged, the checks,
one instruction in large type, and the keys that work now.

Keys act on the session through the store thread (``SessionRunner``); the camera and the reader
are driven by thread workers whose results come back as messages, so no key ever waits on a
device. A key that starts a step is ignored until that step has answered, so a double press
never accepts twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical

from station.errors import RefusedError
from station.i18n import both, t
from station.privacy import mask_id, mask_name, scrub
from station.session.states import State
from station.tui.burst import BURST_END, GAP, BurstGuard
from station.tui.live import (
    Freshness,
    LiveShared,
    LiveTarget,
    camera_watch_loop,
    checks_loop,
    picture_loop,
)
from station.tui.messages import (
    CardTapped,
    DeviceBack,
    DeviceProblem,
    LiveChecked,
    LiveFrame,
    SessionChanged,
    SessionRefused,
)
from station.tui.prompts import already_done, desk_prompt, first_words
from station.tui.screens._base import StationScreen
from station.tui.screens.dialogs import (
    AddressDialog,
    ManualEntryDialog,
    PayDialog,
    SupervisorDialog,
)
from station.tui.widgets.banner import DeviceBanner
from station.tui.widgets.capture_view import CaptureView
from station.tui.widgets.checks import CheckList, capture_order
from station.tui.widgets.code_field import CodeField
from station.tui.widgets.counters import Counters
from station.tui.widgets.header import DeskHeader
from station.tui.widgets.identity import DeskFacts, IdentityPanel
from station.tui.widgets.instruction import Instruction
from station.tui.widgets.keybar import KeyBar
from station.tui.widgets.legend import Legend
from station.tui.widgets.live_paused import LivePaused
from station.tui.widgets.notice import Notice
from station.tui.widgets.picture_view import PictureView
from station.tui.workers import reader_loop

log = logging.getLogger(__name__)

FRAMING, CAPTURED, ACCEPTED = State.FRAMING.value, State.CAPTURED.value, State.ACCEPTED.value
CONTEXT_EVERY = 20.0     # seconds between refreshes of the header's slot and the counters
LIVE_LOOK_EVERY = 0.5    # seconds between looks at the live picture's age (see live.STALE_AFTER)


def _capture_for(service: Any, taken_of: str, shot: Any) -> Any:
    """The photo for the student it was taken of (their card read): a student skipped while
    the camera was still downloading is not the student framed when the photo arrives."""
    person = service.person
    if person is None or person.card_read_id != taken_of:
        raise RefusedError("tui.capture.person_changed")
    return service.capture(shot.data, file_name=shot.file_name, camera=dict(shot.camera))


class DeskScreen(StationScreen):
    """The photographer's screen for the whole day."""

    CSS_PATH = "../styles/desk.tcss"
    AUTO_FOCUS = ""              # none ("" — None would mean the app's "*"): the desk's keys act;
                                 # the code field takes keys only when asked (k), even after a form
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
        Binding("k", "code", show=False),
        Binding("v", "code_from_camera", show=False),
        Binding("q", "scan_demo_code", show=False),
        # Tab would move the focus into the code field, where the desk's letters then go
        # unseen until Esc: the field is opened with k (or filled by the scanner) only
        Binding("tab,shift+tab", "tab", show=False),
    ]
    KEY_ACTIONS = {key: b.action for b in BINDINGS if isinstance(b, Binding)
                   for key in b.key.split(",")}

    def __init__(self) -> None:
        super().__init__()
        self.state = State.WAITING.value
        self.person: Any = None
        self.counters: Any = None
        self.context: Any = None
        self.auto_capture = False
        self.frames_shown = 0
        self.live_target = LiveTarget()
        self.live_shared = LiveShared()
        self.freshness = Freshness()     # how old the live picture is (frame arrival times)
        self._live_running = False       # live workers and a camera (else: no notice)
        self._steady_since: float | None = None
        self._capturing = False
        self._pending = False            # a key's step is on its way: ignore repeats
        self._shown: Any = None          # the capture on screen (CaptureResult)
        self._previous: Any = None       # the capture before it, for this person
        self._last_done: tuple[str, Any] | None = None   # (name, capture) of the last accepted
        self._live_passed = False
        self.code_mode = False
        self._guard = BurstGuard()
        self._burst_timer: Any = None
        self._live_spoke = False         # a live report has set the instruction while framing
        self._typed_exported = False

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield DeskHeader(id="header")
        yield DeviceBanner(id="banner")
        with Horizontal(id="desk"):
            with Vertical(id="left"):
                yield IdentityPanel(id="identity")
                yield CodeField(id="code")
                yield Counters(id="counters")
                yield Notice(id="notice")
            with Vertical(id="stage"):
                yield PictureView(target=self.live_target, id="live")
                yield LivePaused(id="live-paused")
                yield CaptureView(id="shot")
                yield Legend(id="legend")
            with Vertical(id="right"):
                yield CheckList(id="checks")
        with Vertical(id="footer"):
            yield Instruction(id="instruction")
            yield KeyBar([], id="keys")

    def on_mount(self) -> None:
        self.query_one(DeviceBanner).display = False
        self.query_one(CaptureView).display = False
        self.code_mode = self.app.desk_mode == "code"
        self.query_one(CodeField).display = self.code_mode
        self.query_one("#capture-code").can_focus = self.code_mode
        self.call_after_refresh(self.set_focus, None)   # letters are the desk's keys
        self.auto_capture = bool(self.app.options.auto_capture_seconds)
        self._check_size()
        self._show_state()
        self.set_interval(CONTEXT_EVERY, self._refresh_context)
        self.set_interval(LIVE_LOOK_EVERY, self._look_live)
        self._refresh_context()
        self._start_workers()
        self.call_after_refresh(self.app.freeze_heap)   # after the desk is drawn (see there)

    def _refresh_context(self) -> None:
        """The slot running now changes with the clock: ask for a fresh snapshot now and then."""
        if self.app.runner.service is not None:
            self.app.runner.step(lambda s: None)

    def _start_workers(self) -> None:
        """Card reader, live picture, live checks and camera watch: one thread each."""
        app = self.app
        if not app.options.live or app.devices is None:
            return
        target, shared = self.live_target, self.live_shared
        target.graphics = app.picture_mode == "graphics"
        target.taken.set()
        if target.graphics:
            from station.tui.picture_mode import cell_pixels

            target.cell_px = cell_pixels()
        loops = {"reader": lambda: reader_loop(app),
                 "live-picture": lambda: picture_loop(app, self, target, shared),
                 "live-checks": lambda: checks_loop(app, self, shared),
                 "camera-watch": lambda: camera_watch_loop(app, shared)}
        for name, loop in loops.items():
            self.run_worker(loop, thread=True, group=name, exclusive=True, exit_on_error=False,
                            name=name)
        self._live_running = bool(app.devices.camera_kind)   # no camera: no picture to miss

    def on_resize(self) -> None:
        self._check_size()

    def _check_size(self) -> None:
        self.set_class(self.size.width < 110, "-narrow")
        self.set_class(self.size.height < 30, "-short")

    def relabel(self) -> None:
        self._show_state()

    def on_screen_resume(self) -> None:
        """Back from a side screen: catch up with a language switch made there."""
        from station.i18n import get_language
        from station.tui.app import relabel_screen

        relabel_screen(self, get_language())

    # ------------------------------------------------------------ keys shown

    def _keys(self) -> list[tuple[str, Any]]:
        """The keys that do something now, then the screens this operator may open."""
        app, state, person = self.app, self.state, self.person
        walk_in = app.walk_in is not None
        keys: list[tuple[str, Any]] = []
        blocked = person is not None and person.match.blocking and not person.override_by
        if state in ("waiting_for_card", ACCEPTED, "identified") and app.can_tap:
            keys.append(("t", "tui.key.tap_demo" if app.options.demo else "tui.key.tap"))
        if state == ACCEPTED:
            keys += [("n", "tui.key.next"), ("r", "tui.key.again")]
        if state in ("waiting_for_card", ACCEPTED):
            keys.append(("m", "tui.key.manual"))
        if state == "identified":
            keys += ([("o", "tui.key.override")] if blocked else [("p", "tui.key.pay")])
        if state == FRAMING:
            keys.append(("space", "tui.key.capture"))
            keys.append(("g", "tui.key.auto_on" if self.auto_capture else "tui.key.auto_off"))
        if state == CAPTURED:
            keys += [("a", "tui.key.accept"), ("r", "tui.key.retake")]
            if self._overridable():
                keys.append(("o", "tui.key.override"))
        if walk_in and state in ("identified", FRAMING, CAPTURED):
            keys.append(("w", "tui.key.address"))
        if self.code_mode and state in ("identified", FRAMING, CAPTURED):
            keys += [("k", "tui.key.code"), ("v", "tui.key.code_camera")]
            if app.options.demo:
                keys.append(("q", "tui.key.scan_demo"))
        if person is not None and state not in ("waiting_for_card", ACCEPTED):
            keys.append(("s", "tui.key.skip"))
        return keys + self._screen_keys()

    def _screen_keys(self) -> list[tuple[str, Any]]:
        from station.tui.screens import registry

        role = self.app.operator.role if self.app.operator is not None else ""
        keys: list[tuple[str, Any]] = [("F1", "tui.key.help")]
        for key, name, label in (("F2", "schedule", "tui.key.schedule"),
                                 ("F3", "review", "tui.key.review"),
                                 ("F4", "devices", "tui.key.devices"),
                                 ("F5", "exports", "tui.key.exports")):
            if registry.allowed(name, role):
                keys.append((key, label))
        return keys + [("l", "tui.key.lang")]

    # ------------------------------------------------------------ session results

    @on(SessionChanged)
    def session_changed(self, message: SessionChanged) -> None:
        snap = message.snapshot
        previous_state, previous_person = self.state, self.person
        self._pending = False
        self.state, self.person = snap.state, snap.person
        self.counters, self.context = snap.counters, snap.context
        same_person = (previous_person is not None and self.person is not None
                       and previous_person.card_read_id == self.person.card_read_id)
        if not same_person:
            self._shown = self._previous = None
        capture = self.person.capture if self.person is not None else None
        if capture is not None and (self._shown is None
                                    or capture.capture_id != self._shown.capture_id):
            self._previous, self._shown = self._shown, capture
        if self.state == ACCEPTED and self.person is not None:
            self._last_done = (self.person.identity.name, capture)
            if previous_state != ACCEPTED:            # once the accept is on screen
                self.call_after_refresh(self.app.refreeze_heap)
        if self.code_mode and self.person is not None and self.person.capture_code \
                and self.app.devices is not None:
            self.app.devices.code_taken()        # the demo's student lowers the phone
        if previous_state != self.state:
            self._steady_since = None
            self._live_passed = self._live_spoke = False
            self.query_one(Notice).clear()
            self.query_one(LivePaused).hide()
            if self.state == FRAMING:
                self.freshness.start(time.monotonic())
            else:
                self.freshness.stop()
            if self.state == FRAMING and self.person is not None \
                    and already_done(self.person) is not None:   # the live checks take the
                self.query_one(Notice).say(both("tui.say.already_notice"), "warn")  # prompt
        elif self.query_one(Notice).level in ("error", "busy"):   # a step after a refusal
            self.query_one(Notice).clear()                      # succeeded, or a read is done
        self.app.live_wanted = self.state == FRAMING
        self._show_state()

    @on(SessionRefused)
    def session_refused(self, message: SessionRefused) -> None:
        self._pending = False
        self._capturing = False
        self.query_one(Notice).say(message.words, "error")

    def _facts(self) -> DeskFacts:
        fee = self.app.settings.fee.cents
        return DeskFacts(walk_in=self.app.walk_in is not None, code_mode=self.code_mode,
                         fee_yuan=f"{fee / 100:g}", typed_exported=self._typed_exported,
                         stopped=self.state == State.FAILSAFE.value)

    def _show_state(self) -> None:
        """Everything that follows from the session's state (not the live frames)."""
        state, person = self.state, self.person
        facts = self._facts()
        self.query_one(DeskHeader).show(self.context)
        self.query_one(IdentityPanel).show(person, facts)
        running = self.context is not None and self.context.slot_state == "running"
        self.query_one(Counters).show(self.counters, running)
        live = self.query_one("#live", PictureView)
        shot = self.query_one(CaptureView)
        checks = self.query_one(CheckList)
        if state in (CAPTURED, ACCEPTED) and self._shown is not None:
            live.display, shot.display = False, True
            shot.show(self._shown, self._previous if state == CAPTURED else None,
                      "tui.shot.this" if state == CAPTURED else "tui.shot.accepted")
            checks.show(capture_order(self._shown.checks), detail=True)
        elif state == "waiting_for_card" and self._last_done is not None \
                and self._last_done[1] is not None:
            live.display, shot.display = False, True
            shot.show(self._last_done[1], None, "tui.shot.last_student")
            checks.show([])
        else:
            live.display, shot.display = True, False
            if state != FRAMING:
                live.blank("tui.live.camera_down" if self.live_shared.camera_down and
                           state == "failsafe" else "tui.live.off")
                checks.show([])
        self.query_one(Legend).display = shot.display or state == FRAMING
        self.query_one(KeyBar).set_keys(self._keys())
        if state == FRAMING and self._live_spoke:
            return            # the live checks speak while framing
        words, level = desk_prompt(state, person, facts, self._last_done)
        self.query_one(Instruction).say(words, level)

    # ------------------------------------------------------------ live view

    @on(LiveFrame)
    def live_frame(self, message: LiveFrame) -> None:
        from station.tui.screens._base import SideScreen

        if not isinstance(self.app.screen, SideScreen):   # hidden: the worker slows down
            self.live_target.taken.set()                   # the worker may draw the next one
        self.freshness.frame(message.arrived)
        if self.state != FRAMING:
            return
        self.frames_shown += 1
        self.query_one("#live", PictureView).show(message.picture, message.fitted, message.refit)
        paused = self.query_one(LivePaused)
        if paused.shown:                  # live again: the notice goes with the first frame
            paused.hide()
            self._live_spoke = False
            self._show_state()

    def _look_live(self) -> None:
        """While framing, a picture older than live.STALE_AFTER is not live any more (camera
        asleep, cable pulled, live view stopped): say so on the picture and what to do, and put
        away the checks and the instruction that were about it. Arithmetic only: no device."""
        paused = self.query_one(LivePaused)
        if not self._live_running or self.state != FRAMING:
            paused.hide()
            return
        now = time.monotonic()
        age = self.freshness.age(now)
        if age is None or not self.freshness.stale(now):
            return
        hint = (both("tui.live.paused_idle") if self.live_shared.idle
                else both("tui.live.paused_camera", seconds=int(age)))
        paused.show(hint)
        if self.app.picture_mode == "graphics":   # a terminal image may be drawn over any text
            self.query_one("#live", PictureView).blank("tui.live.paused")   # laid on it: away
        self._steady_since = None        # no auto-capture countdown on a frozen picture
        self._live_passed = False
        self.query_one(CheckList).show([])
        self._live_spoke = True
        self.query_one(Instruction).say(hint, "warn")

    @on(LiveChecked)
    def live_checked(self, message: LiveChecked) -> None:
        if self.state != FRAMING or message.report is None or self.query_one(LivePaused).shown:
            return
        report = message.report
        checks = report.checks
        self.query_one(CheckList).show(checks)
        passed = bool(checks) and all(c.status == "pass" for c in checks)
        self._live_passed = passed
        if self.code_mode and self.person is not None and not self.person.capture_code:
            self._auto_countdown(False)     # no photo before the code: no countdown either
            self._live_spoke = True
            self.query_one(Instruction).say(both("tui.say.code_first"), "warn")
            return
        words = report.top_instruction
        countdown = self._auto_countdown(passed)
        if countdown is not None:
            words = both("tui.auto.countdown", seconds=f"{countdown:.1f}")
        elif not words:
            words = both("tui.say.hold")
        self._live_spoke = True
        self.query_one(Instruction).say(words, "ok" if passed else "warn")

    def _auto_countdown(self, passed: bool) -> float | None:
        """Seconds left before auto-capture fires (it fires at 0), or None when it will not."""
        if not passed:
            self._steady_since = None
            return None
        now = time.monotonic()
        if self._steady_since is None:
            self._steady_since = now
        if not self.auto_capture:
            return None
        steady = self.app.options.auto_capture_seconds or 0.5
        left = steady - (now - self._steady_since)
        if left <= 0 and not self._capturing:
            self.query_one(Notice).say(both("tui.auto.captured"), "ok")
            self.action_capture()
            return None
        return max(left, 0.0)

    @on(DeviceProblem)
    def device_problem(self, message: DeviceProblem) -> None:
        self._capturing = False
        self.query_one(DeviceBanner).set_problem(message.device, message.message_zh,
                                                 message.message_en)
        if message.device == "camera":
            self.query_one("#live", PictureView).blank("tui.live.camera_down")

    @on(DeviceBack)
    def device_back(self, message: DeviceBack) -> None:
        self.query_one(DeviceBanner).clear(message.device)

    @on(CardTapped)
    def card_tapped(self, message: CardTapped) -> None:
        identity = message.card.identity
        self.app.runner.step(lambda s: s.identify(identity))

    # ------------------------------------------------------------ keys

    def _submit(self, fn: Callable[[Any], Any]) -> None:
        """Run a session step for a key, unless the last key's step has not answered yet."""
        if self._pending:
            return
        self._pending = True
        self.app.runner.step(fn)

    def _form_subject(self) -> tuple[str, str | None]:
        """The person a form opens for: their card read id (the service refuses the form if
        the desk has moved on when it is sent) and their masked name and number to show."""
        person = self.person
        if person is None:
            return "", None
        identity = person.identity
        return person.card_read_id, t("tui.form.person", name=mask_name(identity.name),
                                      id=mask_id(identity.id_number))

    def action_tap(self) -> None:
        if self.state == State.FAILSAFE.value:      # no card is taken until the device is back
            self._first()
            return
        self.app.tap_next_card()

    def action_pay(self) -> None:
        if self.state != "identified" or self._pending:
            return
        person = self.person
        if person is not None and person.match.blocking and not person.override_by:
            self.query_one(Notice).say(both("tui.say.blocked"), "error")
            return

        opened_for, subject = self._form_subject()

        def paid(reference: str | None) -> None:
            if reference is not None:
                self._submit(lambda s: s.pay(reference or None, opened_for=opened_for))

        self.app.push_screen(PayDialog(self._facts().fee_yuan, subject=subject), paid)

    def _first(self) -> None:
        """A key that does nothing now: say what must happen first, instead of nothing."""
        self.query_one(Notice).say(first_words(self.state, self.person), "warn")

    def action_capture(self) -> None:
        if self.state != FRAMING:
            self._first()
            return
        if self._capturing:
            return
        self._capturing = True
        self.query_one(Notice).say(both("tui.capture.taking"))
        self._capture_worker(self.person.card_read_id if self.person is not None else "")

    @work(thread=True, group="capture", exclusive=True, exit_on_error=False)
    def _capture_worker(self, taken_of: str) -> None:
        from station.errors import DeviceError

        app = self.app
        try:
            devices = app.devices
            if devices is None:     # devices not opened yet: nothing to capture with
                return
            try:
                shot = devices.capture(timeout=15.0)
            except DeviceError as exc:
                zh, en = exc.messages
                app.post_message(DeviceProblem("camera", zh, en))
                key = exc.key
                app.runner.step(lambda s: s.device_error("camera", key))
                return
            except Exception as exc:    # a defect below: said in words, Space works on
                log.exception("capture failed unexpectedly")
                words = both("camera.generic", error=scrub(f"{type(exc).__name__}: {exc}"))
                app.post_message(SessionRefused(words, "camera.generic"))
                return
            app.runner.step(lambda s: _capture_for(s, taken_of, shot)).result()
        finally:                    # whatever happened, the shutter is free again
            app.call_from_thread(self._capture_done)

    def _capture_done(self) -> None:
        self._capturing = False

    def action_accept(self) -> None:
        if self.state == CAPTURED:
            self._submit(lambda s: s.accept())
        elif self.state != ACCEPTED:      # after an accept, a second A is a double press
            self._first()

    def action_retake(self) -> None:
        if self.state in (CAPTURED, ACCEPTED):     # after an accept: this student once more
            self._submit(lambda s: s.retake())
        else:
            self._first()

    def action_skip(self) -> None:
        if self.person is None:       # nobody to skip (waiting, or failsafe between students)
            if self.state == State.FAILSAFE.value:
                self._first()
            return
        self._submit(lambda s: s.skip())

    def action_next(self) -> None:
        if self.state == ACCEPTED:
            self._submit(lambda s: s.next())

    def _overridable(self) -> bool:
        """Whether O has something to approve: a roster block before the fee, failed checks on
        the photo waiting for its decision (an approval of anything else would be recorded as
        a supervisor's override of nothing)."""
        person = self.person
        if person is None:
            return False
        if self.state == "identified":
            return bool(person.match.blocking) and not person.override_by
        if self.state == CAPTURED:
            return person.capture is not None and not person.capture.passed
        return False

    def action_override(self) -> None:
        if not self._overridable():       # say what to press instead
            if self.state == CAPTURED:
                words, _level = desk_prompt(self.state, self.person, self._facts(),
                                            self._last_done)
                self.query_one(Notice).say(words, "warn")
            else:
                self._first()
            return
        opened_for, subject = self._form_subject()
        self.app.push_screen(SupervisorDialog(
            lambda v, s: s.approve(v.name, v.pin, v.reason, opened_for=opened_for), subject))

    def action_manual(self) -> None:
        if self.state == State.FAILSAFE.value:
            self._first()
            return
        if self.state not in (State.WAITING.value, ACCEPTED):   # a student is at the desk
            self.query_one(Notice).say(both("tui.first.manual"), "warn")
            return
        opened_for, _ = self._form_subject()
        self.app.push_screen(ManualEntryDialog(
            lambda v, s: s.identify_typed(v["man-name"], v["man-id"], v["sup-name"],
                                          v["sup-pin"], opened_for=opened_for)))

    def action_address(self) -> None:
        if self.app.walk_in is None or self.person is None:
            return

        def entered(address: str | None) -> None:
            if address:
                self._submit(lambda s: s.set_mailing_address(address))

        self.app.push_screen(AddressDialog(), entered)

    def action_toggle_auto(self) -> None:
        self.auto_capture = not self.auto_capture
        self._steady_since = None      # the countdown starts now, never from earlier framing
        self.query_one(Notice).say(both("tui.auto.on" if self.auto_capture else "tui.auto.off"))
        self.query_one(KeyBar).set_keys(self._keys())

    # ------------------------------------------------------------ 图像采集码 (code mode)

    def action_code(self) -> None:
        """Type a capture code by hand: the field takes the keys until Enter, Tab or Esc."""
        if not self.code_mode:
            return
        if self.person is None:
            self.query_one(Notice).say(both("tui.code.no_person"), "warn")
            return
        self.query_one("#capture-code").focus()

    def action_tab(self) -> None:
        """Tab on the desk keeps the focus where it is (nowhere): in code mode it says how the
        code goes in instead of silently putting the desk's keys into the field."""
        if self.code_mode:
            self.query_one(Notice).say(both("tui.code.tab"), "warn")

    def key_escape(self) -> None:
        """Esc leaves the code field without a code: the desk's keys work again."""
        if self.focused is not None:
            self.set_focus(None)

    def action_scan_demo_code(self) -> None:
        """Demo: the student's phone under the scanner — its code typed as a scanner does."""
        if not (self.code_mode and self.app.options.demo and self.person is not None):
            return
        from station.sim.demo import demo_capture_code

        for char in demo_capture_code(self.person.identity) + "\t":
            key = "tab" if char == "\t" else char.lower()
            self.app.post_message(events.Key(key, char))

    def action_code_from_camera(self) -> None:
        """The student holds the phone's QR code up to the camera: the service decodes the
        newest live frame on the store thread (OpenCV's QR decoder) and takes the code as it
        takes a scanned one."""
        if not self.code_mode or self._pending:
            return
        if self.person is None or self.state in ("waiting_for_card", ACCEPTED):
            self.query_one(Notice).say(both("tui.code.no_person"), "warn")
            return
        devices = self.app.devices
        frame = devices.latest_frame() if devices is not None else None
        if frame is None:
            self.query_one(Notice).say(both("tui.code.no_frame"), "warn")
            return
        self.query_one(Notice).say(both("tui.code.reading"), "busy")   # until the answer
        self._submit(lambda s: s.scan_capture_code(frame.image()))

    @on(CodeField.Scanned)
    def code_scanned(self, message: CodeField.Scanned) -> None:
        if self.person is None or self.state in ("waiting_for_card", ACCEPTED):
            self.query_one(Notice).say(both("tui.code.no_person"), "warn")
            return
        code, replace = message.code, message.deliberate
        self._submit(lambda s: s.set_capture_code(code, replace=replace))

    def on_key(self, event: events.Key) -> None:
        """Any key: the operator is at the desk (live view is not idle). Code mode: hold each
        desk key for a moment so a scanner's burst ("CODE\t") becomes a code instead of presses
        of a, s, r… (see station.tui.burst)."""
        if self.app.devices is not None:
            self.app.devices.operator_active()
        if not self.code_mode or self.app.screen is not self or self.focused is not None:
            return
        now = time.monotonic()
        if self._guard.collecting and event.key in ("enter", "tab"):
            self._stop(event)
            self._end_burst()
            return
        if not event.is_printable or event.character is None:
            return
        self._stop(event)
        verdict = self._guard.printable(event.key, event.character, now)
        if verdict == "burst":
            if self._burst_timer is not None:
                self._burst_timer.stop()
            self._burst_timer = self.set_timer(BURST_END, self._end_burst)
            return
        if verdict == "release+hold":
            self._release(self._guard.held)      # the new key is held; act on the old one
        self.set_timer(GAP, self._release_held)

    @staticmethod
    def _stop(event: events.Key) -> None:
        event.stop()
        event.prevent_default()

    def _release_held(self) -> None:
        if self._guard.held is not None and time.monotonic() - self._guard.held_at >= GAP * 0.9:
            self._release(self._guard.take_held())

    def _release(self, held: tuple[str, str] | None) -> None:
        action = self.KEY_ACTIONS.get(held[0]) if held is not None else None
        if action is not None:
            self.call_later(self.run_action, action)
        elif held is not None and held[0] in ("l", "question_mark"):
            app_action = "toggle_language" if held[0] == "l" else "help"
            self.app.call_later(self.app.run_action, app_action)

    def _end_burst(self) -> None:
        self._burst_timer = None
        code = self._guard.end_burst()
        if code is not None:
            self.query_one(CodeField).take_burst(code)

    def typed_policy(self, exported: bool) -> None:
        """The service's answer: are typed identities exported? (asked once after log-in)"""
        self._typed_exported = exported
        self._show_state()
