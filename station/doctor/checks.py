"""`station doctor` checks of the photo-checks area: profile, face detector, this station's calibration."""

from __future__ import annotations

from pathlib import Path

from station.doctor.check import DoctorCheck, DoctorContext, Status


def check_profile(name: str = "chsi") -> DoctorCheck:
    from station.checks.profile import load_profile
    from station.errors import StationError

    try:
        profile = load_profile(name)
    except StationError as exc:
        zh, en = exc.messages
        return DoctorCheck("checks", "profile", "fail", zh, en, {"profile": name})
    return DoctorCheck.from_key("checks", "profile", "pass", "checks.doctor.profile_ok",
                                {"path": str(profile.path)}, profile=name)


def check_detector() -> DoctorCheck:
    """The MTCNN models and Haar cascades load and find the one face of a rendered portrait."""
    try:
        from station.checks import check_image
        from station.sim.portrait import render

        report = check_image(render(480, 640, face_width=221, eye_y=250)[0])
        faces = report.geometry.get("face_count", 0)
    except Exception as exc:  # any import or model failure is the answer here
        return DoctorCheck.from_key("checks", "detector", "fail", "checks.doctor.detector_bad",
                                    {"error": str(exc)}, error=f"{type(exc).__name__}: {exc}")
    status: Status = "pass" if faces == 1 else "fail"
    key = "checks.doctor.detector_ok" if faces == 1 else "checks.doctor.detector_bad"
    return DoctorCheck.from_key("checks", "detector", status, key, {"faces": faces},
                                error=f"{faces} faces")


def check_models() -> DoctorCheck:
    """The landmark models shipped with the station are all there and unaltered."""
    from station.checks.landmarks import MODELS, damaged_models

    bad = damaged_models()
    if bad:
        return DoctorCheck.from_key("checks", "models", "fail", "checks.doctor.models_bad",
                                    {"files": bad, "folder": str(MODELS)}, files=", ".join(bad))
    return DoctorCheck.from_key("checks", "models", "pass", "checks.doctor.models_ok",
                                {"folder": str(MODELS)})


def check_split_decoder() -> DoctorCheck:
    """The two-core JPEG decoder (a C extension built by pip) is there and decodes: without it
    the checks decode with libjpeg on one core, the same verdicts, about 0.1 of an imread slower."""
    try:
        from station.checks import splitjpeg

        splitjpeg.selftest()
    except Exception as exc:  # not built (no C compiler at install), or broken
        return DoctorCheck.from_key("checks", "split_decoder", "warn",
                                    "checks.doctor.split_decoder_missing",
                                    {"error": f"{type(exc).__name__}: {exc}"},
                                    error=f"{type(exc).__name__}: {exc}")
    return DoctorCheck.from_key("checks", "split_decoder", "pass", "checks.doctor.split_decoder_ok")


def check_calibration(data_dir: Path, name: str = "chsi") -> DoctorCheck:
    from station.checks.calibration import load_calibration
    from station.errors import StationError

    try:
        cal = load_calibration(data_dir, name)
    except StationError as exc:
        zh, en = exc.messages
        return DoctorCheck("checks", "calibration", "fail", zh, en)
    if cal is None:
        return DoctorCheck.from_key("checks", "calibration", "warn", "checks.doctor.not_calibrated")
    return DoctorCheck.from_key("checks", "calibration", "pass", "checks.doctor.calibrated",
                                cal.to_json(), when=cal.measured_at,
                                rgb=",".join(map(str, cal.backdrop_rgb)))


def checks(ctx: DoctorContext) -> list[DoctorCheck]:
    profile = ctx.settings.exports.profile
    return [check_profile(profile), check_models(), check_detector(), check_split_decoder(),
            check_calibration(ctx.data_dir, profile)]
