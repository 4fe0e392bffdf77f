"""`station bundle create` and `station merge`: moving station data to the supervisor's master."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from station.cli.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    bundle = sub.add_parser("bundle", help="station bundles for the supervisor's merge")
    bsub = bundle.add_subparsers(dest="bundle_command", metavar="ACTION")
    c = bsub.add_parser("create", help="a consistent, checksummed, signed snapshot of this station")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_bundle_create)

    def show(ctx: Context, args: argparse.Namespace) -> int:
        bundle.print_help()
        return 2

    bundle.set_defaults(handler=show)
    m = sub.add_parser("merge", help="merge station bundles into this store (idempotent)")
    m.add_argument("bundles", nargs="+", type=Path)
    m.add_argument("--json", action="store_true")
    m.set_defaults(handler=cmd_merge)


def cmd_bundle_create(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t
    from station.sync.bundle import create_bundle

    op = ctx.operator("bundle")
    store = ctx.store()
    result = create_bundle(store, args.out, operator=op.name)
    emit(ctx.json, result.to_json(), t("sync.bundled", path=str(args.out), rows=sum(result.rows.values()),
                                       images=result.images))
    return 0


def cmd_merge(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t
    from station.sync.merge import merge_bundle, review

    op = ctx.operator("merge")
    store = ctx.store()
    results = [merge_bundle(store, path, operator=op.name) for path in args.bundles]
    to_review = review(store)
    lines = []
    for r in results:
        if r.already_imported:
            lines.append(t("sync.already", bundle=r.bundle))
        else:
            lines.append(t("sync.merged", bundle=r.bundle, added=sum(r.added.values()), images=r.images_added,
                           conflicts=len(r.conflicts)))
    lines.append(t("sync.review", count=len(to_review)))
    emit(ctx.json, {"bundles": [r.to_json() for r in results], "review": to_review}, "\n".join(lines))
    return 0
