"""`station operator …`: who may work at this station, with which role, and their PINs.

Every command here acts as an operator (``--operator``/``STATION_OPERATOR`` with ``STATION_PIN``)
and is audited by the store. New PINs are read from a prompt (asked twice) or one stdin line,
never from the environment, which holds the acting operator's own PIN.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.cli.context import Context

ROLES = ("photographer", "technician", "supervisor")
NAME_HELP = "the operator's name as they log in"
ROLE_HELP = "what they may do: photographer (desk), technician (+ exports), supervisor (all)"


def register(sub: argparse._SubParsersAction) -> None:
    op = sub.add_parser("operator", help="manage operators")
    op_sub = op.add_subparsers(dest="operator_command", metavar="ACTION", required=True)
    add = op_sub.add_parser("add", help="add an operator (supervisor only); PIN from stdin or prompt")
    add.add_argument("name", help=NAME_HELP)
    add.add_argument("--role", required=True, choices=ROLES, help=ROLE_HELP)
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler=cmd_add)
    ls = op_sub.add_parser("list", help="operators, roles, disabled and locked ones")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=cmd_list)
    pin = op_sub.add_parser("set-pin", help="a new PIN (your own, or anyone's as supervisor)")
    pin.add_argument("name", help="whose PIN: your own, or anyone's as supervisor")
    pin.add_argument("--json", action="store_true")
    pin.set_defaults(handler=cmd_set_pin)
    role = op_sub.add_parser("set-role", help="change an operator's role")
    role.add_argument("name", help="the operator whose role changes")
    role.add_argument("--role", required=True, choices=ROLES, help=ROLE_HELP)
    role.add_argument("--json", action="store_true")
    role.set_defaults(handler=cmd_set_role)
    for name, active in (("disable", False), ("enable", True)):
        p = op_sub.add_parser(name, help=f"{name} an operator (the last supervisor stays)")
        p.add_argument("name", help="the operator to " + name)
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=cmd_set_active, active=active)
    unlock = op_sub.add_parser("unlock", help="clear a PIN lock-out")
    unlock.add_argument("name", help="the locked-out operator")
    unlock.add_argument("--json", action="store_true")
    unlock.set_defaults(handler=cmd_unlock)


def new_pin(ctx: Context, prompt: str, *, env_first: bool) -> str:
    """A new PIN: STATION_PIN (init only), a prompt asked twice, or a stdin line. Checked, and
    a short or simple one is advised against on stderr."""
    import os

    from station.cli.output import warn
    from station.errors import InputError, Location
    from station.i18n import t
    from station.store.operators import check_pin, weak_pin

    if env_first and os.environ.get("STATION_PIN") is not None:
        pin = os.environ["STATION_PIN"]
    elif sys.stdin is not None and sys.stdin.isatty():
        pin = getpass.getpass(prompt)
        if getpass.getpass(t("auth.pin_confirm_prompt")) != pin:
            raise InputError("auth.pin_mismatch", Location("PIN"))
    else:
        pin = (sys.stdin.readline() if sys.stdin is not None else "").rstrip("\r\n")
    check_pin(pin)
    if weak_pin(pin):
        warn(t("auth.weak_pin"))
    return pin


def cmd_add(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t
    from station.store.operators import role_words

    acting = ctx.operator("operator.add")
    pin = new_pin(ctx, t("auth.pin_prompt", name=args.name), env_first=False)
    op = ctx.store().operators.add(args.name, args.role, pin, by=acting)
    emit(ctx.json, {"name": op.name, "role": op.role, "id": op.id},
         t("store.operator_added", name=op.name, role=role_words(op.role)))
    return 0


def cmd_list(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t

    ctx.operator("operator.list")
    rows = ctx.store().operators.status()
    active = [r for r in rows if r["active"]]

    def human(_: Any) -> str:
        lines = []
        for r in rows:
            marks = [] if r["active"] else [t("auth.list_disabled")]
            if r["locked_seconds"]:
                marks.append(t("auth.list_locked", seconds=r["locked_seconds"]))
            lines.append("\t".join([r["name"], t(f"auth.role.{r['role']}"), *marks]))  # --json: the code
        return "\n".join(lines)

    emit(ctx.json, {"operators": [{"name": r["name"], "role": r["role"]} for r in active],
                    "all": rows}, human)
    return 0


def cmd_set_pin(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t

    acting = ctx.operator("operator.set_pin" if ctx.acting_name() != args.name else "session.run")
    pin = new_pin(ctx, t("auth.pin_prompt", name=args.name), env_first=False)
    ctx.store().operators.set_pin(args.name, pin, by=acting)
    emit(ctx.json, {"name": args.name, "pin_changed": True}, t("auth.pin_changed", name=args.name))
    return 0


def cmd_set_role(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t
    from station.store.operators import role_words

    acting = ctx.operator("operator.set_role")
    ctx.store().operators.set_role(args.name, args.role, by=acting)
    emit(ctx.json, {"name": args.name, "role": args.role},
         t("auth.role_changed", name=args.name, role=role_words(args.role)))
    return 0


def cmd_set_active(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t

    acting = ctx.operator("operator.disable")
    ctx.store().operators.set_active(args.name, args.active, by=acting)
    emit(ctx.json, {"name": args.name, "active": args.active},
         t("auth.enabled" if args.active else "auth.disabled", name=args.name))
    return 0


def cmd_unlock(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.i18n import t

    acting = ctx.operator("operator.unlock")
    ctx.store().operators.unlock(args.name, by=acting)
    emit(ctx.json, {"name": args.name, "unlocked": True}, t("auth.unlocked", name=args.name))
    return 0
