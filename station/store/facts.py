"""Writing the insert-only facts of a capture session, and the person's state derived from them.

Each ``record_*`` call is one transaction that also appends to the audit log, and returns the new
row's ULID. Nothing here updates or deletes: an edit is a correction, a deletion a tombstone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from station.errors import InputError, Location, NotFoundError

if TYPE_CHECKING:
    from station.domain.identity import Identity
    from station.store.core import Store

FACT_TABLES = (
    "roster_entries", "schedule_slots", "card_reads", "captures", "check_reports", "payments",
    "acceptances", "exports", "export_items", "export_corrections", "corrections", "tombstones",
    "imports", "operators", "audit", "session_events", "walk_ins", "station_keys", "merge_clashes",
    "conflict_decisions", "upload_confirmations", "purges",
)


def is_paid(paid_cents: int, fee_cents: int) -> bool:
    """The one definition of "paid": the payments on record reach the full configured fee
    (``settings.fee.cents``). The desk, the export selection, print sheets and reports use it."""
    return paid_cents >= fee_cents


@dataclass
class PersonState:
    """What the station knows about one person, derived from every fact about them."""

    id_number: str
    captures: list[dict[str, Any]] = field(default_factory=list)   # newest first, with check + decision
    payments: list[dict[str, Any]] = field(default_factory=list)
    paid_cents: int = 0
    accepted_capture_id: str | None = None
    accepted_at: str | None = None       # hlc of the acceptance
    accepted_station: str | None = None
    exported: bool = False
    card_reads: int = 0

    def paid(self, fee_cents: int) -> bool:
        """Whether the payments on record cover the fee (see :func:`is_paid`)."""
        return is_paid(self.paid_cents, fee_cents)

    def to_json(self) -> dict[str, Any]:
        return {
            "id_number": self.id_number, "captures": self.captures, "payments": self.payments,
            "paid_cents": self.paid_cents, "accepted_capture_id": self.accepted_capture_id,
            "accepted_at": self.accepted_at, "accepted_station": self.accepted_station,
            "exported": self.exported, "card_reads": self.card_reads,
        }


class Facts:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _record(self, table: str, values: dict[str, Any], operator: str | None, action: str,
                subject: str | None, details: dict[str, Any] | None = None) -> str:
        with self.store.transaction():
            new_id = self.store.insert(table, values)
            self.store.audit.append(operator, action, subject, {"id": new_id, **(details or {})})
        return new_id

    def record_card_read(self, identity: Identity, reader: str | None = None,
                         operator: str | None = None) -> str:
        return self._record("card_reads", {
            "id_number": identity.id_number, "name": identity.name,
            "identity": identity.to_json(), "reader": reader, "operator": operator,
        }, operator, "card.read", identity.id_number, {"reader": reader})

    def record_capture(self, id_number: str, image_sha256: str, source_name: str | None = None,
                       camera: dict[str, Any] | None = None, card_read_id: str | None = None,
                       operator: str | None = None, capture_code: str | None = None) -> str:
        """A capture of an image already in ``store.images`` (put it first); ``capture_code`` is
        the student's 图像采集码 in code mode (the audit keeps only whether there was one)."""
        if not self.store.images.exists(image_sha256):
            raise NotFoundError("store.image_missing", sha=image_sha256)
        return self._record("captures", {
            "id_number": id_number, "image_sha256": image_sha256, "source_name": source_name,
            "camera": camera or {}, "card_read_id": card_read_id, "operator": operator,
            "capture_code": capture_code,
        }, operator, "capture", id_number, {"image": image_sha256, "capture_code": capture_code is not None})

    def capture_code_owner(self, code: str, besides: str | None = None) -> str | None:
        """The person (ID number, other than ``besides``) who holds this 图像采集码, if any. Codes
        equal but for case are one code: batches name photos by it, and the pipeline's Windows side
        folds case (one student's photo would overwrite another's).

        A person holds the code of a photo of theirs that was uploaded, of their current accepted
        photo, and of their latest photo not rejected (a photo waiting for its decision) — what
        exports and ``code_clash`` read. A code only on a rejected photo (its checks failed, a
        conflict decision gave the code to someone else) or on a photo a newer accepted one
        replaced is nobody's any more: its real owner may be photographed under it."""
        from station.store.rekey import rekeys

        conn = self.store.conn
        moved = rekeys(conn)
        rows = conn.execute("SELECT d.id_number FROM capture_decisions d JOIN captures c ON c.id = d.capture_id "
                            "WHERE c.capture_code = ? COLLATE NOCASE ORDER BY d.captured_hlc, d.capture_id",
                            (code,)).fetchall()
        folded = code.casefold()
        for person in dict.fromkeys(str(moved.get(r[0], r[0])) for r in rows):
            if person != besides and folded in self._held_codes(person, moved):
                return person
        return None

    def _held_codes(self, person: str, moved: dict[str, str]) -> set[str]:
        """The 图像采集码 (case folded) ``person`` holds: see :meth:`capture_code_owner`."""
        numbers = [person, *(old for old, new in moved.items() if new == person)]
        rows = self.store.conn.execute(
            "SELECT d.decision, d.exported, d.decided_hlc, c.capture_code FROM capture_decisions d "
            f"JOIN captures c ON c.id = d.capture_id WHERE d.id_number IN ({', '.join('?' * len(numbers))}) "
            "ORDER BY d.captured_hlc, d.capture_id", numbers).fetchall()
        held = {r["capture_code"].casefold() for r in rows if r["exported"] and r["capture_code"]}
        accepted = [r for r in rows if r["decision"] == "accept"]
        if accepted:                       # the newest decision wins, as exports choose
            current = max(accepted, key=lambda r: r["decided_hlc"])
            if current["capture_code"]:
                held.add(current["capture_code"].casefold())
        pending = [r for r in rows if r["decision"] != "reject" and r["capture_code"]]
        if pending:
            held.add(pending[-1]["capture_code"].casefold())
        return held

    def payment_reference_owner(self, reference: str) -> str | None:
        """The person (ID number) whose payment already carries this transaction number, if
        any: one WeChat payment pays one student's fee."""
        from station.store.rekey import resolve

        row = self.store.conn.execute("SELECT id_number FROM payments WHERE reference = ? "
                                      "ORDER BY hlc LIMIT 1", (reference,)).fetchone()
        return resolve(self.store.conn, row[0]) if row else None

    def record_check(self, capture_id: str, report: dict[str, Any], passed: bool,
                     operator: str | None = None) -> str:
        return self._record("check_reports", {
            "capture_id": capture_id, "passed": bool(passed), "report": report,
        }, operator, "check", capture_id, {"passed": bool(passed)})

    def record_payment(self, id_number: str, amount_cents: int, method: str,
                       reference: str | None = None, operator: str | None = None) -> str:
        if amount_cents <= 0:
            raise InputError("store.bad_amount", Location("amount_cents"), amount=amount_cents)
        return self._record("payments", {
            "id_number": id_number, "amount_cents": int(amount_cents), "method": method,
            "reference": reference, "operator": operator,
        }, operator, "payment.record", id_number, {"amount_cents": amount_cents, "method": method})

    def record_acceptance(self, capture_id: str, decision: str, reason: str | None = None,
                          override_by: str | None = None, operator: str | None = None) -> str:
        """Accept or reject a capture. The one rule for accepting a photo that fails its checks
        lives here, so it holds wherever the accept comes from (desk, review, ingest):
        ``override_by`` must name an enabled operator allowed ``accept.override``."""
        if decision not in ("accept", "reject"):
            raise InputError("store.bad_decision", Location("decision"), decision=decision)
        if reason is not None:                  # shown on review screens and in reports
            from station.privacy import check_text

            check_text(reason, field="reason", limit=500, source="acceptance", multiline=True)
        row = self.store.conn.execute("SELECT id_number FROM captures WHERE id = ?",
                                      (capture_id,)).fetchone()
        if row is None:
            raise NotFoundError("store.no_capture", id=capture_id)
        if decision == "accept":
            failed = self.failed_checks(capture_id)
            if failed is not None:
                self._require_override(override_by, failed)
        else:
            override_by = None
        return self._record("acceptances", {
            "capture_id": capture_id, "id_number": row[0], "decision": decision,
            "reason": reason, "override_by": override_by, "operator": operator,
        }, operator, "accept" if decision == "accept" else "reject", row[0],
            {"capture_id": capture_id, "override_by": override_by})

    def failed_checks(self, capture_id: str) -> list[str] | None:
        """The names of the checks the capture's latest report failed (``["crop"]`` when there
        is no export crop), or None when it passed or was never checked."""
        conn = self.store.conn
        report = conn.execute("SELECT passed, report FROM check_reports WHERE capture_id = ? "
                              "ORDER BY hlc DESC LIMIT 1", (capture_id,)).fetchone()
        if report is None or report["passed"]:
            return None
        try:
            checks = json.loads(report["report"] or "{}").get("checks") or []
            names = [c["name"] for c in checks if c.get("status") == "fail"]
        except (ValueError, AttributeError, KeyError, TypeError):
            names = []
        return names or ["crop"]

    def _require_override(self, override_by: str | None, failed: list[str]) -> None:
        from station.errors import RefusedError
        from station.i18n import Words

        ops = self.store.operators
        op = ops.get(override_by) if override_by else None
        if op is None or not op.can("accept.override"):
            if op is not None:
                self.store.audit.append(op.name, "auth.refused", "accept.override",
                                        {"role": op.role})
            raise RefusedError("auth.override_required",
                               checks=Words(tuple(f"checks.name.{n}" for n in failed)))

    def record_export(self, batch_id: str, capture_ids: Iterable[str], profile: str | None = None,
                      operator: str | None = None, details: dict[str, Any] | None = None) -> str:
        ids = list(capture_ids)
        with self.store.transaction():
            export_id = self.store.insert("exports", {
                "batch_id": batch_id, "capture_ids": ids, "profile": profile, "operator": operator})
            self.store.audit.append(operator, "export", batch_id,
                                    {"id": export_id, "captures": len(ids), **(details or {})})
        return export_id

    def record_upload_confirmation(self, batch_id: str, operator: str,
                                   note: str | None = None) -> str | None:
        """The pipeline received batch ``batch_id`` (idempotent: None when already confirmed)."""
        with self.store.transaction():
            conn = self.store.conn
            if conn.execute("SELECT 1 FROM exports WHERE batch_id = ?", (batch_id,)).fetchone() is None:
                raise NotFoundError("exports.unknown_batch", batch=batch_id)
            if conn.execute("SELECT 1 FROM upload_confirmations WHERE batch_id = ?",
                            (batch_id,)).fetchone() is not None:
                return None
            return self._record("upload_confirmations", {
                "batch_id": batch_id, "note": note, "operator": operator},
                operator, "export.confirm", batch_id, {"note": note})

    def record_correction(self, target_table: str, target_id: str, field_name: str,
                          old_value: Any, new_value: Any, reason: str | None = None,
                          operator: str | None = None) -> str:
        return self._record("corrections", {
            "target_table": target_table, "target_id": target_id, "field": field_name,
            "old_value": _text(old_value), "new_value": _text(new_value), "reason": reason,
            "operator": operator,
        }, operator, "correct", target_id, {"table": target_table, "field": field_name})

    def record_tombstone(self, target_table: str, target_id: str, reason: str | None = None,
                         operator: str | None = None) -> str:
        return self._record("tombstones", {
            "target_table": target_table, "target_id": target_id, "reason": reason,
            "operator": operator,
        }, operator, "delete", target_id, {"table": target_table, "reason": reason})

    # -- derived state ------------------------------------------------------------------------
    def person_state(self, id_number: str) -> PersonState:
        """Derived from every fact that belongs to ``id_number`` now, including those recorded
        under a number later corrected to it (``station.store.rekey``)."""
        from station.store.rekey import aliases

        conn = self.store.conn
        state = PersonState(id_number)
        numbers = aliases(conn, id_number)
        among = f"IN ({', '.join('?' * len(numbers))})" if numbers else "IN (NULL)"
        for r in conn.execute(
                "SELECT d.*, c.source_name, c.operator AS captured_by, c.hlc AS hlc, "
                "(SELECT passed FROM check_reports k WHERE k.capture_id = d.capture_id "
                " ORDER BY k.hlc DESC LIMIT 1) AS check_passed "
                "FROM capture_decisions d JOIN captures c ON c.id = d.capture_id "
                f"WHERE d.id_number {among} ORDER BY c.hlc DESC", numbers):
            state.captures.append({
                "id": r["capture_id"], "image_sha256": r["image_sha256"],
                "station_id": r["station_id"], "hlc": r["hlc"], "source_name": r["source_name"],
                "captured_by": r["captured_by"], "check_passed": _bool(r["check_passed"]),
                "decision": r["decision"], "reason": r["reason"], "override_by": r["override_by"],
                "decided_hlc": r["decided_hlc"], "exported": bool(r["exported"]),
            })
        accepted = [c for c in state.captures if c["decision"] == "accept"]
        if accepted:
            best = max(accepted, key=lambda c: c["decided_hlc"])
            state.accepted_capture_id = best["id"]
            state.accepted_at = best["decided_hlc"]
            state.accepted_station = best["station_id"]
            state.exported = any(c["exported"] for c in accepted)
        for r in conn.execute(
                f"SELECT * FROM payments y WHERE id_number {among} AND NOT EXISTS (SELECT 1 FROM "
                "tombstones t WHERE t.target_table = 'payments' AND t.target_id = y.id) "
                "ORDER BY hlc", numbers):
            state.payments.append({"id": r["id"], "amount_cents": r["amount_cents"],
                                   "method": r["method"], "reference": r["reference"],
                                   "hlc": r["hlc"], "station_id": r["station_id"]})
        state.paid_cents = sum(p["amount_cents"] for p in state.payments)
        state.card_reads = conn.execute(f"SELECT COUNT(*) FROM card_reads WHERE id_number {among}",
                                        numbers).fetchone()[0]
        return state

    def accepted_captures(self, exported: bool | None = None) -> list[dict[str, Any]]:
        """Captures whose current decision is accept (optionally only not-yet-exported ones).

        Exported means delivered: in an upload folder, or — a photo accepted after the person's
        first one went out, which no upload folder takes again — listed as a photo correction."""
        sql = "SELECT * FROM accepted_captures"
        if exported is not None:
            sent = ("(exported = 1 OR capture_id IN (SELECT capture_id FROM export_corrections "
                    "WHERE correction = 'photo'))")
            sql += f" WHERE {sent}" if exported else f" WHERE NOT {sent}"
        return [dict(r) for r in self.store.conn.execute(sql + " ORDER BY decided_hlc")]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)
