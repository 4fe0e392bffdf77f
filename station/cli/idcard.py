"""`station idcard read`: wait for one card and print its identity (cli.md's identity JSON)."""

from __future__ import annotations

import argparse
from pathlib import Path

from station.cli.values import seconds


def register(subparsers) -> None:
    group = subparsers.add_parser("idcard", help="ID card reader")
    sub = group.add_subparsers(dest="idcard_command", metavar="COMMAND")
    read = sub.add_parser("read", help="wait for one card, print the identity")
    read.add_argument("--reader",
                      help="pcsc[:NAME] | usb[:PROFILE] | serial:PORT | virtual | sim | manual "
                           "(default: idcard.reader)")
    read.add_argument("--timeout", type=float, help="seconds to wait for a card (default: idcard.timeout)")
    read.add_argument("--profile", help="reader profile in drivers/readers")
    read.add_argument("--json", action="store_true", help="print the identity JSON")
    read.add_argument("--identity", type=Path,
                      help="sim/virtual readers: identity JSON of the card to present (default: a demo student)")
    read.add_argument("--id-number", help=argparse.SUPPRESS)   # manual reader: typed number
    read.add_argument("--name", help=argparse.SUPPRESS)        # manual reader: typed name
    read.set_defaults(handler=read_card)
    probe = sub.add_parser(
        "probe", help="find how an attached PC/SC or USB reader reaches its security module "
                      "(writes nothing to the card or the reader)")
    probe.add_argument("--reader", default="pcsc",
                       help="pcsc[:NAME] | usb[:PROFILE] (default: the first PC/SC reader)")
    probe.add_argument("--timeout", type=float, default=30.0,
                       help="seconds to wait for a card on a PC/SC reader (default 30; a USB "
                            "reader's probe needs no card)")
    probe.add_argument("--json", action="store_true", help="print the findings as JSON")
    probe.set_defaults(handler=probe_reader)
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
    timeout = seconds("--timeout", args.timeout)
    if timeout is None:
        timeout = cfg.timeout
    reader = open_reader(spec, **reader_options(cfg, spec, profile=args.profile))
    try:
        if isinstance(reader, SimReader | VirtualReader):
            from station.domain.identity import Identity
            from station.errors import InputError, Location
            from station.idcard.record import FieldTooLong
            from station.sim.identities import demo_identity

            identity = Identity.load(args.identity) if args.identity else demo_identity()
            try:
                reader.present(identity)
            except FieldTooLong as exc:  # a typed value no card can hold
                raise InputError("idcard.field_too_long", Location(str(args.identity), field=exc.field),
                                 field=exc.field, chars=exc.chars) from None
        elif isinstance(reader, ManualReader):
            reader.enter(args.id_number or "", args.name or "")
        if not ctx.json:
            warn(t("idcard.waiting", seconds=round(timeout, 1), reader=reader.name))
        result = reader.read(timeout)
    finally:
        reader.close()
    emit(ctx.json, result.identity.to_json(), _human)
    return 0


def probe_reader(ctx, args) -> int:
    """Try the known ways to reach the SAM of the attached reader; exit 0 when one reads
    identities, 1 when none does. Read-only: nothing is written to a card or the reader."""
    from station.errors import UsageError

    seconds("--timeout", args.timeout)
    kind, _, name = args.reader.partition(":")
    if kind == "pcsc":
        return _probe_pcsc(ctx, args, name or None)
    if kind == "usb":
        return _probe_usb(ctx, name or None)
    raise UsageError("idcard.probe.unsupported", spec=args.reader)


def _probe_lines(profiles: list[dict]) -> list[str]:
    from station.i18n import t

    return [t("idcard.probe.answers" if r["answers"] else "idcard.probe.silent",
              profile=r["profile"], envelope=r["envelope"], detail=r["detail"])
            for r in profiles]


def _probe_pcsc(ctx, args, name: str | None) -> int:
    from station.cli.output import emit, warn
    from station.i18n import t
    from station.idcard.readers.pcsc import PcscReader

    reader = PcscReader(name)
    try:
        if not ctx.json:
            warn(t("idcard.waiting", seconds=round(args.timeout, 1), reader=reader.name))
        results = reader.probe(args.timeout)
    finally:
        reader.close()
    use = next((r.profile for r in results if r.answers and r.reads_identity), None)
    report = {"reader": reader.reader_name, "profiles": [r.to_json() for r in results],
              "use": use}

    def human(data: dict) -> str:
        lines = _probe_lines(data["profiles"])
        if data["use"]:
            lines.append(t("idcard.probe.use", profile=data["use"]))
        elif any(r["answers"] for r in data["profiles"]):
            lines.append(t("idcard.probe.serial_only"))
        else:
            lines.append(t("idcard.probe.none"))
        return "\n".join(lines)

    emit(ctx.json, report, human)
    return 0 if use else 1


def _probe_usb(ctx, profile: str | None) -> int:
    from station.cli.output import emit
    from station.i18n import t
    from station.idcard.readers.usb_probe import probe_usb

    probe = probe_usb(profile)
    report = probe.to_json()

    def human(data: dict) -> str:
        lines = _probe_lines(data["profiles"])
        layout = data["layout"]
        if data["use"]:
            lines.append(t("idcard.probe.use", profile=data["use"]))
        elif layout:
            answered = next(r for r in data["profiles"] if r["answers"])
            lines.append(t("idcard.probe.usb_layout", profile=answered["profile"],
                           endpoints=answered["envelope"],
                           out_endpoints=_toml_list(layout["out_endpoints"]),
                           in_endpoints=_toml_list(layout["in_endpoints"])))
        else:
            lines.append(t("idcard.probe.usb_none"))
        return "\n".join(lines)

    emit(ctx.json, report, human)
    return 0 if probe.use or probe.layout else 1


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"
