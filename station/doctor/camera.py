"""Camera checks for ``station doctor``: GVFS grabbing the camera, udev rules, cameras present.

GVFS's gphoto2 volume monitor claims a camera as soon as it is plugged in, and libgphoto2 then
fails with -53. The check looks for those processes in /proc, so it costs nothing and needs no
camera.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from station.doctor.check import DoctorCheck, DoctorContext, Status

GVFS_PROCESSES = ("gvfs-gphoto2-volume-monitor", "gvfsd-gphoto2", "gvfs-mtp-volume-monitor",
                  "gvfsd-mtp")
RULES_NAME = "70-capture-station-camera.rules"
RULES_DIRS = (Path("/etc/udev/rules.d"), Path("/run/udev/rules.d"), Path("/lib/udev/rules.d"),
              Path("/usr/lib/udev/rules.d"))


def _result(name: str, status: Status, key: str, **params: Any) -> DoctorCheck:
    return DoctorCheck.from_key("camera", name, status, key, **params)


def gvfs_processes(proc: Path = Path("/proc")) -> list[str]:
    """Names of running GVFS programs that claim cameras (``pid:name``)."""
    found = []
    for comm in proc.glob("[0-9]*/comm"):
        try:
            name = comm.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:  # the process ended while we looked
            continue
        # /proc/*/comm is cut at 15 characters: compare prefixes
        if any(g.startswith(name) and len(name) >= 8 for g in GVFS_PROCESSES):
            found.append(f"{comm.parent.name}:{name}")
    return sorted(found)


def check_gvfs(proc: Path = Path("/proc")) -> DoctorCheck:
    found = gvfs_processes(proc)
    if found:
        return _result("gvfs", "warn", "camera.doctor.gvfs_running", processes=", ".join(found))
    return _result("gvfs", "pass", "camera.doctor.gvfs_ok")


def check_udev(dirs: tuple[Path, ...] = RULES_DIRS) -> DoctorCheck:
    for folder in dirs:
        if (folder / RULES_NAME).is_file():
            return _result("udev", "pass", "camera.doctor.udev_ok", path=str(folder / RULES_NAME))
    from station.paths import DRIVERS_DIR

    return _result("udev", "warn", "camera.doctor.udev_missing",
                   rules=str(DRIVERS_DIR / "udev" / RULES_NAME))


def check_cameras(kind: str = "gphoto2", *, configured: bool = True) -> DoctorCheck:
    """Cameras on the bus, judged against the configured driver ``kind``: with ``sim`` none is
    needed; with ``gphoto2`` or ``virtual`` none found is a missing device (a failed answer, so
    ``station doctor`` exits 3). ``configured=False`` when station.toml could not be read and
    ``kind`` is only the default: then a missing camera is a warning, the settings fail instead."""
    from station.camera import open_camera
    from station.camera.errors import CameraError

    if kind == "sim":
        return _result("detect", "pass", "camera.doctor.cameras", cameras="sim")
    try:
        cameras = open_camera(kind).list_cameras()
    except CameraError as exc:
        if exc.key == "camera.gphoto2_missing":
            return _result("detect", "fail", "camera.doctor.gphoto2_missing")
        return _result("detect", "fail", exc.key, **exc.params)
    if not cameras:
        if not configured:
            return _result("detect", "warn", "camera.doctor.no_camera")
        return _result("detect", "fail", "camera.doctor.none_found", driver=kind)
    names = ", ".join(f"{c['model']} ({c['port']})" for c in cameras)
    return _result("detect", "pass", "camera.doctor.cameras", cameras=names)


def checks(ctx: DoctorContext) -> list[DoctorCheck]:
    """Every camera check, in the order an operator should fix them."""
    return [check_gvfs(), check_udev(),
            check_cameras(ctx.settings.camera.driver, configured=ctx.settings_error is None)]
