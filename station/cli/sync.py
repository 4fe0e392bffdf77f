"""`station bundle create`, `merge`, `trust add|list`, `conflicts list|decide`: moving station data
to the supervisor's master across a trust boundary, and deciding what the merge could not."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.cli.context import Context
    from station.sync.conflicts import ConflictItem
    from station.sync.merge import MergeResult


def _group_help(parser: argparse.ArgumentParser) -> Any:
    def show(ctx: Context, args: argparse.Namespace) -> int:
        parser.print_help()
        return 2
    return show


def register(sub: argparse._SubParsersAction) -> None:
    bundle = sub.add_parser("bundle", help="station bundles for the supervisor's merge")
    bsub = bundle.add_subparsers(dest="bundle_command", metavar="ACTION")
    c = bsub.add_parser("create", help="this station's own records and images, checksummed and signed")
    c.add_argument("--out", type=Path, required=True, help="the bundle file to write (e.g. on a USB stick)")
    from station.cli.outfile import add_force

    add_force(c)
    c.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    c.set_defaults(handler=cmd_bundle_create)
    bundle.set_defaults(handler=_group_help(bundle))

    m = sub.add_parser("merge", help="merge bundles of enrolled stations into this store (idempotent)")
    m.add_argument("bundles", nargs="+", type=Path, metavar="BUNDLE", help="bundle files written by `station bundle create`")
    m.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    m.set_defaults(handler=cmd_merge)

    tr = sub.add_parser("trust", help="enrol other stations' public keys")
    tsub = tr.add_subparsers(dest="trust_command", metavar="ACTION")
    a = tsub.add_parser("add", help="(supervisor) enrol a station's public key; one key per station id")
    a.add_argument("keyfile", type=Path, metavar="KEYFILE", help="the file `station key export --out` wrote at that station")
    a.add_argument("--hub", metavar="DSN", help="also enrol it at this PostgreSQL hub (the hub owner's DSN, without password)")
    a.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    a.set_defaults(handler=cmd_trust_add)
    ls = tsub.add_parser("list", help="enrolled stations and their key fingerprints")
    ls.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    ls.set_defaults(handler=cmd_trust_list)
    tr.set_defaults(handler=_group_help(tr))

    cp = sub.add_parser("campaign", help="this station's campaign (one season's work), and beginning the next")
    cpsub = cp.add_subparsers(dest="campaign_command", metavar="ACTION")
    cs = cpsub.add_parser("show", help="this station's current campaign id (its bundles and pushes carry it)")
    cs.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    cs.set_defaults(handler=cmd_campaign_show)
    cn = cpsub.add_parser("new", help="(supervisor) begin a new campaign; then enrol the new key file on the master")
    cn.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    cn.set_defaults(handler=cmd_campaign_new)
    cp.set_defaults(handler=_group_help(cp))

    co = sub.add_parser("conflicts", help="what the supervisor must decide after merges")
    csub = co.add_subparsers(dest="conflicts_command", metavar="ACTION")
    cl = csub.add_parser("list", help="list the items to decide, each in words with its options")
    cl.add_argument("--all", action="store_true", help="also the items already decided")
    cl.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    cl.set_defaults(handler=cmd_conflicts_list)
    cd = csub.add_parser("decide", help="(supervisor) decide one item")
    cd.add_argument("item", metavar="ITEM", help="the item's id (or its first characters)")
    cd.add_argument("option", metavar="OPTION", help="the number of the option to keep")
    cd.add_argument("--reason", help="why (kept with the decision)")
    cd.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    cd.set_defaults(handler=cmd_conflicts_decide)
    co.set_defaults(handler=_group_help(co))


def cmd_bundle_create(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.outfile import refuse_existing, refuse_unmounted
    from station.cli.output import emit
    from station.i18n import t
    from station.sync.bundle import create_bundle

    refuse_existing(args.out, "--out", args.force)   # a shared stick: maybe another station's
    refuse_unmounted(args.out, "--out")              # ... or no stick: not to the laptop's disk
    op = ctx.operator("bundle")
    store = ctx.store()
    result = create_bundle(store, args.out, operator=op.name)
    from station.store import written

    written.record(store, written.BUNDLE, Path(args.out))      # everyone: a purge of all removes it
    emit(ctx.json, result.to_json(), t("sync.bundled", path=str(args.out), rows=sum(result.rows.values()),
                                       images=result.images))
    return 0


def render_items(items: list[ConflictItem], lang: str) -> list[str]:
    """Every item in words with its options, as the merge report and `conflicts list` print them."""
    from station.i18n import t

    lines = []
    for item in items:
        lines.append(f"  [{item.id}] {item.text(lang)}")
        if item.decision is not None and not item.open:
            d = item.decision
            lines.append("      " + t("sync.decided", lang, item=item.id, choice=d.texts.get(lang, ""),
                                      operator=d.operator or "?", station=d.station_id,
                                      time=d.to_json()["at"]))
            continue
        for opt in item.options:
            lines.append(f"      {opt.key}) {opt.text(lang)}")
    return lines


def review_lines(items: list[ConflictItem], lang: str) -> list[str]:
    from station.i18n import t

    if not items:
        return [t("sync.review_none", lang)]
    return [t("sync.review", lang, count=len(items)), *render_items(items, lang), t("sync.review_hint", lang)]


def merge_detail_lines(r: MergeResult) -> list[str]:
    """What one merged bundle (or pulled push) left to know: rows waiting for a parent, rows
    released, clashes kept aside, a clock ahead of ours."""
    from station.i18n import t

    lines = []
    if r.pending:
        lines.append(t("sync.merged_pending", count=r.pending))
    if r.released:
        lines.append(t("sync.merged_released", count=sum(r.released.values())))
    if r.clashes:
        lines.append(t("sync.merged_clashes", count=r.clashes))
    if r.clock_lead_hours:
        lines.append(t("sync.clock_ahead", station=r.station_id, hours=r.clock_lead_hours))
    if r.ahead:
        from station.sync.merge import MAX_CLOCK_LEAD_MS

        lines.append(t("sync.merged_ahead", count=r.ahead, hours=MAX_CLOCK_LEAD_MS // 3_600_000))
    return lines


def cmd_merge(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit, warn
    from station.errors import StationError
    from station.i18n import t
    from station.sync.conflicts import ConflictService
    from station.sync.merge import merge_bundle

    op = ctx.operator("merge")
    store = ctx.store()
    results: list[MergeResult] = []
    refused: list[dict[str, Any]] = []
    lines: list[str] = []
    for path in args.bundles:
        try:
            r = merge_bundle(store, path, operator=op.name)
        except StationError as exc:
            refused.append({"bundle": str(path), **exc.to_json()})
            warn(exc.message)
            continue
        results.append(r)
        if r.already_imported:
            lines.append(t("sync.already", bundle=r.bundle))
            continue
        lines.append(t("sync.merged", bundle=r.bundle, station=r.station_id, added=sum(r.added.values()),
                       images=r.images_added))
        lines.extend(merge_detail_lines(r))
    items = ConflictService(store).items()
    lines.extend(review_lines(items, ctx.lang))
    emit(ctx.json, {"bundles": [r.to_json() for r in results], "refused": refused,
                    "review_count": len(items), "review": [i.to_json() for i in items]}, "\n".join(lines))
    return 2 if refused else 0


def cmd_trust_add(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t
    from station.sync.trust import TrustService

    if args.hub:
        from station.cli.hub import hub_dsn

        hub_dsn(args)                        # a password on the command line: refused first
    op = ctx.operator("trust.add")
    service = TrustService(ctx.store())
    keyfile = service.read_keyfile(args.keyfile)
    if args.hub:
        from station.cli.hub import cmd_trust_add_hub

        return cmd_trust_add_hub(ctx, args, keyfile, op.name)
    done = service.add(keyfile, op.name)
    key = done.key
    if done.campaign_changed:
        text = t("sync.trust.campaign_changed", station=key.station_id, fingerprint=key.fingerprint,
                 campaign=key.campaign, previous=done.previous_campaign or t("sync.trust.campaign_none"))
    else:
        text = t("sync.trust.added" if done.created else "sync.trust.already", station=key.station_id,
                 fingerprint=key.fingerprint)
    emit(ctx.json, {**key.to_json(), "created": done.created,
                    "campaign_changed": done.campaign_changed}, text)
    return 0


def cmd_trust_list(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t
    from station.sync.conflicts import local_time
    from station.sync.trust import TrustService

    ctx.operator("trust.list")
    keys = TrustService(ctx.store()).enrolled()
    lines = [t("sync.trust.list_header", count=len(keys))]
    lines += [t("sync.trust.list_line", station=k.station_id, fingerprint=k.fingerprint,
                campaign=k.campaign or t("sync.trust.campaign_none"),
                by=k.enrolled_by or "?", time=local_time(k.enrolled_at)) for k in keys]
    emit(ctx.json, {"stations": [k.to_json() for k in keys]}, "\n".join(lines))
    return 0


def cmd_campaign_show(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.errors import RefusedError
    from station.i18n import t
    from station.store import campaign

    store = ctx.store()
    if store.station_id is None:
        raise RefusedError("store.not_initialized")
    current = campaign.current(store)
    emit(ctx.json, {"station_id": store.station_id, "campaign": current},
         t("sync.campaign.show", campaign=current))
    return 0


def cmd_campaign_new(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.errors import RefusedError
    from station.i18n import t
    from station.store import campaign

    op = ctx.operator("campaign.new")
    store = ctx.store()
    if store.station_id is None:
        raise RefusedError("store.not_initialized")
    with store.transaction():
        previous = store.meta("campaign") or ""     # as it is: a broken one is what this mends
        current = campaign.start_new(store)
        store.audit.append(op.name, "campaign.new", store.station_id,
                           {"campaign": current, "previous": previous})
    emit(ctx.json, {"station_id": store.station_id, "campaign": current, "previous": previous},
         t("sync.campaign.started", campaign=current, previous=previous))
    return 0


def cmd_conflicts_list(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.sync.conflicts import VIEW_ACTION, ConflictService

    ctx.operator(VIEW_ACTION)
    items = ConflictService(ctx.store()).items(include_decided=args.all)
    open_items = [i for i in items if i.open]
    lines = review_lines(open_items, ctx.lang)
    if args.all:
        lines += render_items([i for i in items if not i.open], ctx.lang)
    emit(ctx.json, {"open": len(open_items), "items": [i.to_json() for i in items]}, "\n".join(lines))
    return 0


def cmd_conflicts_decide(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t
    from station.sync.conflicts import DECIDE_ACTION, ConflictService

    op = ctx.operator(DECIDE_ACTION)
    service = ConflictService(ctx.store())
    decision = service.decide(args.item, args.option, op.name, args.reason)
    data = decision.to_json()
    lines = [t("sync.decided", item=decision.item_id, choice=decision.texts.get(ctx.lang, ""),
               operator=decision.operator or "?", station=decision.station_id, time=data["at"])]
    if decision.effects:
        lines.append(t("sync.decided_effects", count=len(decision.effects)))
    remaining = service.count_open()
    lines.append(t("sync.review", count=remaining) if remaining else t("sync.review_none"))
    emit(ctx.json, {"decision": data, "open": remaining}, "\n".join(lines))
    return 0
