"""System checks of `station doctor`: Python, the packages, pcscd, free disk space."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
from pathlib import Path

from station import reasons
from station.doctor.check import DoctorCheck, Status

REQUIRED_PACKAGES = ("sqlite_utils", "ulid", "argon2", "openpyxl", "python_calamine", "platformdirs",
                     "PIL", "cv2", "numpy", "gphoto2", "smartcard", "serial", "textual",
                     "cryptography", "fpdf", "pydantic", "pydantic_settings")
PCSCD_SOCKETS = ("/run/pcscd/pcscd.comm", "/var/run/pcscd/pcscd.comm")
DISK_WARN_BYTES = 5 * 1024**3
DISK_FAIL_BYTES = 512 * 1024**2


def check_python() -> DoctorCheck:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return DoctorCheck.from_key("system", "python", "pass" if ok else "fail",
                                "doctor.python", {"version": version}, version=version)


def check_packages() -> DoctorCheck:
    missing = [p for p in REQUIRED_PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        return DoctorCheck.from_key("system", "packages", "fail", "doctor.packages_missing",
                                    {"missing": missing}, missing=", ".join(missing))
    return DoctorCheck.from_key("system", "packages", "pass", "doctor.packages_ok",
                                count=len(REQUIRED_PACKAGES))


def check_clock(offset_hours: float) -> DoctorCheck:
    """The machine's zone against the station's local time (``exports.utc_offset_hours``).

    The station reads its local time from the setting, not from the machine, so a laptop left at
    UTC still matches slots correctly; a difference is a warning because anything outside the
    station on that machine (file times, the system clock in the panel) tells another time."""
    from station.domain.localtime import machine_offset_hours

    machine = machine_offset_hours()
    params = {"machine": f"UTC{machine:+g}", "station": f"UTC{offset_hours:+g}"}
    if machine != offset_hours:
        return DoctorCheck.from_key("system", "clock", "warn", "doctor.clock_zone_differs", params, **params)
    return DoctorCheck.from_key("system", "clock", "pass", "doctor.clock_zone_ok", params, **params)


def check_pcscd(sockets: tuple[str, ...] | None = None) -> DoctorCheck:
    """pcscd answers on its socket (a connect is enough: it proves a daemon is listening).

    Default sockets: ``PCSCLITE_CSOCK_NAME`` (as libpcsclite uses it), then the system paths.
    """
    if sockets is None:
        env = os.environ.get("PCSCLITE_CSOCK_NAME")
        sockets = ((env,) if env else ()) + PCSCD_SOCKETS
    for path in sockets:
        if not Path(path).exists():
            continue
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect(path)
        except OSError as exc:
            return DoctorCheck.from_key("system", "pcscd", "fail", "doctor.pcscd_down",
                                        {"socket": path}, socket=path, error=reasons.of_os(exc))
        return DoctorCheck.from_key("system", "pcscd", "pass", "doctor.pcscd_ok", {"socket": path},
                                    socket=path)
    return DoctorCheck.from_key("system", "pcscd", "warn", "doctor.pcscd_missing")


def check_disk(data_dir: Path) -> DoctorCheck:
    probe = data_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    gb = f"{free / 1024**3:.1f}"
    status: Status = "fail" if free < DISK_FAIL_BYTES else "warn" if free < DISK_WARN_BYTES else "pass"
    return DoctorCheck.from_key("system", "disk", status, "doctor.disk",
                                {"free_bytes": free, "path": str(probe)}, free=gb, path=str(probe))
