"""Settings and status of a gphoto2 camera: libgphoto2's config widgets under station names.

Split from the driver to keep each file about one thing; ``GPhoto2Camera`` mixes it in and
provides ``_cam``, ``_caps``, ``_table``, ``_widgets``, ``_model``, ``_call`` and ``_require``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from station.camera.base import SETTING_NAMES, CameraStatus, Setting
from station.camera.errors import CameraDisconnected, CameraError, from_gphoto2
from station.camera.gphoto2_env import gphoto2_module


class GPhoto2Settings:
    """Reading and writing settings, and reading status, through the config widget tree."""

    _cam: Any
    _caps: Any
    _table: Any
    _widgets: set[str]
    _model: str
    _ram_target: bool

    # Provided by GPhoto2Camera, the driver this mixin belongs to.
    def _call(self, action: str, fn: Any, *args: Any) -> Any:
        raise NotImplementedError

    def _require(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _reads_ram_target(self, config: Any) -> bool:
        """Whether shots land in camera RAM (to be downloaded, not deleted) rather than on a card."""
        if config is None or self._table is None:
            return False
        try:
            value = str(config.get_child_by_name("capturetarget").get_value())
        except Exception:  # noqa: BLE001 - no such widget on this body
            return False
        return self._table.station_value("capture_target", value) == "ram"

    # -- settings -------------------------------------------------------------------------------
    def _find(self, config: Any, name: str) -> tuple[str, Any] | None:
        assert self._table is not None
        for widget_name in self._table.widget_names(name):
            if self._widgets and widget_name not in self._widgets:
                continue
            try:
                return widget_name, config.get_child_by_name(widget_name)
            except Exception:  # noqa: BLE001 - not on this camera
                continue
        return None

    def _setting(self, name: str, widget_name: str, widget: Any) -> Setting:
        gp = gphoto2_module()
        choices: tuple[str, ...] = ()
        if widget.get_type() in (gp.GP_WIDGET_RADIO, gp.GP_WIDGET_MENU):
            choices = tuple(str(widget.get_choice(i)) for i in range(widget.count_choices()))
        return Setting(name=name, value=str(widget.get_value()), choices=choices,
                       readonly=bool(widget.get_readonly()), widget=widget_name)

    def settings(self) -> dict[str, Setting]:
        cam = self._require()
        if not self._caps.config:
            return {}
        config = self._call("read settings", cam.get_config)
        out: dict[str, Setting] = {}
        for name in SETTING_NAMES:
            found = self._find(config, name)
            if found:
                out[name] = self._setting(name, *found)
        return out

    def set_setting(self, name: str, value: str) -> Setting:
        cam = self._require()
        config = self._call("read settings", cam.get_config)
        found = self._find(config, name) if name in SETTING_NAMES else None
        if found is None:
            available = ", ".join(sorted(self.settings())) or "-"
            raise CameraError("camera.setting_unknown", transient=False, name=name, available=available)
        current = self._setting(name, *found)
        if current.readonly:
            raise CameraError("camera.setting_readonly", transient=False, name=name)
        assert self._table is not None
        vendor = self._table.vendor_value(name, str(value), current.choices)
        self._set_widget(found[0], vendor)
        config = self._call("read settings", cam.get_config)
        if found[0] == "capturetarget":
            self._ram_target = self._reads_ram_target(config)
        return self._setting(name, found[0], config.get_child_by_name(found[0]))

    def _set_widget(self, widget_name: str, value: Any) -> None:
        cam = self._require()
        config = self._call("read settings", cam.get_config)
        widget = config.get_child_by_name(widget_name)
        widget.set_value(value)
        if hasattr(cam, "set_single_config"):
            self._call("write setting", cam.set_single_config, widget_name, widget)
        else:
            self._call("write setting", cam.set_config, config)

    # -- status ---------------------------------------------------------------------------------
    def status(self) -> CameraStatus:
        cam = self._require()
        gp = gphoto2_module()
        values: dict[str, str] = {}
        if self._caps.config:
            config = self._call("read status", cam.get_config)
            for key in ("serialnumber", "batterylevel", "eosserialnumber", "manufacturer"):
                if key in self._widgets:
                    with contextlib.suppress(gp.GPhoto2Error):
                        values[key] = str(config.get_child_by_name(key).get_value())
        free_kb = capacity_kb = free_images = None
        try:
            for info in cam.get_storageinfo():
                if info.fields & gp.GP_STORAGEINFO_FREESPACEKBYTES:
                    free_kb = (free_kb or 0) + int(info.freekbytes)
                if info.fields & gp.GP_STORAGEINFO_MAXCAPACITY:
                    capacity_kb = (capacity_kb or 0) + int(info.capacitykbytes)
                if info.fields & gp.GP_STORAGEINFO_FREESPACEIMAGES:
                    free_images = (free_images or 0) + int(info.freeimages)
        except gp.GPhoto2Error as exc:
            err = from_gphoto2(exc, "storage info")
            if isinstance(err, CameraDisconnected):
                self.close()
                raise err from None
        port = ""
        with contextlib.suppress(gp.GPhoto2Error):
            port = cam.get_port_info().get_path()
        return CameraStatus(model=self._model, serial=values.get("serialnumber") or values.get("eosserialnumber", ""),
                            port=port, battery=values.get("batterylevel", ""), free_kb=free_kb,
                            capacity_kb=capacity_kb, free_images=free_images)
