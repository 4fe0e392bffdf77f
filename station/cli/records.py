"""`station correct` and `station history`: fixing a person's record with a trail, and reading
that trail back (station.session.correct, station.store.history).

Privacy (cli.md): the human output masks names and ID numbers — except the values a correction
is about, which the operator has to see to check them. ``--json`` carries full values: it is for
scripts that reconcile records with the school's systems (say so in --help).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.cli.context import Context

FIELD_CHOICES = ("name", "gender", "birth_date", "department", "student_no", "id_number")


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("correct", help="correct a field of a person's record (a new fact; the old "
                                       "value and the reason stay in the trail)")
    c.add_argument("id_number", metavar="ID_NUMBER", help="the person's 18-character ID number")
    c.add_argument("--field", required=True, choices=FIELD_CHOICES,
                   help="the field to correct; id_number (supervisor only) moves the person's "
                        "captures, payments, acceptance and capture code to the new number")
    c.add_argument("--value", required=True, help="the corrected value (gender: male/female; "
                                                   "birth date: YYYY-MM-DD)")
    c.add_argument("--reason", required=True, help="why (kept in the trail and the audit)")
    c.add_argument("--merge", action="store_true",
                   help="id_number only: the new number already has a record and both are the "
                        "same person: join them")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_correct)
    h = sub.add_parser("history", help="a person's full trail: card reads, captures, decisions, "
                                       "payments, corrections, batches")
    h.add_argument("id_number", metavar="ID_NUMBER", help="the person's 18-character ID number")
    h.add_argument("--json", action="store_true",
                   help="one JSON document with full (unmasked) names and ID numbers, for scripts")
    h.set_defaults(handler=cmd_history)


def cmd_correct(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.cli.values import id_number
    from station.i18n import t
    from station.privacy import mask_free_text, mask_id
    from station.session.correct import correct_person
    from station.store.history import known_names

    number = id_number(args.id_number)         # a mistyped number before the PIN is asked
    op = ctx.operator("correct")
    store = ctx.store()
    done = correct_person(store, op, number, args.field, args.value, args.reason,
                          merge=args.merge)
    names = known_names(store, done.id_number, done.new_value if done.field == "id_number" else None)
    if done.field == "name":
        names |= {done.old_value, done.new_value}

    def human(_data: Any) -> str:
        lines = [t("session.corrected", ctx.lang, id=mask_id(done.id_number),
                   field=t(f"session.field.{done.field}", ctx.lang), old=done.old_value or "—",
                   new=done.new_value, reason=mask_free_text(done.reason, names),
                   operator=done.operator)]
        if done.merged:
            lines.append(t("session.corrected_merged", ctx.lang, old=mask_id(done.old_value),
                           new=mask_id(done.new_value)))
        return "\n".join(lines)

    emit(ctx.json, done.to_json(), human)
    return 0


def cmd_history(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.cli.values import id_number
    from station.errors import NotFoundError
    from station.store.history import history
    from station.store.rekey import has_record

    number = id_number(args.id_number)         # a mistyped number before the PIN is asked
    ctx.operator("history.view")
    store = ctx.store(access="auto")
    found = history(store, number)
    if not found.events and not has_record(store.conn, found.current):
        raise NotFoundError("session.history_none", id=_masked_id(number))
    offset = ctx.settings.exports.utc_offset_hours
    emit(ctx.json, found.to_json(), lambda _d: render(found, ctx.lang, offset))
    if found.altered:                 # a line edited behind the station's back is not the trail
        import sys

        from station.i18n import t

        print(t("session.history_altered_run_fsck", ctx.lang), file=sys.stderr)
        return 1
    return 0


def _masked_id(number: str) -> str:
    from station.privacy import mask_id

    return mask_id(number)


def render(found: Any, lang: str, offset: float) -> str:
    """The trail in lines, names and ID numbers masked unless a correction is about them."""
    from station.export.record import iso_local
    from station.i18n import t
    from station.privacy import mask_code, mask_free_text, mask_id, mask_name
    from station.store.people import wall_ms

    def shown(field_name: str, value: str | None) -> str:
        if field_name == "capture_code" and value:
            return mask_code(value)       # the code names the photo at the pipeline: its tail only
        return value or "—"

    last_code: str | None = None           # the code of the person's previous capture
    names = {e.data.get("name") for e in found.events if e.kind in ("roster", "card_read")}
    names |= {v for e in found.events if e.kind == "correction" and e.data.get("field") == "name"
              for v in (e.data.get("old_value"), e.data.get("new_value"))}

    lines = [t("session.history_head", lang, id=mask_id(found.current), events=len(found.events))]
    if found.current != found.id_number:
        lines.append(t("session.history_moved", lang, id=mask_id(found.id_number), new=mask_id(found.current)))
    for e in found.events:
        when = iso_local(wall_ms(e.hlc), offset)[:19].replace("T", " ")
        d = e.data
        if e.kind == "roster":
            what = f"{mask_name(d['name'])} {d['student_no'] or ''} {d['department'] or ''}"
            if d.get("school_code"):
                what += " " + t("roster.show_school", lang, school=d["school_code"])
        elif e.kind == "card_read":
            what = f"{mask_name(d['name'])} ({_word('source', d['source'] or d['card_type'], lang)})"
        elif e.kind == "capture":
            what = t("session.history_capture", lang, capture=e.data["capture_id"],
                     checks={True: t("session.history_word.pass", lang),
                             False: t("session.history_word.fail", lang), None: "-"}[d["checks_passed"]])
            code = d.get("capture_code")
            if code and last_code and code.casefold() != last_code.casefold():
                what += " " + t("session.history_code_changed", lang, old=mask_code(last_code),
                                new=mask_code(code))
            elif code:
                what += " " + t("session.history_code", lang, code=mask_code(code))
            last_code = code or last_code
        elif e.kind == "decision":
            what = f"{_word('decision', d['decision'], lang)} {d['capture_id']}" + \
                (f" ({mask_free_text(d['reason'], names)})" if d["reason"] else "") + \
                (" " + t("session.history_override", lang, by=d["override_by"]) if d["override_by"] else "")
        elif e.kind == "payment":
            what = f"{d['amount_cents'] / 100:.2f} {_word('method', d['method'], lang)}" + \
                (" " + t("session.history_voided", lang) if d["voided"] else "")
        elif e.kind == "correction":
            what = t("session.history_correction", lang, field=t(f"session.field.{d['field']}", lang),
                     old=shown(d["field"], d["old_value"]), new=shown(d["field"], d["new_value"]),
                     reason=mask_free_text(d["reason"], names))
        elif e.kind == "export":
            what = t("session.history_export", lang, batch=d["batch_id"])
        else:
            what = t("session.history_listed", lang, batch=d["batch_id"], replaces=d["replaces_batch"],
                     correction=_word("correction", d["correction"], lang))
        who = e.operator or "-"
        under = f" [{mask_id(e.id_number)}]" if e.id_number != found.current else ""
        mark = "  " + t("session.history_altered", lang) if e.altered else ""
        lines.append(f"{when}  {t(f'session.history_kind.{e.kind}', lang):<6} {e.station_id}/{who}  {what}{under}{mark}")
    return "\n".join(lines)


def _word(kind: str, value: str | None, lang: str) -> str:
    """A stored code word (card source, decision, payment method) in the reader's language; a
    value the catalog does not know (a configured payment method) as it is stored."""
    from station.i18n import catalog, t

    key = f"session.history_word.{kind}.{value}"
    return t(key, lang) if value and key in catalog() else (value or "?")
