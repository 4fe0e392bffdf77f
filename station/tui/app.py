"""The station's Textual app and ``make_app()``, the one factory used by the CLI and the tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from weakref import WeakKeyDictionary

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from station import i18n
from station.privacy import scrub
from station.tui.messages import (
    CardTapped,
    DeviceBack,
    DeviceProblem,
    SessionChanged,
    SessionRefused,
)
from station.tui.runner import SessionRunner

if TYPE_CHECKING:
    from station.devices import DeskDevices
    from station.domain.schools import WalkIn
    from station.settings import Settings
    from station.store.operators import Operator
    from station.tui.render import Guides

log = logging.getLogger(__name__)

# Seconds a thread may keep the interpreter lock while another waits (Python's default is 5 ms).
# The desk's thread waits for input and the terminal most of the time and needs the lock back at
# once: the picture and camera threads give it up sooner, so a key is answered sooner.
UI_SWITCH_INTERVAL = 0.001
# The collector's thresholds while the desk runs: a full pass at most every 100 middle ones
# (Python's default is 10). See StationApp.freeze_heap.
GC_THRESHOLDS = (700, 10, 100)
# Every this many accepts the refreeze walks the frozen objects too (see refreeze_heap).
REFREEZE_FULL_EVERY = 20


@dataclass
class AppOptions:
    """How the app runs: where the data is, which devices, language, demo extras, determinism."""

    data_dir: Path
    camera: str | None = "sim"
    reader: str | None = "sim"
    lang: str = "zh"
    demo: bool = False
    demo_people: list = field(default_factory=list)  # Identities the demo's tap key presents
    demo_looks: dict = field(default_factory=dict)   # ID number → sim look (station.sim.students)
    walk_in: str | None = None                       # school code: walk-in desk
    login: tuple[str, str] | None = None             # (name, PIN): log in at start
    live: bool = True                                # run reader + live-view workers
    picture: str | None = None                       # auto|graphics|halfblock; None: tui.picture
    auto_capture_seconds: float = 0.0
    clock: Callable[[], dt.datetime] | None = None
    devices: Any = None                              # a ready DeskDevices (tests, benchmarks)
    camera_opts: dict = field(default_factory=dict)
    service_kwargs: dict = field(default_factory=dict)  # extra CaptureService arguments (tests)


class StationApp(App):
    """Log-in first; then the desk, and the other screens the operator's role allows."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "Capture Station"
    # no Ctrl+P palette: its words are English only, its Quit asks nothing in the middle of a
    # student and its Screenshot writes a name to a file; every action has a key of its own
    ENABLE_COMMAND_PALETTE = False
    VERTICAL_BREAKPOINTS = [(0, "-low"), (30, "-tall")]   # forms close up on a short terminal
    BINDINGS = [
        # priority: the F-keys also work over the help screen (it is modal); forms ignore them
        Binding("f1", "help", show=False, priority=True),
        Binding("question_mark", "help", show=False),
        Binding("f2", "screen('schedule')", show=False, priority=True),
        Binding("f3", "screen('review')", show=False, priority=True),
        Binding("f4", "screen('devices')", show=False, priority=True),
        Binding("f5", "screen('exports')", show=False, priority=True),
        Binding("l", "toggle_language", show=False),
        Binding("ctrl+q", "quit_station", show=False, priority=True),
    ]

    def __init__(self, options: AppOptions) -> None:
        super().__init__()
        self.options = options
        self.title = "Capture Station"   # nothing personal in the terminal title
        self.operator: Operator | None = None
        self.walk_in: WalkIn | None = None
        self.live_wanted = False
        self.devices: DeskDevices | None = options.devices
        self.guides: Guides | None = None
        self.picture_mode = "halfblock"                  # resolved on mount (picture_mode.choose)
        self._settings: Settings | None = None
        self._demo_index = 0
        self._tap_cards: list | None = None
        self.runner = SessionRunner(self, self._open_store)
        self._switch_interval = sys.getswitchinterval()
        self._gc_thresholds: tuple[int, int, int] | None = None   # set while the heap is frozen
        self._refreezes = 0

    # ------------------------------------------------------------ plumbing

    @property
    def settings(self) -> Settings:
        """The station's settings (the CLI has checked them before the app starts)."""
        if self._settings is None:
            from station.config import load_settings

            self._settings = load_settings(self.options.data_dir)
        return self._settings

    @property
    def desk_mode(self) -> str:
        """``card`` (the 2017 procedure: the ID card identifies) or ``code`` (the student's
        图像采集码 is taken too, by a scanner)."""
        return self.settings.session.mode

    def _open_store(self) -> Any:
        from station.store import open_store

        return open_store(self.options.data_dir)

    def clock(self) -> dt.datetime:
        return self.options.clock() if self.options.clock else dt.datetime.now(dt.UTC)

    # ------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(UI_SWITCH_INTERVAL)
        i18n.set_language(self.options.lang)
        self.picture_mode = self._picture_mode()
        from station.tui.render import Guides

        try:
            from station.checks import load_profile

            self.guides = Guides.from_profile(load_profile(self.settings.exports.profile))
        except Exception:  # the fixed CHSI bounds until a profile can be read
            log.exception("photo profile for the guides")
            self.guides = Guides()
        if self.options.walk_in:
            from station.domain.schools import walk_in_for

            self.walk_in = walk_in_for(self.settings.schools, self.options.walk_in)
        from station.tui.screens.login import LoginScreen

        self.push_screen(LoginScreen())
        behind = self._clock_behind()
        if behind is not None:           # blocking: nobody logs in until the clock is right
            from station.tui.screens.clock_notice import ClockNotice

            self.push_screen(ClockNotice(behind))
            return
        if self.options.login:
            self.log_in(*self.options.login)

    def _clock_behind(self) -> Any:
        """The clock and the store's newest time when the clock went back (``ClockBehind``),
        else None (``station.store.wallclock``; one read of the store's meta)."""
        from station.store import open_store, wallclock

        try:
            with open_store(self.options.data_dir, access="read", check=False) as store:
                return wallclock.behind(store)
        except Exception:  # no store yet, or unreadable: the log-in says what is wrong
            log.exception("clock check")
            return None

    def _picture_mode(self) -> str:
        """Real images or half-block cells for this terminal (see station.tui.picture_mode)."""
        from station.tui import picture_mode

        try:
            mode = self.options.picture or self.settings.tui.picture
            return picture_mode.choose(mode, headless=self.is_headless)
        except Exception:  # the CLI refuses a bad setting before starting; never fail the desk
            log.exception("tui.picture")
            return picture_mode.HALFBLOCK

    def log_in(self, name: str, pin: str) -> None:
        """Authenticate on the store thread; the desk opens when it succeeds."""

        def auth(store: Any) -> Any:
            op = store.operators.authenticate(name, pin)
            store.operators.require(op, "session.run")
            self._start_service(store, op)
            return op

        def failed(words: tuple[str, str]) -> None:
            from station.tui.screens.login import LoginScreen

            if isinstance(self.screen, LoginScreen):
                self.screen.failed(words)

        self.runner.call(auth, self._logged_in, failed)

    def _start_service(self, store: Any, op: Any) -> None:
        from station.session.service import CaptureService

        kwargs: dict[str, Any] = {"settings": self.settings, "walk_in": self.walk_in,
                                  **self.options.service_kwargs}
        if self.options.clock:
            kwargs["clock"] = self.options.clock
        self.runner.service = CaptureService(store, op, **kwargs)

    def _logged_in(self, op: Any) -> None:
        from station.tui.screens.desk import DeskScreen

        self.operator = op
        if self.devices is None and (self.options.camera or self.options.reader):
            self._open_devices()       # before the desk mounts: its workers use the devices
        desk = DeskScreen()
        self.install_screen(desk, "desk")
        self.switch_screen("desk")
        self.runner.call(lambda _store: self.runner.service.typed_identity_exported(),
                         desk.typed_policy, lambda _words: None)

    def _open_devices(self) -> None:
        from station.devices import DeskDevices

        devices = self.devices = DeskDevices(self.options.camera, self.options.reader,
                                             self.settings.exports.profile,
                                             camera_opts=self.options.camera_opts,
                                             settings=self.settings, data_dir=self.options.data_dir)

        def opening() -> None:
            from station.errors import StationError
            from station.tui.messages import DeviceProblem

            try:
                devices.open()
            except StationError as exc:
                zh, en = exc.messages
                self.post_message(DeviceProblem(exc.key.split(".")[0], zh, en))
            except Exception as exc:    # a bug, not a device: on screen in words, traceback logged
                log.exception("opening the devices failed")
                zh, en = i18n.both("tui.step_failed", error=scrub(f"{type(exc).__name__}: {exc}"))
                self.post_message(DeviceProblem("devices", zh, en))

        self.run_worker(opening, thread=True, group="devices", exit_on_error=False)

    def freeze_heap(self) -> None:
        """Once the desk is up: what start-up built (modules, screens, models, styles) is moved
        out of the collector's way (gc.freeze) and full passes come ten times less often.

        The live view makes thousands of short-lived segments a second, so the collector ran
        often, and each full pass walked the whole heap while every thread waited: measured on
        the desk with live view, five full passes in 10 s of up to 232 ms each (keys and frames
        stopped with them); frozen, with these thresholds, no full pass in 10 s and no pause over
        16 ms. Undone when the app ends."""
        if self._gc_thresholds is not None:
            return
        self._gc_thresholds = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    def refreeze_heap(self) -> None:
        """After an accept (the photographer turns to the next student; nothing on screen is
        waited for): what the day has built since the last freeze is collected once and the
        survivors frozen too. The half-block pictures' shared styles (render._STYLES, up to
        65,536 of them, each with two colours) and the pictures' strips are long-lived; left
        in the oldest generation they made each full pass walk some 270,000 objects, a stall
        of 265–390 ms in the middle of framing (measured after six students, a full pass
        every ~18 s of desk work). Frozen at each accept, a full pass walks only what is new.
        What was alive when frozen and later dies in a cycle cannot be collected while frozen
        (about 2,000 objects a student): every REFREEZE_FULL_EVERY accepts the frozen part is
        walked too, so that stays bounded. Nothing while the heap is not frozen (before the
        desk is up, after the app ends)."""
        if self._gc_thresholds is None:
            return
        self._refreezes += 1
        if self._refreezes % REFREEZE_FULL_EVERY == 0:
            gc.unfreeze()
        gc.collect()
        gc.freeze()

    async def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)
        if self._gc_thresholds is not None:
            gc.unfreeze()
            gc.set_threshold(*self._gc_thresholds)
            self._gc_thresholds = None
        self.workers.cancel_all()
        if self.devices is not None and self.options.devices is None:
            self.devices.close()
        # off the UI thread, the loop still running: a store job on its way may be handing its
        # answer to the UI (call_from_thread waits for it); blocking here would never end
        await asyncio.to_thread(self.runner.close)

    # ------------------------------------------------------------ messages from workers

    def _to_desk(self, message: Any) -> None:
        """Worker results are posted to the app; the desk (even under another screen) acts."""
        try:
            desk = self.get_screen("desk")
        except KeyError:
            if isinstance(message, SessionRefused):
                self.notify(message.message, severity="error")
            return
        desk.post_message(message)

    def on_session_changed(self, message: SessionChanged) -> None:
        self._to_desk(SessionChanged(message.snapshot))

    def on_session_refused(self, message: SessionRefused) -> None:
        self._to_desk(SessionRefused(message.words, message.key))

    def on_device_problem(self, message: DeviceProblem) -> None:
        self._to_desk(DeviceProblem(message.device, message.message_zh, message.message_en))
        self._devices_changed()

    def on_device_back(self, message: DeviceBack) -> None:
        self._to_desk(DeviceBack(message.device))
        self._devices_changed()

    def _devices_changed(self) -> None:
        """The devices screen, when open, reads the devices again: it covers the desk's banner
        and would go on showing what it read when it opened."""
        from station.tui.screens.devices import DevicesScreen

        if isinstance(self.screen, DevicesScreen):
            self.screen.action_reload()

    def on_card_tapped(self, message: CardTapped) -> None:
        self._to_desk(CardTapped(message.card))

    # ------------------------------------------------------------ actions

    def action_help(self) -> None:
        from station.tui.screens.clock_notice import ClockNotice
        from station.tui.screens.help import HelpScreen

        if isinstance(self.screen, ClockNotice):
            return

        self._switch_to(HelpScreen)

    def action_screen(self, name: str) -> None:
        """Switch to one of the role-dependent screens: over the desk, replacing whichever side
        screen is open (Esc always leads straight back to the desk)."""
        operator = self.operator
        if operator is None:
            return
        from station.tui.screens import registry

        if not registry.allowed(name, operator.role):
            self.notify(i18n.t("tui.not_allowed", screen=i18n.t(registry.TITLES[name]),
                               roles=registry.roles_words(name)), severity="warning")
            return
        self._switch_to(lambda: registry.make(name, operator.role), registry.screen_class(name))

    def _switch_to(self, factory: Callable[[], Any], kind: type | None = None) -> None:
        """Show ``factory()`` on top of the desk: side screens and help replace each other,
        forms (a payment, an approval) are never covered."""
        from textual.screen import ModalScreen

        from station.tui.screens._base import SideScreen
        from station.tui.screens.help import HelpScreen

        kind = kind or factory  # type: ignore[assignment]
        if isinstance(self.screen, kind):  # type: ignore[arg-type]
            return
        if isinstance(self.screen, ModalScreen) and not isinstance(self.screen, HelpScreen):
            return
        if not isinstance(self.screen, SideScreen | HelpScreen) and len(self.screen_stack) > 2:
            return
        while isinstance(self.screen, SideScreen | HelpScreen):
            self.pop_screen()
        self.push_screen(factory())

    def action_quit_station(self) -> None:
        """Quit; in the middle of a student (identified, framing, a photo not yet decided) ask
        first, so a stray Ctrl+Q does not drop them."""
        from station.tui.screens.dialogs import ConfirmDialog

        if isinstance(self.screen, ConfirmDialog):
            return
        from station.tui.screens.desk import DeskScreen

        try:
            desk = self.get_screen("desk")
        except KeyError:
            desk = None
        if not isinstance(desk, DeskScreen) or desk.person is None \
                or desk.state in ("waiting_for_card", "accepted"):
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        from station.privacy import mask_name

        name = mask_name(desk.person.identity.name)     # as every form names its student
        self.push_screen(ConfirmDialog(i18n.t("tui.quit.confirm", name=name)), answered)

    def action_help_quit(self) -> None:
        """Ctrl+C (when no field has text selected to copy): a photographer pressing it to quit
        is told how. Textual's own hint looks for an ``app.quit`` binding, which the station
        does not have (Ctrl+Q asks first), so it said nothing."""
        self.notify(i18n.t("tui.quit.how"))

    def action_toggle_language(self) -> None:
        i18n.set_language("en" if i18n.get_language() == "zh" else "zh")
        self.relabel()

    def relabel(self) -> None:
        """Re-render what is on screen in the new language: the top screen, and the screen
        under it while a form covers part of it. Screens further down catch up when they are
        shown again (``relabel_screen`` on resume), so a switch costs one layout pass."""
        language = i18n.get_language()
        visible = [self.screen]
        if len(self.screen_stack) > 1 and self.screen.is_modal:
            visible.append(self.screen_stack[-2])
        for screen in visible:
            relabel_screen(screen, language)

    @property
    def can_tap(self) -> bool:
        """Whether the tap key puts a card on the reader (the demo, or a sim/virtual reader)."""
        return self.options.demo or (self.devices is not None and self.devices.taps_cards)

    def tap_next_card(self) -> None:
        """Put the next card on the simulated or virtual reader: the demo's cards, else the
        running slot's roster people (fetched once, on the store thread)."""
        if not self.can_tap:
            return
        if self.options.demo_people:
            self._tap(self.options.demo_people)
            return
        if self._tap_cards is not None:
            self._tap(self._tap_cards)
            return
        from station.sim.demo import tap_cards

        when = self.clock()

        def loaded(cards: list) -> None:
            self._tap_cards = cards
            self._tap(cards)

        self.runner.call(lambda store: tap_cards(store, when), loaded)

    def _tap(self, people: list) -> None:
        if not people or self.devices is None:
            return
        identity = people[self._demo_index % len(people)]
        self._demo_index += 1
        look = self.options.demo_looks.get(identity.id_number)
        if look:  # say who sat down: the demo shows failures the checks must catch
            from station.sim.students import LOOKS

            self.notify(i18n.t("sim.demo_student", label=LOOKS[look].label()))
        devices = self.devices
        self.run_worker(lambda: devices.tap(identity), thread=True, group="tap",
                        exit_on_error=False)

    async def settle(self, timeout: float = 10.0) -> None:
        """Tests and benchmarks: wait until the store thread is idle and messages are handled."""
        import asyncio
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            if not self.runner.busy:
                await asyncio.sleep(0.02)
                if not self.runner.busy:
                    return


@runtime_checkable
class Relabels(Protocol):
    """A screen or widget that shows words of the catalog: redraws them in the current language."""

    def relabel(self) -> None: ...


_language_of: WeakKeyDictionary[Screen[Any], str] = WeakKeyDictionary()


def relabel_screen(screen: Screen[Any], language: str) -> None:
    """Every widget of ``screen`` in ``language`` (unless it already is). Only repaints: a widget
    whose size follows its words asks for a layout pass itself (Static.update, the key bar when
    its number of lines changes); the desk's panels have fixed sizes."""
    if _language_of.get(screen) == language:
        return
    _language_of[screen] = language
    from textual.widgets import Label, Static

    if isinstance(screen, Relabels):
        screen.relabel()
    for node in screen.walk_children():
        if isinstance(node, Relabels):
            node.relabel()
            node.refresh()
        elif isinstance(node, Static | Label):      # words set at compose: shown again
            node.refresh()


def make_app(data_dir: Path, **options: Any) -> StationApp:
    """The station app over ``data_dir``; options as in :class:`AppOptions`."""
    return StationApp(AppOptions(data_dir=Path(data_dir), **options))
