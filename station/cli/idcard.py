"""`station idcard read`: wait for one card and print its identity (cli.md's identity JSON)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    group = subparsers.add_parser("idcard", help="身份证读卡 / ID card reader")
    sub = group.add_subparsers(dest="idcard_command", metavar="COMMAND")
    read = sub.add_parser("read", help="等待一张证件并输出身份信息 / wait for one card, print the identity")
    read.add_argument("--reader",
                      help="pcsc[:NAME] | serial:PORT | virtual | sim | manual (default: idcard.reader)")
    read.add_argument("--timeout", type=float, help="seconds to wait for a card (default: idcard.timeout)")
    read.add_argument("--profile", help="reader profile in drivers/readers (PC/SC readers)")
    read.add_argument("--json", action="store_true", help="print the identity JSON")
    read.add_argument("--identity", type=Path,
                      help="sim/virtual readers: identity JSON of the card to present (default: a demo student)")
    read.add_argument("--id-number", help=argparse.SUPPRESS)   # manual reader: typed number
    read.add_argument("--name", help=argparse.SUPPRESS)        # manual reader: typed name
    read.set_defaults(handler=read_card)
    group.set_defaults(handler=lambda ctx, args: group.print_help() or 2)


def _human(identity: dict) -> str:
    from station.i18n import get_language
    from station.privacy import mask_id

    shown = dict(identity, id_number=mask_id(identity.get("id_number")))
    lines = [f"{key}: {value}" for key, value in shown.items() if key != "warnings"]
    lang = get_language()
    for w in identity.get("warnings", []):
        lines.append(f"! {w['message_' + lang]}")
    return "\n".join(lines)


def read_card(ctx, args) -> int:
    from station.cli.output import emit, warn
    from station.devices import reader_options
    from station.i18n import t
    from station.idcard import open_reader
    from station.idcard.readers.manual import ManualReader
    from station.idcard.readers.sim import SimReader
    from station.idcard.readers.virtual import VirtualReader

    cfg = ctx.settings.idcard
    spec = args.reader or cfg.reader
    timeout = args.timeout if args.timeout is not None else cfg.timeout
    reader = open_reader(spec, **reader_options(cfg, spec, profile=args.profile))
    try:
        if isinstance(reader, SimReader | VirtualReader):
            from station.domain.identity import Identity
            from station.sim.identities import demo_identity

            reader.present(Identity.load(args.identity) if args.identity else demo_identity())
        elif isinstance(reader, ManualReader):
            reader.enter(args.id_number or "", args.name or "")
        if not ctx.json:
            warn(t("idcard.waiting", seconds=round(timeout, 1), reader=reader.name))
        result = reader.read(timeout)
    finally:
        reader.close()
    emit(ctx.json, result.identity.to_json(), _human)
    return 0
