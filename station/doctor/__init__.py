"""`station doctor`: is this machine ready to run a station?

Every check lives in this package, one module per area: ``system`` (Python, packages, pcscd,
disk), ``settings`` (station.toml and the environment), ``store``, ``camera``, ``idcard`` and ``checks`` (photo profile, face detector,
calibration). Each area function takes a :class:`DoctorContext` and returns its answers; an area
whose check crashes at run time becomes a failed answer, so it never hides the others'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from station.doctor import camera, checks, idcard, settings, store, system
from station.doctor.check import STATUSES, DoctorCheck, DoctorContext

__all__ = ["AREAS", "DEVICE_AREAS", "STATUSES", "DoctorCheck", "DoctorContext", "area_checks", "run_checks"]

AreaChecks = Callable[[DoctorContext], list[DoctorCheck]]


def _system(ctx: DoctorContext) -> list[DoctorCheck]:
    return [system.check_python(), system.check_packages(), system.check_pcscd(),
            system.check_disk(ctx.data_dir), system.check_clock(ctx.settings.exports.utc_offset_hours)]


def _store(ctx: DoctorContext) -> list[DoctorCheck]:
    return [store.check_store(ctx.data_dir)]


# Areas whose failed answer means a device is missing or failed: `station doctor` exits 3 (cli.md)
DEVICE_AREAS = ("camera", "idcard")

AREAS: tuple[tuple[str, AreaChecks], ...] = (
    ("system", _system), ("settings", settings.check_settings), ("store", _store),
    ("camera", camera.checks),
    ("idcard", idcard.checks), ("checks", checks.checks))


def area_checks(ctx: DoctorContext,
                areas: Sequence[tuple[str, AreaChecks]] = AREAS) -> list[DoctorCheck]:
    """Every area's answers in order; an area that crashes is one failed answer."""
    out: list[DoctorCheck] = []
    for area, run in areas:
        try:
            out.extend(run(ctx))
        except Exception as exc:  # one broken area must not hide the others
            out.append(DoctorCheck.from_key(area, "doctor", "fail", "doctor.area_crashed",
                                            module=area, error=f"{type(exc).__name__}: {exc}"))
    return out


def run_checks(ctx: DoctorContext) -> list[DoctorCheck]:
    return area_checks(ctx)
