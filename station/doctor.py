"""`station doctor`: is this machine ready to run a station? Each area contributes checks.

Areas expose ``checks() -> list[DoctorCheck]`` in an optional module (``station.camera.doctor``,
``station.idcard.doctor``, …); a missing module is skipped and a crashing one becomes a failed
check, so one broken area never hides the others' answers.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.i18n import both

if TYPE_CHECKING:
    from station.cli.context import Context

STATUSES = ("pass", "warn", "fail", "skip")
AREA_MODULES = ("station.camera.doctor", "station.idcard.doctor", "station.checks.doctor",
                "station.export.doctor", "station.tui.doctor")
REQUIRED_PACKAGES = ("sqlite_utils", "ulid", "argon2", "openpyxl", "python_calamine", "platformdirs", "PIL", "cv2",
                     "numpy", "gphoto2", "smartcard", "serial", "textual", "cryptography", "fpdf")
PCSCD_SOCKETS = ("/run/pcscd/pcscd.comm", "/var/run/pcscd/pcscd.comm")
DISK_WARN_BYTES = 5 * 1024**3
DISK_FAIL_BYTES = 512 * 1024**2


@dataclass
class DoctorCheck:
    """One answer: area (store, camera, idcard…), name, status and a message in both languages."""

    area: str
    name: str
    status: str
    message_zh: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_key(cls, area: str, name: str, status: str, key: str, details: dict | None = None,
                 **params: Any) -> DoctorCheck:
        zh, en = both(key, **params)
        return cls(area, name, status, zh, en, details or {})

    def message(self, lang: str) -> str:
        return self.message_zh if lang == "zh" else self.message_en

    def to_json(self) -> dict:
        return {"area": self.area, "name": self.name, "status": self.status,
                "message_zh": self.message_zh, "message_en": self.message_en,
                "details": self.details}


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
                                        {"socket": path}, socket=path, error=str(exc))
        return DoctorCheck.from_key("system", "pcscd", "pass", "doctor.pcscd_ok", {"socket": path},
                                    socket=path)
    return DoctorCheck.from_key("system", "pcscd", "warn", "doctor.pcscd_missing")


def check_disk(data_dir: Path) -> DoctorCheck:
    probe = data_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    gb = f"{free / 1024**3:.1f}"
    status = "fail" if free < DISK_FAIL_BYTES else "warn" if free < DISK_WARN_BYTES else "pass"
    return DoctorCheck.from_key("system", "disk", status, "doctor.disk",
                                {"free_bytes": free, "path": str(probe)}, free=gb, path=str(probe))


def check_store(ctx: Context) -> DoctorCheck:
    """A quick integrity check; `station fsck` is the full one (images are re-hashed there)."""
    from station.store.core import DB_NAME

    if not (ctx.data_dir / DB_NAME).exists():
        return DoctorCheck.from_key("store", "integrity", "warn", "doctor.store_missing",
                                    path=str(ctx.data_dir))
    store = ctx.store()
    quick = [r[0] for r in store.conn.execute("PRAGMA quick_check")]
    chain = store.audit.verify()
    if quick != ["ok"] or chain:
        return DoctorCheck.from_key("store", "integrity", "fail", "doctor.store_bad",
                                    {"sqlite": quick, "audit": [p.to_json() for p in chain]},
                                    problems=len(chain) + (quick != ["ok"]))
    if not store.initialized:
        return DoctorCheck.from_key("store", "integrity", "warn", "store.not_initialized")
    return DoctorCheck.from_key("store", "integrity", "pass", "doctor.store_ok",
                                {"station_id": store.station_id}, station=store.station_id)


def area_checks(modules: tuple[str, ...] = AREA_MODULES) -> list[DoctorCheck]:
    out: list[DoctorCheck] = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # the area (or its doctor) is not installed
            out.append(DoctorCheck.from_key(name.split(".")[1], "doctor", "fail",
                                            "doctor.area_crashed", module=name, error=str(exc)))
            continue
        try:
            out.extend(module.checks())
        except Exception as exc:  # one broken area must not hide the others
            out.append(DoctorCheck.from_key(name.split(".")[1], "doctor", "fail",
                                            "doctor.area_crashed", module=name,
                                            error=f"{type(exc).__name__}: {exc}"))
    return out


def run_checks(ctx: Context) -> list[DoctorCheck]:
    checks = [check_python(), check_packages(), check_pcscd(), check_disk(ctx.data_dir)]
    try:
        checks.append(check_store(ctx))
    except Exception as exc:
        checks.append(DoctorCheck.from_key("store", "integrity", "fail", "doctor.area_crashed",
                                           module="store", error=f"{type(exc).__name__}: {exc}"))
    checks.extend(area_checks())
    return checks
