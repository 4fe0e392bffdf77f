"""`station purge` and `station export confirm`: ending a campaign without keeping what is not
needed (station.store.purge)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.cli.context import Context


PURGE_DESCRIPTION = (
    "(supervisor) The end of a campaign: each person's ID number becomes a masked pseudonym, names "
    "are masked, card details, birth dates, student numbers and file names are dropped, photos are "
    "deleted, and the batch folders, print sheets and bundles the station wrote are removed; counts, "
    "payments and the audit trail stay.\n\n"
    "Refused, changing nothing (exit 1), while anyone's accepted photo is\n"
    "  - not exported: in no batch (nor in a batch's corrections list): run station export build, "
    "upload the batch, then station export confirm BATCH_ID;\n"
    "  - not confirmed: in a batch the pipeline has not confirmed: station export confirm BATCH_ID "
    "once it has.\n"
    "Each blocking person is named (masked name and ID number, the photo's station, time and "
    "capture). Also refused when the store's seals do not hold (run station fsck first). "
    "Try --dry-run first.")


class _Paragraphs(argparse.HelpFormatter):
    """Wraps each line of a description on its own: the line breaks (the refusals, one a line)
    stay, a continuation keeps the line's indent."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        out = []
        for line in text.splitlines():
            lead = line[:len(line) - len(line.lstrip())]
            out.append(textwrap.fill(line.strip(), width, initial_indent=indent + lead,
                                     subsequent_indent=indent + lead + ("  " if lead else ""))
                       if line.strip() else "")
        return "\n".join(out)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("purge", help="(supervisor) remove a finished campaign's personal data "
                                     "and photos once its batches are confirmed uploaded",
                       description=PURGE_DESCRIPTION, formatter_class=_Paragraphs)
    p.add_argument("--until", metavar="YYYY-MM-DD",
                   help="only people whose last record is on or before this day (default: all)")
    p.add_argument("--dry-run", action="store_true", help="say what would be purged; change nothing")
    from station.cli.hub import add_images_option

    p.add_argument("--hub", metavar="DSN",
                   help="also purge the copies at this PostgreSQL hub (the hub owner's DSN, "
                        "without password; as station hub purge)")
    add_images_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_purge)


def register_confirm(export_sub: argparse._SubParsersAction) -> None:
    """`station export confirm BATCH…`, registered by station.cli.exports."""
    c = export_sub.add_parser("confirm", help="record that the pipeline received these batches")
    c.add_argument("batches", nargs="+", metavar="BATCH_ID",
                   help="the batch ids the pipeline confirmed")
    c.add_argument("--note", help="e.g. the pipeline's receipt number")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_confirm)


def cmd_confirm(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t
    from station.privacy import check_text

    if args.note is not None:
        check_text(args.note, field="--note", limit=200, source="--note")
    op = ctx.operator("export.confirm")
    store = ctx.store()
    done = {b: store.facts.record_upload_confirmation(b, op.name, args.note) is not None
            for b in args.batches}
    emit(ctx.json, {"confirmed": done},
         "\n".join(t("purge.confirmed" if new else "purge.already_confirmed", batch=b)
                   for b, new in done.items()))
    return 0


def cmd_purge(ctx: Context, args: argparse.Namespace) -> int:
    import datetime as dt

    from station.cli.output import emit
    from station.errors import InputError, Location
    from station.i18n import t
    from station.store import written
    from station.store.purge import plan, purge

    until = None
    if args.until:
        try:
            until = dt.date.fromisoformat(args.until)
        except ValueError:
            raise InputError("purge.bad_date", Location("--until"), value=args.until[:20]) from None
    dsn = None
    if args.hub:
        from station.cli.hub import hub_dsn

        dsn = hub_dsn(args)                 # a password on the command line: refused first
    op = ctx.operator("purge")
    store = ctx.store()
    the_plan = plan(store, until)
    data: dict[str, Any] = {"plan": the_plan.to_json(), "dry_run": bool(args.dry_run)}
    key = "message_zh" if ctx.lang == "zh" else "message_en"
    if the_plan.blocked:
        data["blocked"] = True
        blocked = data["plan"]["blocked"]
        lines = [t("purge.blocked", count=len(blocked))]
        for b in blocked[:30]:
            lines.append("  " + t("purge.blocked_person", name=b["name"] or "?", id=b["id_number"],
                                  station=b["station_id"] or "?", at=b["captured_at"] or "?",
                                  capture=b["capture"]))
            lines.append("    " + t("purge.reason." + b["reason"], batch=b["batch"]))
        if len(blocked) > 30:
            lines.append("  " + t("purge.blocked_more", count=len(blocked) - 30))
        emit(ctx.json, data, "\n".join(lines))
        return 1
    hub = written.hub_copies(store)
    if hub["pushed_to"] or hub["pulled"]:
        data["hub_copies"] = hub
    if args.dry_run or not the_plan.people:
        lines = [t("purge.would", people=the_plan.count, images=len(the_plan.images)),
                 *([] if dsn and not args.dry_run else _hub_lines(hub))]
        if args.dry_run:
            left = written.pending(store)
            if left:
                data["files_pending"] = len(left)
                lines.append(t("purge.files_pending", count=len(left)))
        else:                   # nobody left to purge: finish removals a power loss interrupted
            outcomes = [o.to_json() for o in written.remove_marked(store, op.name)]
            if outcomes:
                data["files"] = outcomes
                lines += _file_lines(outcomes)
            if dsn:               # nobody left here: what an earlier purge left at the hub
                hub_lines, rc = _purge_hub(ctx, args, dsn, op.name, data)
                lines += hub_lines
                emit(ctx.json, data, "\n".join(lines))
                return rc
        emit(ctx.json, data, "\n".join(lines))
        return 0
    result = purge(store, the_plan, op.name)
    data["result"] = result.to_json()
    del key
    lines = [t("purge.done", people=result.people, rows=result.rows_masked,
               images=result.images_removed), *_file_lines(result.files)]
    if not plan(store, None).people:      # the campaign is over here: say how the next one begins
        data["campaign_over"] = True
        lines.append(t("purge.next_campaign"))
    rc = 0
    if dsn:
        hub_lines, rc = _purge_hub(ctx, args, dsn, op.name, data)
        lines += hub_lines
    else:
        lines += _hub_lines(hub)
    emit(ctx.json, data, "\n".join(lines))
    return rc


def _purge_hub(ctx: Context, args: argparse.Namespace, dsn: str, operator: str,
               data: dict[str, Any]) -> tuple[list[str], int]:
    """`purge --hub DSN`: the hub's copies too, once the purge here is committed. A hub out of
    reach or refusing is reported with its exit code (the purge here stands; `station hub purge
    --hub DSN` finishes it)."""
    from station.cli.hub import hub_purge_line, purge_hub_copies
    from station.cli.output import warn
    from station.errors import StationError
    from station.hub.connect import shown
    from station.i18n import t

    try:
        done = purge_hub_copies(ctx, args, dsn, operator)
    except StationError as exc:
        data["hub_purge"] = {"error": exc.to_json()}
        warn(exc.message)
        warn(t("purge.hub_retry", hub=shown(dsn)))
        return [], exc.exit_code
    data["hub_purge"] = done.to_json()
    return [hub_purge_line(done)], 0


def _hub_lines(hub: dict[str, Any]) -> list[str]:
    """What a purge here cannot reach: the copies a hub holds (station.store.written.hub_copies)."""
    from station.i18n import t

    lines = []
    if hub["pushed_to"]:
        lines.append(t("purge.hub_pushed", hubs=", ".join(hub["pushed_to"])))
    if hub["pulled"]:
        lines.append(t("purge.hub_pulled"))
    return lines


def _file_lines(outcomes: list[dict[str, Any]]) -> list[str]:
    """What became of the files and folders written outside the data folder (station.store.written)."""
    from station.i18n import t
    from station.store import written

    lines = []
    removed = sum(o["status"] in written.DONE for o in outcomes)
    if removed:
        lines.append(t("purge.files_removed", count=removed))
    for o in outcomes:
        if o["status"] != written.REMOVED:
            lines.append("  " + t(f"purge.file.{o['status']}", path=o["path"], count=len(o["left"]),
                                  files=", ".join(o["left"][:5])))
    return lines
