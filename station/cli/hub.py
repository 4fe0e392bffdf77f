"""`station hub init`, `station sync push|pull --hub DSN`: stations that sync through a PostgreSQL hub.

`station trust add KEYFILE --hub DSN` (in ``station.cli.sync``) and `station report daily --hub DSN`
(in ``station.cli.exports``: the whole campaign, after a pull) call in here too.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.cli.context import Context

HUB_HELP = ("the hub's PostgreSQL DSN, without password (postgresql://USER@HOST:PORT/DB?sslmode=verify-full); "
            "the password comes from ~/.pgpass or PGPASSFILE")


def _group_help(parser: argparse.ArgumentParser) -> Any:
    def show(ctx: Context, args: argparse.Namespace) -> int:
        parser.print_help()
        return 2
    return show


IMAGES_HELP = ("this station's path to the hub's image folder (default: the hub.images_dir "
               "setting); needed when the hub keeps its images in a folder")


def add_hub_option(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--hub", required=required, metavar="DSN", help=HUB_HELP)


def add_images_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", metavar="DIR", type=Path, help=IMAGES_HELP)


def images_dir(ctx: Context, args: argparse.Namespace) -> Path | None:
    """This station's path to the hub's image folder: --images, else the hub.images_dir setting."""
    given: Path | None = args.images
    if given is not None:
        return given
    setting = ctx.settings.hub.images_dir
    return Path(setting).expanduser() if setting else None


def hub_dsn(args: argparse.Namespace) -> str:
    """The --hub DSN, checked before anything else runs (no PIN asked, nothing opened)."""
    from station.hub.connect import check_command_line_dsn

    return check_command_line_dsn(str(args.hub))


def _action(parent: argparse._SubParsersAction, name: str, what: str, handler: Any) -> argparse.ArgumentParser:
    """One hub action: its --hub DSN and --json options."""
    action = parent.add_parser(name, help=what)
    add_hub_option(action)
    action.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    action.set_defaults(handler=handler)
    return action


def register(sub: argparse._SubParsersAction) -> None:
    hub = sub.add_parser("hub", help="the PostgreSQL hub that stations sync through")
    hsub = hub.add_subparsers(dest="hub_command", metavar="ACTION")
    init = _action(hsub, "init", "(supervisor, on the master) create or upgrade the hub and enrol "
                                 "there every station this master trusts", cmd_hub_init)
    init.add_argument("--images", metavar="DIR", type=Path,
                      help="keep the hub's images in this folder (content-addressed; on a campaign "
                           "a network share every station mounts) instead of in the database; "
                           "a new folder is created and marked with the hub's id")
    add_images_option(_action(hsub, "purge", "(supervisor, hub owner's DSN) purge the hub's copies of "
                                             "what station purge removed here", cmd_hub_purge))
    hub.set_defaults(handler=_group_help(hub))

    sync = sub.add_parser("sync", help="send and bring station records through the hub")
    ssub = sync.add_subparsers(dest="sync_command", metavar="ACTION")
    add_images_option(_action(ssub, "push", "send this station's records and images the hub does "
                                            "not have", cmd_sync_push))
    add_images_option(_action(ssub, "pull", "(supervisor) bring what the other stations sent, "
                                            "verified against this station's trust list", cmd_sync_pull))
    sync.set_defaults(handler=_group_help(sync))


def cmd_hub_init(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit, warn
    from station.hub.enrol import init_hub
    from station.i18n import t

    dsn = hub_dsn(args)
    op = ctx.operator("hub.init")
    result = init_hub(ctx.store(), dsn, op.name, args.images)
    lines = [t("hub.init_done", hub=result.hub, version=result.version,
               applied=", ".join(map(str, result.applied)) or "-")]
    if result.images_folder_id:
        lines.append(t("hub.init_images_folder", id=result.images_folder_id,
                       folder=result.images_folder or "-"))
    for s in result.stations:
        lines.append(t("hub.init_station_new" if s.new else "hub.init_station", station=s.station_id,
                       fingerprint=s.fingerprint, role=s.role))
    if any(s.role_created for s in result.stations):
        lines.append(t("hub.init_role_hint"))
    for r in result.refused:
        warn(r["message_zh"] if ctx.lang == "zh" else r["message_en"])
    emit(ctx.json, result.to_json(), "\n".join(lines))
    return 2 if result.refused else 0


def cmd_hub_purge(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit

    dsn = hub_dsn(args)
    op = ctx.operator("purge")
    result = purge_hub_copies(ctx, args, dsn, op.name)
    emit(ctx.json, result.to_json(), hub_purge_line(result))
    return 0


def purge_hub_copies(ctx: Context, args: argparse.Namespace, dsn: str, operator: str) -> Any:
    """The hub's copies of what purges removed here (``station.hub.purge``)."""
    from station.hub.purge import purge_hub

    return purge_hub(ctx.store(), dsn, operator, images_dir=images_dir(ctx, args))


def hub_purge_line(result: Any) -> str:
    from station.i18n import t

    return t("hub.purged", hub=result.hub, rows=sum(result.rows.values()), images=result.images)


def cmd_sync_push(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.hub.push import push
    from station.i18n import t

    dsn = hub_dsn(args)
    op = ctx.operator("hub.push")
    result = push(ctx.store(), dsn, op.name, images_dir=images_dir(ctx, args))
    rows = sum(result.rows.values())
    if result.pushes:
        text = t("hub.pushed", hub=result.hub, rows=rows, images=result.images_sent,
                 pushes=", ".join(f"#{n}" for n in result.pushes))
    else:
        text = t("hub.push_nothing", hub=result.hub)
    if result.images_repaired:
        text += "\n" + t("hub.images_repaired", count=result.images_repaired)
    emit(ctx.json, result.to_json(), text)
    return 0


def cmd_sync_pull(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit, warn
    from station.cli.sync import merge_detail_lines, review_lines
    from station.hub.pull import pull
    from station.i18n import t
    from station.sync.conflicts import ConflictService

    dsn = hub_dsn(args)
    op = ctx.operator("hub.pull")
    store = ctx.store()
    result = pull(store, dsn, op.name, images_dir=images_dir(ctx, args))
    lines = []
    for r in result.merged:
        lines.append(t("hub.pulled", push=r.bundle, added=sum(r.added.values()), images=r.images_added))
        lines.extend(merge_detail_lines(r))
    if not result.merged:
        lines.append(t("hub.pull_nothing", hub=result.hub, already=result.already))
    for refused in result.refused:
        warn(refused.message)
    items = ConflictService(store).items()
    lines.extend(review_lines(items, ctx.lang))
    data = result.to_json()
    data.update(review_count=len(items), review=[i.to_json() for i in items])
    emit(ctx.json, data, "\n".join(lines))
    return 2 if result.refused else 0


def cmd_trust_add_hub(ctx: Context, args: argparse.Namespace, keyfile: Any, operator: str) -> int:
    """`station trust add KEYFILE --hub DSN`: enrolled here and at the hub."""
    from station.cli.output import emit
    from station.hub.enrol import trust_add_at_hub
    from station.i18n import t

    done = trust_add_at_hub(ctx.store(), hub_dsn(args), keyfile, operator)
    emit(ctx.json, {**done.to_json(), "created": done.new},
         t("hub.trust_added" if done.new else "hub.trust_already", station=done.station_id,
           fingerprint=done.fingerprint, role=done.role))
    return 0


def pull_quietly(ctx: Context, args: argparse.Namespace) -> None:
    """Pull before a report (``report daily --hub``): stdout stays the report's, what was taken
    and what was refused go to stderr."""
    from station.cli.output import warn
    from station.hub.pull import pull
    from station.i18n import t

    dsn = hub_dsn(args)
    op = ctx.operator("hub.pull")
    result = pull(ctx.store(), dsn, op.name, images_dir=images_dir(ctx, args))
    for refused in result.refused:
        warn(refused.message)
    added = sum(sum(r.added.values()) for r in result.merged)
    warn(t("hub.pulled_for_report", hub=result.hub, pushes=len(result.merged), added=added))
