"""`station export build|verify`, `station key export`, `station report daily`, `station print sheets`.

Heavy modules (store, PIL, fpdf, cryptography) are imported inside the handlers so `--help` stays
fast. Handlers turn results into one JSON document (--json) or lines for the technician.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.cli.outfile import add_force, refuse_existing, refuse_unmounted
from station.cli.values import seconds

if TYPE_CHECKING:
    from collections.abc import Callable

    from station.cli.context import Context
    from station.export.selection import Filters


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    exp = sub.add_parser("export", help="batches for the CHSI pipeline: build, verify, confirm")
    exp_sub = exp.add_subparsers(dest="export_command", metavar="ACTION")
    b = exp_sub.add_parser("build", help="write a batch of accepted, not yet exported photos (atomic)")
    b.add_argument("--out", type=Path, required=True, help="folder that receives the batch folder")
    b.add_argument("--date", help="only captures of this day (YYYY-MM-DD) or people expected that day")
    b.add_argument("--slot", help="only this schedule slot")
    b.add_argument("--department", help="only this department")
    b.add_argument("--school-code", help="batch of this school's walk-ins (default: the station's school)")
    b.add_argument("--profile", help="batch layout exports/<NAME>-batch.toml (default: exports.batch_profile, "
                                     "else by session.mode: exports.profile in card mode, "
                                     "<exports.profile>-code in code mode)")
    b.add_argument("--zip", action="store_true",
                   help="(kept for scripts: every batch now has its upload zip, photos only)")
    b.add_argument("--batch", metavar="ID",
                   help="finish this interrupted batch, or rebuild this earlier one byte for byte")
    b.add_argument("--wait", type=float, metavar="SECONDS",
                   help="how long to wait for another export of this station to finish "
                        "(default exports.lock_wait_seconds; 0 = refuse at once)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(handler=cmd_build)
    v = exp_sub.add_parser("verify", help="re-check a batch: layout, photos, checksums, signature")
    v.add_argument("folder", type=Path, help="the batch folder, or its .zip")
    v.add_argument("--key", type=Path,
                   help="also trust this public key (PEM or key file); always trusted: this station's "
                        "key and enrolled stations' keys")
    v.add_argument("--no-frame-checks", action="store_true", help="skip the face/background checks")
    v.add_argument("--json", action="store_true")
    v.set_defaults(handler=cmd_verify, needs_data_dir=True)
    exp.set_defaults(handler=_group_help(exp))

    from station.cli.privacy import register_confirm

    register_confirm(exp_sub)

    key = sub.add_parser("key", help="the station's signing key")
    key_sub = key.add_subparsers(dest="key_command", metavar="ACTION")
    k = key_sub.add_parser("export", help="print or write the public key that verifies our batches")
    k.add_argument("--out", type=Path, help="write the PEM here instead of printing it")
    add_force(k)
    k.add_argument("--json", action="store_true")
    k.set_defaults(handler=cmd_key_export)
    key.set_defaults(handler=_group_help(key))
    _register_reports(sub)


def _register_reports(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rep = sub.add_parser("report", help="reports for technicians and supervisors")
    rep_sub = rep.add_subparsers(dest="report_command", metavar="KIND")
    d = rep_sub.add_parser("daily", help="per slot and department, and (JSON) per station and university: "
                                             "expected, captured, accepted, retakes, fees")
    d.add_argument("--date", help="the day (YYYY-MM-DD, default today)")
    d.add_argument("--format", choices=("csv", "json", "pdf"),
                   help="file format (default: the --out file's .csv or .pdf suffix, else json)")
    d.add_argument("--out", type=Path, help="write to this file (default: print; pdf needs --out)")
    d.add_argument("--json", action="store_true", help="print a JSON summary of what was written")
    d.add_argument("--full-ids", action="store_true",
                   help="list missing students' full ID numbers (recorded in the audit log; default: "
                        "masked, 530***********1234)")
    d.add_argument("--hub", metavar="DSN", help="the whole campaign: first bring what every station "
                                               "pushed to this PostgreSQL hub (as sync pull; supervisor)")
    from station.cli.hub import add_images_option

    add_images_option(d)
    d.set_defaults(handler=cmd_report_daily)
    rep.set_defaults(handler=_group_help(rep))

    prt = sub.add_parser("print", help="print layouts")
    prt_sub = prt.add_subparsers(dest="print_command", metavar="KIND")
    s = prt_sub.add_parser("sheets", help="diploma photos at print size with name labels, as PDF")
    s.add_argument("--department", help="only this department")
    s.add_argument("--school-code", help="print this school's walk-ins (default: the station's school)")
    s.add_argument("--out", type=Path, required=True, help="the PDF file to write")
    s.add_argument("--sheet", choices=("a4", "6in"), default="a4", help="paper: A4 or 6-inch photo paper (default a4)")
    s.add_argument("--profile", help="print size from exports/<NAME>-batch.toml (default: exports.profile)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=cmd_print_sheets)
    prt.set_defaults(handler=_group_help(prt))


def _group_help(parser: argparse.ArgumentParser) -> Callable[[Context, argparse.Namespace], int]:
    def show(ctx: Context, args: argparse.Namespace) -> int:
        parser.print_help()
        return 2
    return show


def _profile(ctx: Context, args: argparse.Namespace) -> Any:
    """The batch profile named on the command line, else the configured one, else the mode's."""
    from station.export.profile import load_batch_profile, profile_for_mode

    exports = ctx.settings.exports
    name = args.profile or profile_for_mode(ctx.settings.session.mode, exports.profile,
                                            exports.batch_profile or None)
    return load_batch_profile(name)


def _filters(ctx: Context, args: argparse.Namespace) -> Filters:
    from station.export.selection import Filters

    return Filters(date=_date(args.date), slot=args.slot, department=args.department,
                   school_code=_school(args, ctx),
                   utc_offset_hours=ctx.settings.exports.utc_offset_hours, fee_cents=ctx.settings.fee.cents)


def _school(args: argparse.Namespace, ctx: Context) -> str | None:
    """``--school-code`` checked (batches and print sheets are one school's); None: the store's.

    Five digits, and the station's own school or one configured under ``[schools]``, as for
    `roster import`: a mistyped code said "nothing to export" instead of naming the typo."""
    from station.domain.schools import check_school_code
    from station.errors import InputError, Location

    school = getattr(args, "school_code", None)
    if school is None:
        return None
    code = check_school_code(school, "--school-code")
    home = {ctx.store().meta("school_code"), ctx.settings.station.school_code}
    if code not in home and code not in ctx.settings.schools:
        raise InputError("session.unknown_school", Location("--school-code"), code=code)
    return code


def _date(value: str | None) -> str | None:
    import datetime as dt

    from station.errors import InputError, Location

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InputError("exports.bad_date", Location("--date"), value=value) from None


class _Progress:
    """One self-overwriting line on a terminal; silent when stderr is not one."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int, stage: str) -> None:
        if self.tty:
            from station.i18n import t

            sys.stderr.write("\r" + t("exports.progress", done=done, total=total, stage=stage))
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def _sigterm_as_interrupt() -> Any:
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)


def cmd_build(ctx: Context, args: argparse.Namespace) -> int:
    import signal

    from station.cli.output import emit
    from station.export import service

    wait_s = seconds("--wait", args.wait, zero_allowed=True)  # bad usage before anything else
    refuse_unmounted(args.out, "--out", folder=True)          # a stick not mounted: not to the laptop
    if wait_s is None:
        wait_s = ctx.settings.exports.lock_wait_seconds
    profile = _profile(ctx, args)
    op = ctx.operator("export")
    store = ctx.store()
    previous = _sigterm_as_interrupt()
    try:
        if args.batch:
            result = service.rebuild_batch(store, profile, args.out, args.batch,
                                           progress=_Progress(), operator=op.name, wait_s=wait_s,
                                           on_wait=_tell_waiting)
        else:
            result = service.build_batch(store, profile, args.out, _filters(ctx, args), operator=op.name,
                                         school_code=ctx.settings.station.school_code,
                                         progress=_Progress(),
                                         throttle_s=ctx.settings.exports.throttle_ms / 1000,
                                         wait_s=wait_s, on_wait=_tell_waiting)
    finally:
        signal.signal(signal.SIGTERM, previous)
    data = result.to_json()
    emit(ctx.json, data, lambda d: _build_text(d, ctx.lang))
    return 0


SHOWN_PER_REASON = 20


def _tell_waiting(holder: Any) -> None:
    from station.i18n import t

    sys.stderr.write(t("exports.waiting", pid=holder.pid or "?", since=holder.since or "?") + "\n")
    sys.stderr.flush()


def _build_text(data: dict[str, Any], lang: str) -> str:
    from station.i18n import t

    lines = [t("exports.completed", batch=c["batch_id"], path=c["path"], photos=c["photos"])
             for c in data.get("completed", [])]
    if data["path"]:
        key = "exports.rebuilt" if data["rebuilt"] else "exports.built"
        lines.append(t(key, path=data["path"], photos=data["photos"], corrections=data["corrections"]))
        if data["zip"]:
            lines.append(data["zip"])
    else:
        lines.append(t("exports.nothing"))
    for o in data.get("accepted_over_checks", []):
        lines.append(t("exports.accepted_over_checks", id=o["id_number"], name=o["name"],
                       by=o["override_by"], reason=o["reason"] or "-"))
    for o in data.get("off_roster", []):
        lines.append(t("exports.off_roster", id=o["id_number"], name=o["name"], school=o["school_code"]))
    if data["not_in_batch"]:
        lines.append(t("exports.not_in_batch", count=len(data["not_in_batch"])))
        by_reason: dict[str, list[dict[str, Any]]] = {}
        for s in data["not_in_batch"]:
            by_reason.setdefault(s["reason"], []).append(s)
        for people in by_reason.values():     # a screenful per reason; the report file has all
            for s in people[:SHOWN_PER_REASON]:
                lines.append(f"  {s['id_number']} {s['name']}: {s['message_' + lang]}")
            if len(people) > SHOWN_PER_REASON:
                lines.append("  " + t("exports.and_more", count=len(people) - SHOWN_PER_REASON,
                                      reason=people[0]["message_" + lang]))
        if data.get("report"):
            lines.append(t("exports.report_file", path=data["report"]))
        if data.get("private_report"):
            lines.append(t("exports.private_report_file", path=data["private_report"]))
    return "\n".join(lines)


def _frame_checker(profile_name: str) -> Callable[[Path], list[str]]:
    """The photo checks for verify. A photo profile that cannot be loaded is an error (exit 2,
    naming it), never a silent skip that would still report the batch as OK."""
    from station.checks import check_image, load_profile

    photo_profile = load_profile(profile_name)

    def check(path: Path) -> list[str]:
        report = check_image(path, photo_profile)
        if report.passed:
            return []
        return [f"{c.name} ({c.message_zh} / {c.message_en})" for c in report.checks if c.status == "fail"]
    return check


def _trusted_keys(ctx: Context, given: Path | None) -> list[Any]:
    """Keys a batch may be signed by: the one given with ``--key``, this station's, and every
    station a supervisor enrolled here (``station trust add``; such a key must sign batches of
    its own station id). Nothing else: a batch that carries its own key proves nothing."""
    import sqlite3

    from station.errors import InputError, Location
    from station.export.verify import TrustedKey
    from station.keys import existing_station_key
    from station.store.core import DB_NAME

    trusted = []
    if given is not None:
        try:
            trusted.append(TrustedKey(given.read_bytes(), "given"))
        except OSError:
            raise InputError("common.file_missing", Location(str(given)), path=str(given)) from None
    own = existing_station_key(ctx.data_dir)
    if own is not None:
        trusted.append(TrustedKey(own.public_pem(), "station"))
    if (ctx.data_dir / DB_NAME).is_file():       # verify needs no store: only read one that exists
        from station.store import open_store
        from station.sync.trust import TrustService

        try:
            with open_store(ctx.data_dir, migrate=False, access="auto") as store:
                trusted += [TrustedKey(k.public_pem, "enrolled", k.station_id)
                            for k in TrustService(store).enrolled()]
        except sqlite3.OperationalError:         # a store from before enrolment: no enrolled keys
            pass
    return trusted


def cmd_verify(ctx: Context, args: argparse.Namespace) -> int:
    import json

    from station.cli.output import emit
    from station.errors import InputError, Location
    from station.export.verify import verify_batch
    from station.i18n import t

    if not args.folder.exists():
        raise InputError("exports.verify.no_such_path", Location(str(args.folder)), path=str(args.folder))
    trusted = _trusted_keys(ctx, args.key)
    checker = None
    if not args.no_frame_checks:
        manifest = args.folder / "manifest.json"
        try:
            photo_profile = json.loads(manifest.read_text("utf-8")).get("photo_profile", "chsi")
        except (OSError, ValueError, AttributeError):
            photo_profile = "chsi"        # a zip, or a damaged batch: verify will say what is wrong
        if not isinstance(photo_profile, str):
            photo_profile = "chsi"
        checker = _frame_checker(photo_profile)
    if args.folder.is_file():
        from station.export.verify import verify_zip

        result = verify_zip(args.folder, trusted_keys=trusted, frame_checker=checker, data_dir=ctx.data_dir)
    else:
        result = verify_batch(args.folder, trusted_keys=trusted, frame_checker=checker)

    def human(_: Any) -> str:
        notes = ["  " + p.text(p.to_json()["message_" + ctx.lang]) for p in result.overridden]
        if result.ok:
            return "\n".join([t("exports.verify_ok", path=str(args.folder), photos=result.photos,
                                fingerprint=result.key_fingerprint or "?",
                                trust=t("exports.key_trusted" if result.key_trusted
                                        else "exports.key_untrusted")), *notes])
        lines = [t("exports.verify_failed", path=str(args.folder), count=len(result.problems))]
        for p in result.problems:
            doc = p.to_json()
            lines.append("  " + p.text(doc["message_" + ctx.lang]))
        return "\n".join([*lines, *notes])

    emit(ctx.json, result.to_json(), human)
    return 0 if result.ok else 1


def cmd_key_export(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.errors import RefusedError
    from station.keys import ensure_station_key, render_keyfile

    refuse_existing(args.out, "--out", args.force)
    refuse_unmounted(args.out, "--out")
    station_id = ctx.store().station_id
    if station_id is None:
        raise RefusedError("store.not_initialized")
    key = ensure_station_key(ctx.data_dir)
    pem = key.public_pem()
    from station.store import campaign

    # the station id and its current campaign travel with the key (trust add pins the campaign)
    current = campaign.current(ctx.store())
    text = render_keyfile(station_id, pem, current)
    if args.out:
        from station.fsio import atomic_write

        atomic_write(args.out, text, mode=0o644)
    data = {"fingerprint": key.fingerprint(), "station_id": station_id, "public_key": pem.decode("ascii"),
            "campaign": current, "path": str(args.out) if args.out else None}
    emit(ctx.json, data, (f"{data['fingerprint']}\n" if args.out else text.decode("utf-8")))
    return 0


def _atomic_out(path: Path, data: bytes) -> None:
    from station.fsio import atomic_write

    path.parent.mkdir(exist_ok=True)     # the last folder only (refuse_unmounted checked its parent)
    atomic_write(path, data, mode=0o600, make_parents=False)


def cmd_report_daily(ctx: Context, args: argparse.Namespace) -> int:
    import datetime as dt

    from station.cli.output import emit
    from station.errors import UsageError
    from station.export.record import local_zone
    from station.export.report import (
        FeeSplit,
        daily_report,
        mask_missing_ids,
        report_csv,
        report_json,
    )
    from station.store.campaign import station_schools
    from station.store.people import load_snapshot

    refuse_unmounted(args.out, "--out")
    if args.format is None:   # `--out 日报.pdf` alone wrote JSON into a file named .pdf
        suffix = args.out.suffix.lower().lstrip(".") if args.out else ""
        args.format = suffix if suffix in ("csv", "pdf") else "json"
    op = ctx.operator("report")
    if args.hub:
        from station.cli.hub import pull_quietly

        pull_quietly(ctx, args)
    offset = ctx.settings.exports.utc_offset_hours
    date = _date(args.date) or dt.datetime.now(local_zone(offset)).date().isoformat()
    fee = ctx.settings.fee
    fees = FeeSplit(fee.cents, fee.web_cents, fee.capture_cents)
    store = ctx.store()
    report = daily_report(load_snapshot(store), date, offset=offset, fees=fees,
                          station_schools=station_schools(store))
    if args.full_ids:       # who asked for the full numbers of whom, and when, is on record
        store.audit.append(op.name, "report.full_ids", date,
                           {"format": args.format, "out": str(args.out) if args.out else None})
    else:
        mask_missing_ids(report)
    if args.format == "pdf":
        if not args.out:
            raise UsageError("exports.pdf_needs_out")
        from station.export.fonts import find_cjk_font
        from station.export.report_pdf import report_pdf

        data = report_pdf(report, find_cjk_font(ctx.settings.exports.cjk_font or None))
    else:
        data = report_csv(report) if args.format == "csv" else report_json(report)
    if args.out:
        _atomic_out(args.out, data)
        from station.store import written

        written.record(store, written.DAILY, Path(args.out))   # names the missing: purged with everyone
        summary = {"date": date, "format": args.format, "path": str(args.out), "totals": report["totals"]}
        emit(ctx.json, summary, str(args.out))
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def cmd_print_sheets(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.errors import UsageError
    from station.export.fonts import find_cjk_font
    from station.export.service import read_image
    from station.export.sheets import entries_from, geometry, render_sheets
    from station.i18n import t
    from station.privacy import mask_id, mask_name
    from station.store.people import load_snapshot

    refuse_unmounted(args.out, "--out")
    profile = _profile(ctx, args)
    school = _school(args, ctx)
    op = ctx.operator("print")
    font = find_cjk_font(ctx.settings.exports.cjk_font or None)
    store = ctx.store()
    entries, left_out = entries_from(load_snapshot(store), args.department, profile, ctx.settings.fee.cents,
                                     school_code=school)
    if not entries:
        raise UsageError("exports.nothing_to_print")
    pdf, pages = render_sheets(entries, read_image(store), font, sheet=args.sheet,
                               photo_w_mm=profile.print_width_mm, photo_h_mm=profile.print_height_mm,
                               dpi=profile.print_dpi, progress=_Progress(),
                               title=school or store.meta("school_code") or "")
    _atomic_out(args.out, pdf)
    from station.store import written

    written.record(store, written.SHEETS, Path(args.out), images=[e.sha256 for e in entries])
    store.audit.append(op.name, "print.sheets", None, {"file": Path(args.out).name, "photos": len(entries),
                                                        "pages": pages})
    geo = geometry(args.sheet, profile.print_width_mm, profile.print_height_mm)
    data = {"path": str(args.out), "pages": pages, "photos": len(entries), "per_page": geo.per_page,
            "sheet": args.sheet, "departments": sorted({e.department for e in entries}),
            "not_printed": [{**m, "id_number": mask_id(m["id_number"]), "name": mask_name(m["name"])}
                            for m in left_out]}
    emit(ctx.json, data, t("exports.printed", path=str(args.out), photos=len(entries), pages=pages))
    return 0
