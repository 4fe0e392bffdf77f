"""Devices: camera status (model, battery, free space), settings preset, reader, calibration."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.worker import Worker

from station.i18n import get_language, t
from station.tui.screens._base import SideScreen


class DevicesScreen(SideScreen):
    TITLE_KEY = "tui.devices.title"
    _probe: Worker[Any] | None = None

    def action_reload(self) -> None:
        """Ask the devices on a worker thread (a status call may block on USB)."""
        devices = self.app.devices

        def probe() -> Any:
            if devices is None:
                return ()
            try:
                return (devices.camera_state(), devices.reader_state(),
                        devices.camera_settings(), devices.calibration_state())
            except Exception as exc:  # a device that cannot even answer is shown as such
                return str(exc)

        self._probe = self.run_worker(probe, thread=True, exit_on_error=False, group="probe")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if self._probe is not None and event.worker is self._probe and self._probe.is_finished:
            self._loaded(self._probe.result)

    def render_body(self, data: Any) -> Any:
        if not data or isinstance(data, str):
            return Text(t("tui.devices.none") + (f"\n{data}" if isinstance(data, str) else ""))
        parts: list[Any] = []
        states, settings, calibration = data[:2], data[2], data[3]
        for state in states:
            table = Table(title=t(f"tui.devices.{state.name}"), expand=True, title_justify="left",
                          show_header=False)
            table.add_column(style="dim", no_wrap=True)
            table.add_column()
            status = (Text(t("tui.devices.ok"), style="green") if state.ok
                      else Text(t("tui.devices.down"), style="bold red"))
            table.add_row(t("tui.devices.status"), status)
            for key, value in sorted(state.detail.items()):
                if value not in (None, "", {}):
                    table.add_row(key, str(value))
            if state.problem:
                table.add_row(t("tui.devices.problem"),
                              state.problem[0 if get_language() == "zh" else 1])
            parts.append(table)
        if settings:
            table = Table(title=t("tui.devices.preset"), expand=True, title_justify="left",
                          show_header=False)
            table.add_column(style="dim", no_wrap=True)
            table.add_column()
            for name, value in sorted(settings.items()):
                table.add_row(name, value)
            parts.append(table)
        if calibration:
            parts.append(Text(t("tui.devices.calibrated", when=calibration["measured_at"],
                                rgb=tuple(calibration["backdrop_rgb"]))))
        else:
            parts.append(Text(t("tui.devices.not_calibrated"), style="yellow"))
        parts.append(Text(t("tui.devices.calibration"), style="dim"))
        return Group(*parts)
