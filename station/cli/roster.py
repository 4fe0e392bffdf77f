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
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(handler=cmd_roster_import)
    demo = rsub.add_parser("demo-files", help="write the demo schedule and a generated roster")
    demo.add_argument("--out", type=Path, required=True, help="folder to write into")
    demo.add_argument("--format", choices=("csv", "gbk", "xlsx"), default="csv")
    demo.add_argument("--seed", type=int, default=10673)
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(handler=cmd_demo_files, needs_data_dir=False)

    schedule = sub.add_parser("schedule", help="the capture schedule (slots)")
    ssub = schedule.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    simp = ssub.add_parser("import", help="import the slot table; all-or-nothing")
    simp.add_argument("file", type=Path)
    simp.add_argument("--dry-run", action="store_true")
    simp.add_argument("--json", action="store_true")
    simp.set_defaults(handler=cmd_schedule_import)


def _human(report: dict, key: str, lang: str) -> str:
    from station.i18n import t

    lines = [t(key, **report)]
    if report["dry_run"]:
        lines[0] += " " + t("roster.dry_run")
    field = "message_zh" if lang == "zh" else "message_en"
    lines += [f"  ! {w[field]}" for w in report["warnings"]]
    return "\n".join(lines)


def cmd_roster_import(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.roster.importer import import_roster

    op = ctx.operator("roster.import")
    report = import_roster(ctx.store(), args.file, ctx.config, op.name, dry_run=args.dry_run)
    data: dict[str, Any] = report.to_json()
    emit(ctx.json, data, lambda d: _human(d, "roster.imported", ctx.lang))
    return 0


def cmd_schedule_import(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.roster.schedule import import_schedule

    op = ctx.operator("schedule.import")
    report = import_schedule(ctx.store(), args.file, ctx.config, op.name, dry_run=args.dry_run)
    emit(ctx.json, report.to_json(), lambda d: _human(d, "schedule.imported", ctx.lang))
    return 0


def cmd_demo_files(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.demo_data.generate import write_demo_files
    from station.i18n import t

    paths = write_demo_files(args.out, args.format, args.seed)
    emit(ctx.json, {k: str(v) for k, v in paths.items()},
         "\n".join(t("roster.demo_written", path=p) for p in paths.values()))
    return 0
