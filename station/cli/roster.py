"""Roster and schedule commands: `roster import`, `roster demo-files`, `schedule import`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.cli.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    roster = sub.add_parser("roster", help="the roster of eligible graduates")
    rsub = roster.add_subparsers(dest="roster_command", metavar="ACTION", required=True)
    imp = rsub.add_parser("import", help="import a roster (CSV UTF-8/GBK or XLSX); all-or-nothing")
    imp.add_argument("file", type=Path, help="the roster file (.csv or .xlsx)")
    imp.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    imp.add_argument("--school-code", metavar="SCHOOL_CODE",
                     help="whose roster the file is: a walk-in school under [schools] (default: the "
                          "station's school); each school's roster is kept apart")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(handler=cmd_roster_import)
    show = rsub.add_parser("show", help="one person: roster entry, slot, flags, captures, payment")
    show.add_argument("id_number", help="the person's 18-character ID number")
    show.add_argument("--at", help="match as of this local time (YYYY-MM-DDTHH:MM; default now)")
    show.add_argument("--school-code", metavar="SCHOOL_CODE",
                      help="look in this walk-in school's roster (default: the station's school)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_roster_show)
    demo = rsub.add_parser("demo-files", help="write the demo schedule and a generated roster")
    demo.add_argument("--out", type=Path, required=True, help="folder to write into")
    demo.add_argument("--format", choices=("csv", "gbk", "xlsx"), default="csv",
                      help="roster file format (default csv, UTF-8)")
    demo.add_argument("--seed", type=int, default=10673,
                      help="seed of the generated names and ID numbers (same seed, same files)")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(handler=cmd_demo_files, needs_data_dir=False)

    schedule = sub.add_parser("schedule", help="the capture schedule (slots)")
    ssub = schedule.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    simp = ssub.add_parser("import", help="import the slot table; all-or-nothing")
    simp.add_argument("file", type=Path, help="the schedule file (.csv or .xlsx)")
    simp.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    simp.add_argument("--json", action="store_true")
    simp.set_defaults(handler=cmd_schedule_import)


def _spaced(text: str) -> str:
    """``text`` to append to a sentence: after a space in English, none before a full-width
    bracket ("…不符合 0 人（试运行：未写入）", not "人 （")."""
    return text if text.startswith("（") else " " + text


def _human(report: dict, key: str, lang: str) -> str:
    from station.i18n import t

    lines = [t(key, **report)]
    if report.get("school_code"):
        lines[0] += _spaced(t("roster.imported_school", school=report["school_code"]))
    if report["dry_run"]:
        lines[0] += _spaced(t("roster.dry_run"))
    if report.get("sheet"):
        lines.append("  " + t("roster.sheet_read", sheet=report["sheet"]))
    field = "message_zh" if lang == "zh" else "message_en"
    lines += [f"  ! {w[field]}" for w in report["warnings"]]
    return "\n".join(lines)


def _export_encoding(ctx: Context) -> str:
    """The CSV encoding of the batches this station will write (GBK for CHSI): names it cannot
    hold are warned about at import, while the office can still fix them."""
    from station.errors import InputError
    from station.export.profile import load_batch_profile, profile_for_mode

    exports = ctx.settings.exports
    name = profile_for_mode(ctx.settings.session.mode, exports.profile, exports.batch_profile or None)
    try:
        return load_batch_profile(name).csv_encoding
    except InputError:
        return "gbk"        # the profile's own problem is reported by export build


def cmd_roster_import(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.roster.importer import import_roster

    op = ctx.operator("roster.import")
    store = ctx.store()
    school = _school(ctx, args.school_code, store.meta("school_code"))
    report = import_roster(store, args.file, ctx.settings.roster, op.name, dry_run=args.dry_run,
                           export_encoding=_export_encoding(ctx), school_code=school)
    data: dict[str, Any] = report.to_json()
    emit(ctx.json, data, lambda d: _human(d, "roster.imported", ctx.lang))
    return 0


def _school(ctx: Context, value: str | None, home: str | None) -> str | None:
    """``--school-code`` checked: five ASCII digits, and the station's own school or a walk-in
    school configured under ``[schools]`` (a roster under a mistyped code would match nobody)."""
    if value is None:
        return None
    from station.domain.schools import check_school_code
    from station.errors import InputError, Location

    code = check_school_code(value, "--school-code")
    if code != home and code not in ctx.settings.schools:
        raise InputError("session.unknown_school", Location("--school-code"), code=code)
    return code


def cmd_schedule_import(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.roster.schedule import import_schedule

    op = ctx.operator("schedule.import")
    report = import_schedule(ctx.store(), args.file, ctx.settings.roster, op.name, dry_run=args.dry_run)
    emit(ctx.json, report.to_json(), lambda d: _human(d, "schedule.imported", ctx.lang))
    return 0


def cmd_demo_files(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t
    from station.sim.roster import write_demo_files

    paths = write_demo_files(args.out, args.format, args.seed)
    emit(ctx.json, {k: str(v) for k, v in paths.items()},
         "\n".join(t("roster.demo_written", path=p) for p in paths.values()))
    return 0


def cmd_roster_show(ctx: Context, args: argparse.Namespace) -> int:
    """Exit 0 when the person may be photographed now without a flag, 1 otherwise."""
    import datetime as dt

    from station.cli.output import emit
    from station.cli.values import id_number
    from station.domain import idnumber
    from station.domain.identity import Identity
    from station.errors import InputError, Location
    from station.i18n import t
    from station.privacy import mask_id
    from station.roster import match

    number = id_number(args.id_number)         # a mistyped number before the PIN is asked
    ctx.operator("roster.view")
    store = ctx.store()
    try:
        when = dt.datetime.fromisoformat(args.at) if args.at else None
    except ValueError:
        raise InputError("roster.bad_date", Location("--at"), value=args.at) from None
    home = store.meta("school_code")
    school = _school(ctx, args.school_code, home)
    school = None if school == home else school
    entry = store.roster.get(number, school=school)
    born = idnumber.birth_date(number)
    identity = Identity("manual", entry.name if entry else "", "unknown",
                        born.isoformat() if born else "", number)
    found = match(store, identity, when, ctx.settings.roster, school=school)
    found.flags = [f for f in found.flags if f.code != "name_mismatch"]  # no card: no name to compare
    data = {**found.to_json(), "state": store.person_state(number).to_json()}
    data["corrected"] = _corrected(store, number, data["entry"])
    if data["corrected"] and any(c["field"] == "name" for c in data["corrected"]):
        data["name"] = data["entry"]["name"]
    key = "message_zh" if ctx.lang == "zh" else "message_en"

    def degree_words(code: str | None) -> str:
        from station.i18n import catalog

        key = f"tui.degree.{code}"            # the desk's words for it; the JSON keeps the code
        return t(key, ctx.lang) if code and key in catalog() else (code or "")

    def human(d: dict) -> str:
        e = d["entry"] or {}
        lines = [f"{mask_id(number)} {e.get('name', '')} {e.get('department') or ''} "
                 f"{degree_words(e.get('degree'))} {e.get('entry_year') or ''}".rstrip()]
        if e.get("school_code") or school:
            lines[0] += " " + t("roster.show_school", ctx.lang, school=e.get("school_code") or school)
        if d["corrected"]:
            lines.append("  " + t("roster.show_corrected", ctx.lang, fields=(
                "、" if ctx.lang == "zh" else ", ").join(
                t("roster.show_corrected_field", ctx.lang, field=t(f"session.field.{c['field']}", ctx.lang),
                  value=c["roster_value"] or "—") for c in d["corrected"])))
        if d["slot"]:
            s = d["slot"]
            lines.append(f"  {s['date']} {s['start']}–{s['end']} {s['campus']} {s['room']}")
        lines += [f"  ! {f[key]}" for f in d["flags"]]
        st = d["state"]
        yes_no = {True: "yes", False: "no"}
        lines.append(t("roster.show_state", ctx.lang, captures=len(st["captures"]),
                       paid=f"{st['paid_cents'] / 100:.2f}",
                       accepted=t(f"roster.show_accepted.{yes_no[bool(st['accepted_capture_id'])]}",
                                  ctx.lang),
                       exported=t(f"roster.show_exported.{yes_no[bool(st['exported'])]}",
                                  ctx.lang)))
        return "\n".join(lines)

    emit(ctx.json, data, human)
    return 0 if not found.flags else 1


def _corrected(store: Any, number: str, entry: dict | None) -> list[dict[str, str]]:
    """The fields of ``entry`` that a correction changed since the roster said them, each as
    ``{"field", "roster_value", "value"}``, and ``entry`` holding the corrected values: the
    person's values as the export has them (station.store.people, corrections applied after the
    roster version they follow; a later re-import of the roster wins again)."""
    if entry is None:
        return []
    from station.store.people import load_snapshot

    person = load_snapshot(store).persons.get(number)
    if person is None or not person.changes:
        return []
    out = []
    for field_name in dict.fromkeys(change[1] for change in person.changes):
        if field_name not in entry:
            continue
        value = str(getattr(person, field_name, "") or "")
        shown = str(entry.get(field_name) or "")
        if value != shown:
            out.append({"field": field_name, "roster_value": shown, "value": value})
            entry[field_name] = value
    return out
