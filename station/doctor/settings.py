"""Settings check of `station doctor`: every key of station.toml and of the environment known,
every value of the right type (the same check that stops the other commands at start)."""

from __future__ import annotations

from station.doctor.check import DoctorCheck, DoctorContext


def check_settings(ctx: DoctorContext) -> list[DoctorCheck]:
    error = ctx.settings_error
    if error is None:
        source = str(ctx.settings.source) if ctx.settings.source else ""
        key = "doctor.settings_ok" if source else "doctor.settings_defaults"
        return [DoctorCheck.from_key("settings", "config", "pass", key,
                                     {"source": source or None}, source=source),
                check_mode(ctx)]
    return [DoctorCheck("settings", "config", "fail", p.text("zh"), p.text("en"), p.to_json())
            for p in error.problems]


def check_mode(ctx: DoctorContext) -> DoctorCheck:
    """Card mode is the 2017 procedure; CHSI has taken 图像采集码-keyed uploads only since
    2023-01-01 (教学服〔2022〕10号), so a station left in it for today's pipeline is told."""
    mode = ctx.settings.session.mode
    if mode == "card":
        return DoctorCheck.from_key("settings", "mode", "warn", "doctor.mode_card", {"mode": mode})
    return DoctorCheck.from_key("settings", "mode", "pass", "doctor.mode_code", {"mode": mode})
