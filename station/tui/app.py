"""The station's Textual app and ``make_app()``, the one factory used by the CLI and the tests."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding

from station import i18n
from station.tui.messages import (
    CardTapped,
    DeviceBack,
    DeviceProblem,
    SessionChanged,
    SessionRefused,
)
from station.tui.runner import SessionRunner

if TYPE_CHECKING:
    from station.settings import Settings

log = logging.getLogger(__name__)


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
    BINDINGS = [
        Binding("f1,question_mark", "help", show=False),
        Binding("f2", "screen('schedule')", show=False),
        Binding("f3", "screen('review')", show=False),
        Binding("f4", "screen('devices')", show=False),
        Binding("f5", "screen('exports')", show=False),
        Binding("l", "toggle_language", show=False),
        Binding("ctrl+q", "quit", show=False, priority=True),
    ]

    def __init__(self, options: AppOptions) -> None:
        super().__init__()
        self.options = options
        self.title = "Capture Station"   # nothing personal in the terminal title
        self.operator: Any = None
        self.walk_in: Any = None
        self.live_wanted = False
        self.devices: Any = options.devices
        self.guides: Any = None
        self.picture_mode = "halfblock"                  # resolved on mount (picture_mode.choose)
        self._settings: Settings | None = None
        self._demo_index = 0
        self.runner = SessionRunner(self, self._open_store)

    # ------------------------------------------------------------ plumbing

    @property
    def settings(self) -> Settings:
        """The station's settings (the CLI has checked them before the app starts)."""
        if self._settings is None:
            from station.config import load_settings

            self._settings = load_settings(self.options.data_dir)
        return self._settings

    def _open_store(self) -> Any:
        from station.store import open_store

        return open_store(self.options.data_dir)

    def clock(self) -> dt.datetime:
        return self.options.clock() if self.options.clock else dt.datetime.now(dt.UTC)

    # ------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
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
        if self.options.login:
            self.log_in(*self.options.login)

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

        def failed(message: str) -> None:
            from station.tui.screens.login import LoginScreen

            if isinstance(self.screen, LoginScreen):
                self.screen.failed(message)

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
        self.install_screen(DeskScreen(), "desk")
        self.switch_screen("desk")
        if self.devices is None and (self.options.camera or self.options.reader):
            self._open_devices()

    def _open_devices(self) -> None:
        from station.devices import DeskDevices

        self.devices = DeskDevices(self.options.camera, self.options.reader,
                                   self.settings.exports.profile,
                                   camera_opts=self.options.camera_opts, settings=self.settings,
                                   data_dir=self.options.data_dir)

        def opening() -> None:
            from station.errors import StationError
            from station.tui.messages import DeviceProblem

            try:
                self.devices.open()
            except StationError as exc:
                zh, en = exc.messages
                self.post_message(DeviceProblem(exc.key.split(".")[0], zh, en))
            except ImportError as exc:
                zh, en = i18n.both("session.no_devices", feature=str(exc.name))
                self.post_message(DeviceProblem("devices", zh, en))

        self.run_worker(opening, thread=True, group="devices", exit_on_error=False)

    def on_unmount(self) -> None:
        self.workers.cancel_all()
        if self.devices is not None and self.options.devices is None:
            self.devices.close()
        self.runner.close()

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
        self._to_desk(SessionRefused(message.message, message.key))

    def on_device_problem(self, message: DeviceProblem) -> None:
        self._to_desk(DeviceProblem(message.device, message.message_zh, message.message_en))

    def on_device_back(self, message: DeviceBack) -> None:
        self._to_desk(DeviceBack(message.device))

    def on_card_tapped(self, message: CardTapped) -> None:
        self._to_desk(CardTapped(message.card))

    # ------------------------------------------------------------ actions

    def action_help(self) -> None:
        from station.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_screen(self, name: str) -> None:
        """Open one of the role-dependent screens over the desk."""
        if self.operator is None:
            return
        from station.tui.screens import registry

        screen = registry.make(name, self.operator.role)
        if screen is None:
            self.notify(i18n.t("tui.not_allowed"), severity="warning")
            return
        self.push_screen(screen)

    def action_toggle_language(self) -> None:
        i18n.set_language("en" if i18n.get_language() == "zh" else "zh")
        self.relabel()

    def relabel(self) -> None:
        """Re-render every widget in the new language."""
        for screen in self.screen_stack:
            for node in [screen, *screen.walk_children()]:
                relabel = getattr(node, "relabel", None)
                if callable(relabel):
                    relabel()
                node.refresh()
            screen.refresh(layout=True)  # words change length: one layout pass per screen

    def tap_next_demo_card(self) -> None:
        """Demo: put the next demo student's card on the simulated reader."""
        people = self.options.demo_people
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


def make_app(data_dir: Path, **options: Any) -> StationApp:
    """The station app over ``data_dir``; options as in :class:`AppOptions`."""
    return StationApp(AppOptions(data_dir=Path(data_dir), **options))
