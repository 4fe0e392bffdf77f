"""Station set-up commands: init, fsck, doctor (operators: station.cli.operators)."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.cli.context import Context

# Letters of any script (呈贡-1 is a natural name here), digits, '_', '-', '.'; never a path.
_STATION_ID = re.compile(r"^[^\W_][\w.-]{0,31}$")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create the store and the first supervisor (idempotent)")
    p.add_argument("--station-id", required=True, help="this station's name: letters (Chinese too), digits, _ - . (at most 32)")
    p.add_argument("--supervisor", required=True, help="name of the first supervisor")
    p.add_argument("--school-code", help="5-digit school code (default from configuration: 10673)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_init, creates_store=True)

    f = sub.add_parser("fsck", help="store integrity: SQLite, images, audit chain")
    f.add_argument("--json", action="store_true")
    f.set_defaults(handler=cmd_fsck)

    d = sub.add_parser("doctor", help="environment and device self-test")
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler=cmd_doctor, reports_bad_settings=True)

    c = sub.add_parser("config", help="the station's settings")
    c_sub = c.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = c_sub.add_parser("show", help="every setting in effect, as TOML with its documentation")
    show.add_argument("--defaults", action="store_true", help="the documented defaults instead")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_config_show, needs_data_dir=False)


def cmd_init(ctx: Context, args: argparse.Namespace) -> int:
    import unicodedata

    from station.cli.operators import new_pin
    from station.cli.output import emit
    from station.domain.schools import check_school_code
    from station.errors import InputError, Location, RefusedError
    from station.i18n import t
    from station.store.core import DB_NAME

    station_id = unicodedata.normalize("NFC", args.station_id.strip())
    if not _STATION_ID.fullmatch(station_id):
        raise InputError("store.bad_station_id", Location("--station-id"), value=station_id)
    school = check_school_code(args.school_code or ctx.settings.station.school_code, "--school-code")
    # everything a person types is asked before the store exists: a refused init leaves nothing
    pin = None
    if not (ctx.data_dir / DB_NAME).exists():
        pin = new_pin(ctx, t("auth.pin_prompt", name=args.supervisor), env_first=True)
    store = ctx.store()
    existing = store.station_id
    if existing is not None:
        if existing != station_id:
            raise RefusedError("store.station_id_conflict", existing=existing, wanted=station_id)
        home = store.meta("school_code")
        if args.school_code is not None and home and school != home:   # was: "nothing changed", 0
            raise RefusedError("store.school_code_conflict", station=existing, existing=home,
                               wanted=school)
        from station.keys import ensure_station_key

        data = {"station_id": existing, "school_code": store.meta("school_code"),
                "created": False, "supervisor": args.supervisor,
                "signing_key": ensure_station_key(ctx.data_dir).fingerprint()}
        emit(ctx.json, data, t("store.init_already", station=existing))
        return 0
    if pin is None:  # a store without a station id: an earlier init stopped before its commit
        pin = new_pin(ctx, t("auth.pin_prompt", name=args.supervisor), env_first=True)
    with store.transaction():
        if store.station_id is None:  # another process may have won the race
            store.set_meta("station_id", station_id)
            store.set_meta("school_code", school)
            store.audit.append(args.supervisor, "init", station_id, {"school_code": school})
            store.operators.add(args.supervisor, "supervisor", pin)
    from station.keys import ensure_station_key

    data = {"station_id": station_id, "school_code": school, "created": True,
            "supervisor": args.supervisor, "data_dir": str(ctx.data_dir),
            "signing_key": ensure_station_key(ctx.data_dir).fingerprint()}
    emit(ctx.json, data, t("store.init_done", station=station_id, school=school,
                           supervisor=args.supervisor))
    return 0


def cmd_fsck(ctx: Context, args: argparse.Namespace) -> int:
    """Read-only: works on a read-only medium, and says in words when the file is damaged."""
    from station.cli.output import emit
    from station.i18n import t
    from station.store import open_store
    from station.store.core import DB_NAME, CorruptStoreError
    from station.store.fsck import corrupt, fsck, summary

    info: dict[str, Any] = {}
    try:
        store = ctx._store = open_store(ctx.data_dir, access="read", check=False)
    except CorruptStoreError as exc:
        findings = corrupt(ctx.data_dir / DB_NAME, str(exc.params.get("detail", "")))
    else:
        findings = fsck(store)
        if not any(f.code in ("sqlite", "not_a_database") for f in findings):
            info = summary(store)
    failing = [f for f in findings if f.fails]
    data: dict[str, Any] = {"ok": not failing, **info,
                            "problems": [f.to_json() for f in failing],
                            "notices": [f.to_json() for f in findings if not f.fails]}

    def human(_: Any) -> str:
        key = "message_zh" if ctx.lang == "zh" else "message_en"
        if not failing:
            lines = [t("store.fsck_ok", **info)]
        else:
            lines = [t("store.fsck_problems", count=len(failing))]
            lines += [f"  [{p['severity']}] {p[key]}" for p in data["problems"]]
        if data["notices"]:
            lines.append(t("store.fsck_notices", count=len(data["notices"])))
            lines += [f"  {p[key]}" for p in data["notices"]]
        return "\n".join(lines)

    emit(ctx.json, data, human)
    return 0 if not failing else 1


def cmd_doctor(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.config import SettingsError, default_settings
    from station.doctor import DEVICE_AREAS, DoctorContext, run_checks

    try:
        doctor = DoctorContext(ctx.data_dir, ctx.settings)
    except SettingsError as exc:             # reported as failed answers, with the rest
        doctor = DoctorContext(ctx.data_dir, default_settings(), exc)
    checks = run_checks(doctor)
    failed = [c for c in checks if c.status == "fail"]
    data = {"ok": not failed, "checks": [c.to_json() for c in checks]}

    def human(_: Any) -> str:
        marks = {"pass": "✓", "warn": "!", "fail": "✗", "skip": "-"}
        return "\n".join(f"{marks.get(c.status, '?')} {c.area}/{c.name}: {c.message(ctx.lang)}"
                         for c in checks)

    emit(ctx.json, data, human)
    if any(c.area in DEVICE_AREAS for c in failed):
        return 3  # cli.md: a device missing or failed
    return 0 if not failed else 1


def cmd_config_show(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.config import default_settings, reference_toml

    settings = default_settings() if args.defaults else ctx.settings
    data = {"source": None if args.defaults or settings.source is None else str(settings.source),
            "settings": settings.model_dump(mode="json")}
    emit(ctx.json, data, lambda _: reference_toml(settings))
    return 0
