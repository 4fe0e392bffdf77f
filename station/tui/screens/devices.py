"""Devices: camera status (model, battery, free space), settings preset, reader, calibration —
every line named in words of the screen's language, sizes and counts with their units."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.worker import Worker

from station.i18n import get_language, t
from station.tui.screens._base import SideScreen

# What the camera and the reader report, in the order a technician reads it.
CAMERA_ROWS = ("state", "model", "serial", "port", "battery", "storage", "free_images",
               "capabilities", "kind")
READER_ROWS = ("kind", "spec", "capabilities")


def _word(prefix: str, code: str) -> str:
    """The catalog's word for ``code`` under ``prefix``, else the code as the device said it."""
    key = f"{prefix}.{code.strip().lower().replace(' ', '_').replace('-', '_')}"
    text = t(key)
    return code if text == key else text


def _words(prefix: str, codes: str) -> str:
    sep = "、" if get_language() == "zh" else ", "
    return sep.join(_word(prefix, c) for c in codes.split(",") if c.strip())


def _gigabytes(kb: Any) -> str:
    return f"{int(kb) / 1024 / 1024:.1f}"


def camera_rows(detail: dict) -> list[tuple[str, str]]:
    """(label, value) lines of the camera's own status, in words with units."""
    rows = []
    for name in CAMERA_ROWS:
        if name == "storage":
            free, capacity = detail.get("free_kb"), detail.get("capacity_kb")
            if free is not None and capacity:
                rows.append((t("tui.devices.row.storage"),
                             t("tui.devices.storage", free=_gigabytes(free),
                               capacity=_gigabytes(capacity))))
            continue
        value = detail.get(name)
        if value in (None, "", {}):
            continue
        if name == "free_images":
            value = t("tui.devices.images", count=value)
        elif name == "capabilities":
            value = _words("tui.devices.cap", str(value))
        elif name in ("state", "kind"):
            value = _word(f"tui.devices.{name}", str(value))
        rows.append((t(f"tui.devices.row.{name}"), str(value)))
    return rows


def reader_rows(detail: dict) -> list[tuple[str, str]]:
    rows = []
    for name in READER_ROWS:
        value = detail.get(name)
        if value in (None, "", {}):
            continue
        if name == "capabilities":
            value = _words("tui.devices.cap", str(value))
        elif name == "spec":
            kind, _, arg = str(value).partition(":")
            value = _word("tui.devices.reader_kind", kind) + (f" {arg}" if arg else "")
        elif name == "kind":
            continue                        # the driver class: the spec line says it in words
        rows.append((t(f"tui.devices.row.{name}"), str(value)))
    return rows


class DevicesScreen(SideScreen):
    TITLE_KEY = "tui.devices.title"
    KEYS = [("F6", "tui.key.reload"), *SideScreen.KEYS]
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
                from station.errors import StationError
                from station.reasons import of

                return exc.message if isinstance(exc, StationError) else of(exc).render(get_language())

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
            table = _table(t(f"tui.devices.{state.name}"))
            status = (Text(t("tui.devices.ok"), style="green") if state.ok
                      else Text(t("tui.devices.down"), style="bold red"))
            table.add_row(t("tui.devices.status"), status)
            rows = camera_rows(state.detail) if state.name == "camera" else reader_rows(state.detail)
            for label, value in rows:
                table.add_row(label, value)
            if state.problem:
                table.add_row(t("tui.devices.problem"),
                              state.problem[0 if get_language() == "zh" else 1])
            parts.append(table)
        if settings:
            table = _table(t("tui.devices.preset"))
            for name, value in sorted(settings.items()):
                table.add_row(_word("tui.devices.setting", name), _word("tui.devices.value", value))
            parts.append(table)
        if calibration:
            r, g, b = calibration["backdrop_rgb"]
            parts.append(Text(t("tui.devices.calibrated", when=calibration["measured_at"],
                                rgb=f"{r}, {g}, {b}")))
        else:
            parts.append(Text(t("tui.devices.not_calibrated"), style="yellow"))
        parts.append(Text(t("tui.devices.calibration"), style="dim"))
        return Group(*parts)


def _table(title: str) -> Table:
    table = Table(title=title, expand=True, title_justify="left", show_header=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    return table
