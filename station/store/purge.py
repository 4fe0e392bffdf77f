"""`station purge`: the end of a campaign — personal data and photos go, counts and the trail stay.

Once every accepted photo of the campaign is in a batch the pipeline confirmed (``station export
confirm``), a supervisor purges it: each person's ID number becomes a masked, keyed pseudonym
(``530***********123X#1f2e3d4c``: the same person stays one person in counts, nobody can read it
back), names are masked, card details, addresses, birth dates, student numbers and file names are
dropped, and the photos are deleted (the rules: ``station.store.purge_mask``). The correction
trail goes the same way — a corrected name is masked, a corrected student number or birth date
dropped, a corrected ID number a pseudonym (a re-keyed person is purged under every number) —
and so do the versions a merge set aside, the decisions on them and rows waiting for a parent.
Every row stays, so counts, payments and the audit trail (who did what, when) remain; the purge
itself is a fact and an audit entry, all in one transaction. What the station wrote outside its
data folder (batch folders and reports, print sheets, bundles: ``station.store.written``) and
held only purged people is marked in that transaction and removed after it, each removal or
refusal recorded and audited; a re-run carries on where a power loss stopped it.

The store's integrity survives: the seals are checked first (a purge must not bless an edit made
behind the station's back), the rows it changes are re-sealed with the station's key, and the
plain audit hash chain is recomputed. SQLite's secure_delete and a VACUUM leave no old values in
free pages or the WAL.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from station.errors import IntegrityError, RefusedError
from station.privacy import mask_id
from station.store import written
from station.store.purge_mask import Masker

if TYPE_CHECKING:
    from station.store.core import Store

# Where station.export keeps the full (unmasked) batch reports, inside the data folder.
PRIVATE_REPORTS = "export-reports"
# Tables about the station itself, never about a graduate.
# (``upload_confirmations`` and ``imports`` are not skipped: a note and a file name are free text,
# scrubbed like a reason.)
_SKIP_TABLES = frozenset({"operators", "purges"})
_PERSON_SOURCES = ("roster_entries", "card_reads", "captures", "payments", "acceptances",
                   "session_events", "walk_ins")


@dataclass(frozen=True)
class Blocked:
    """A person whose accepted photo keeps the purge from running: named (masked) so the
    supervisor can find them, with the photo that is missing from a confirmed batch."""
    id_number: str
    reason: str                   # not_exported | not_confirmed
    batch: str                    # the newest batch holding the photo (not_confirmed)
    name: str = ""
    capture_id: str = ""
    station_id: str = ""
    captured_hlc: str = ""

    def to_json(self) -> dict[str, Any]:
        from station.privacy import mask_name

        return {"id_number": mask_id(self.id_number), "name": mask_name(self.name), "reason": self.reason,
                "batch": self.batch, "capture": self.capture_id[-8:], "station_id": self.station_id,
                "captured_at": _local(self.captured_hlc)}


def _local(hlc: str) -> str:
    from station.domain.localtime import from_ms

    try:
        return from_ms(int(hlc.split("-", 1)[0])).strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError, OSError):
        return ""


@dataclass
class PurgePlan:
    until: str | None
    people: list[str] = field(default_factory=list)     # ID numbers (a re-keyed person has two)
    blocked: list[Blocked] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    persons: int | None = None                             # people, each counted once

    @property
    def count(self) -> int:
        return len(self.people) if self.persons is None else self.persons

    def to_json(self) -> dict[str, Any]:
        return {"until": self.until, "people": self.count, "images": len(self.images),
                "blocked": [b.to_json() for b in self.blocked]}


@dataclass
class PurgeResult:
    people: int
    rows_masked: int
    images_removed: int
    purge_id: str
    files: list[dict[str, Any]] = field(default_factory=list)   # station.store.written outcomes

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _cutoff(until: dt.date | None) -> str | None:
    if until is None:
        return None
    from station.domain.localtime import station_zone

    local_midnight = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=station_zone())
    return f"{int(local_midnight.timestamp() * 1000):013d}"


def _in_scope(conn: Any, last: dict[str, str], cutoff: str | None) -> list[set[str]]:
    """The ID numbers of each person whose last fact is before ``cutoff`` (all, without one). A person
    whose number was corrected (``station.store.rekey``) is one person under every number: the
    old numbers' facts and the new number — which later facts (a batch's corrections list) and
    the correction itself name — go together, or not at all."""
    from station.store.rekey import rekeys

    moved = rekeys(conn)
    groups: dict[str, set[str]] = {}
    for number in last:
        head = moved.get(number, number)
        groups.setdefault(head, {head}).add(number)
    out: list[set[str]] = []
    for numbers in groups.values():
        newest = max((last[n] for n in numbers if n in last), default="")
        if cutoff is None or newest < cutoff:
            out.append(numbers)
    return out


def plan(store: Store, until: dt.date | None = None) -> PurgePlan:
    """Who would be purged, and who blocks the purge: a person whose current accepted photo is in
    no batch the pipeline confirmed — neither uploaded in one nor listed in its corrections list
    as a photo correction (a photo kept after the first went out is never uploaded again)."""
    conn = store.conn
    union = " UNION ALL ".join(f"SELECT id_number, hlc FROM {t} WHERE id_number IS NOT NULL"
                               for t in _PERSON_SOURCES)
    cutoff = _cutoff(until)
    last = {str(r[0]): str(r[1]) for r in conn.execute(
        f"SELECT id_number, MAX(hlc) FROM ({union}) GROUP BY id_number")}
    groups = [g for g in _in_scope(conn, last, cutoff) if not any("#" in n for n in g)]  # '#': purged
    people = sorted(n for g in groups for n in g)
    out = PurgePlan(until.isoformat() if until else None, people, persons=len(groups))
    confirmed = {r[0] for r in conn.execute("SELECT batch_id FROM upload_confirmations")}
    scope = set(people)
    from station.store.conflicts import person_names

    for capture_id, id_number, station_id, captured in conn.execute(
            "SELECT capture_id, id_number, station_id, captured_hlc FROM accepted_captures a "
            "WHERE decided_hlc = (SELECT MAX(decided_hlc) FROM accepted_captures b "
            "WHERE b.id_number = a.id_number) ORDER BY id_number").fetchall():
        if id_number not in scope:
            continue
        # delivered in an upload folder, or — a photo kept after the person's first photo went
        # out (a newer acceptance, a conflict decision) — as a photo correction in a later
        # batch's corrections list: CHSI takes no second upload, so that is its only way out
        batches = [r[0] for r in conn.execute(
            "SELECT e.batch_id, e.hlc FROM export_index i JOIN exports e ON e.id = i.export_id "
            "WHERE i.capture_id = ? UNION "
            "SELECT e.batch_id, e.hlc FROM export_corrections x JOIN exports e ON e.id = x.export_id "
            "WHERE x.capture_id = ? AND x.correction = 'photo' ORDER BY 2", (capture_id, capture_id))]
        who = dict(capture_id=capture_id, station_id=station_id or "", captured_hlc=captured or "")
        if not batches:
            out.blocked.append(Blocked(id_number, "not_exported", "", **who))
        elif not any(b in confirmed for b in batches):
            out.blocked.append(Blocked(id_number, "not_confirmed", batches[-1], **who))
    # named once, for the blocking people only (not a roster lookup per person in scope)
    names = person_names(store, [b.id_number for b in out.blocked])
    out.blocked = [replace(b, name=names.get(b.id_number, "")) for b in out.blocked]
    shared: set[str] = set()
    marks = ",".join("?" for _ in people) or "''"
    for sha, crop, idn in conn.execute(
            "SELECT image_sha256, json_extract(camera, '$.crop_sha256'), id_number FROM captures "
            "WHERE json_valid(camera) OR camera IS NULL"):
        if idn not in scope:
            shared.update(s for s in (sha, crop) if s)
    images: set[str] = set()
    for sha, crop in conn.execute(
            f"SELECT image_sha256, json_extract(camera, '$.crop_sha256') FROM captures "
            f"WHERE id_number IN ({marks})", people):
        images.update(s for s in (sha, crop) if s)
    out.images = sorted(images - shared)
    return out


def purge(store: Store, the_plan: PurgePlan, operator: str) -> PurgeResult:
    """Carry out ``the_plan``; refused whole when anything blocks it or the seals do not hold."""
    from station.store.seals import sealed_tables

    if the_plan.blocked:
        raise RefusedError("purge.blocked", count=len(the_plan.blocked))
    problems = store.seals.verify()
    if problems:
        raise IntegrityError("purge.unsound", count=len(problems))
    conn = store.conn
    ids = set(the_plan.people)
    key = store.seals.load_key()
    assert key is not None
    conn.execute("PRAGMA secure_delete = ON")
    changed: set[tuple[str, str]] = set()
    with store.transaction():
        records = _records(store, ids)
        masker = Masker(key, ids, _names(store, ids, records), records,
                        _student_numbers(store, ids, records))
        for table in sealed_tables(conn):
            if table in _SKIP_TABLES:
                continue
            changed |= _mask_table(store, table, masker)
        _mask_waiting_rows(store, masker)
        changed |= _rechain_audit(store)
        store.seals.reseal(changed)
        purge_id = store.insert("purges", {
            "until": the_plan.until, "people": the_plan.count, "rows_masked": len(changed),
            "images": the_plan.images, "operator": operator})
        # the keys of the masked rows: a hub's copies of them are purged from these
        # (station hub purge), in this run or a later one
        from station.store.union import LOCAL_TABLES

        conn.executemany("INSERT OR REPLACE INTO purged_rows (tbl, row_id, purge_id) VALUES (?, ?, ?)",
                         [(t, r, purge_id) for t, r in sorted(changed) if t not in LOCAL_TABLES])
        # the folders and files written outside the data folder that held only purged people:
        # marked here (the intent, with the masking), removed once this is committed
        marked = written.mark_for_purge(store, ids, _everyone(store), purge_id)
        # files in the data folder that name people, rewritten before the commit: a power loss
        # after it would leave nobody to recognise in them (masked early is harmless)
        _mask_private_reports(store, masker)
        _mask_logs(store, masker)
        store.audit.append(operator, "purge", the_plan.until,
                           {"people": the_plan.count, "rows_masked": len(changed),
                            "images": len(the_plan.images), "purge_id": purge_id,
                            "files_marked": marked,
                            "hubs_not_reached": written.hub_copies(store)["pushed_to"]})
    removed = remove_purged_images(store)
    outcomes = written.remove_marked(store, operator)
    conn.execute("VACUUM")                        # no old value left in free pages
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return PurgeResult(the_plan.count, len(changed), removed, purge_id,
                       [o.to_json() for o in outcomes])


def _everyone(store: Store) -> set[str]:
    union = " UNION ".join(f"SELECT id_number FROM {t} WHERE id_number IS NOT NULL"
                           for t in _PERSON_SOURCES)
    return {str(r[0]) for r in store.conn.execute(union)}


def _mask_private_reports(store: Store, masker: Masker) -> None:
    """The full batch reports export keeps in the data folder name everyone in and out of a
    batch: they get the same pseudonyms and masks as the records."""
    from station.fsio import atomic_write

    folder = store.data_dir / PRIVATE_REPORTS
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        masked = masker.text(text)
        if masked != text:
            atomic_write(path, masked.encode("utf-8"))


def _mask_logs(store: Store, masker: Masker) -> None:
    """The station's logs mask ID numbers as they are written (``privacy.MaskingFilter``), but a
    name or a student number can reach a line: those of purged people are masked like free text.
    A handler of this process writing to a rewritten log reopens it."""
    import logging

    from station.fsio import atomic_write

    folder = store.data_dir / "logs"
    if not folder.is_dir() or folder.is_symlink():
        return
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        # earlier releases let fontTools log the glyph names of print sheets' names (uni90B5 …)
        kept = "".join(line for line in text.splitlines(keepends=True) if " fontTools." not in line)
        masked = masker.free_text(kept)
        if masked == text:
            continue
        atomic_write(path, masked.encode("utf-8"))
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.FileHandler) and handler.baseFilename == str(path.resolve()):
                handler.close()                      # reopened (appending) at its next line


def _records(store: Store, ids: set[str]) -> set[str]:
    """Row ids of the roster entries and captures of the people in scope: what their
    corrections (and tombstones) may be keyed by instead of the ID number."""
    out: set[str] = set()
    for table in ("roster_entries", "captures"):
        for row_id, idn in store.conn.execute(f"SELECT id, id_number FROM {table}"):
            if idn in ids:
                out.add(row_id)
    return out


def _names(store: Store, ids: set[str], records: set[str]) -> set[str]:
    """Every name the people in scope were known by: rosters, card reads, and the old and new
    values of corrections of their name (a corrected name is as personal as the first one)."""
    names: set[str] = set()
    for table in ("roster_entries", "card_reads"):
        for idn, name in store.conn.execute(f"SELECT id_number, name FROM {table}"):
            if idn in ids and name:
                names.add(name)
    for target, old, new in store.conn.execute(
            "SELECT target_id, old_value, new_value FROM corrections WHERE field = 'name' "
            "AND target_table IN ('roster_entries', 'captures')"):
        if target in ids or target in records:
            names.update(v for v in (old, new) if v)
    for row in _set_aside(store):          # versions a merge set aside, rows waiting for a parent
        if row.get("id_number") in ids and isinstance(row.get("name"), str) and row["name"]:
            names.add(row["name"])
    return names


def _set_aside(store: Store) -> list[dict[str, Any]]:
    """The rows merges keep outside the fact tables (``merge_clashes``, ``sync_pending``), decoded."""
    from station.store.union import decode_row

    out: list[dict[str, Any]] = []
    texts = [r[0] for r in store.conn.execute("SELECT theirs FROM merge_clashes")]
    texts += [r[0] for r in store.conn.execute("SELECT row_json FROM sync_pending")]
    for text in texts:
        try:
            row = decode_row(text)
        except (TypeError, ValueError, AttributeError):
            continue
        if isinstance(row, dict):
            out.append(row)
    return out


def _student_numbers(store: Store, ids: set[str], records: set[str]) -> set[str]:
    """Every student number the people in scope had (roster, corrections of it): masked where
    an operator typed one into free text."""
    out = {str(no) for idn, no in store.conn.execute(
        "SELECT id_number, student_no FROM roster_entries") if idn in ids and no}
    out.update(str(r["student_no"]) for r in _set_aside(store)
               if r.get("id_number") in ids and r.get("student_no"))
    for target, old, new in store.conn.execute(
            "SELECT target_id, old_value, new_value FROM corrections WHERE field = 'student_no'"):
        if target in ids or target in records:
            out.update(v for v in (old, new) if v)
    return out


def _mask_waiting_rows(store: Store, masker: Masker) -> None:
    """Rows a merge keeps waiting for their parent (``sync_pending``) are facts like any other:
    a purged person's are masked the same way before they are ever inserted."""
    from station.store.union import decode_row, encode_row

    conn = store.conn
    for row_id, table, text in conn.execute(
            "SELECT row_id, target_table, row_json FROM sync_pending").fetchall():
        try:
            row = decode_row(text)
        except (TypeError, ValueError):
            continue                       # not a row any merge could release
        if not isinstance(row, dict):
            continue
        masked = encode_row(masker.row(table, row))
        if masked != encode_row(row):
            conn.execute("UPDATE sync_pending SET row_json = ? WHERE row_id = ? AND target_table = ?",
                         (masked, row_id, table))


def _mask_table(store: Store, table: str, masker: Masker) -> set[tuple[str, str]]:
    conn = store.conn
    changed: set[tuple[str, str]] = set()
    for r in conn.execute(f'SELECT * FROM "{table}"').fetchall():
        before = dict(r)
        after = masker.row(table, before)
        diff = {k: v for k, v in after.items() if v != before[k]}
        if diff:
            sets = ", ".join(f'"{k}" = ?' for k in diff)
            conn.execute(f'UPDATE "{table}" SET {sets} WHERE id = ?', (*diff.values(), r["id"]))
            changed.add((table, r["id"]))
    return changed


def _rechain_audit(store: Store) -> set[tuple[str, str]]:
    """Recompute the plain audit hash chain over the masked rows (the keyed seals protect it)."""
    from station.store.audit import GENESIS, row_hash

    conn = store.conn
    changed: set[tuple[str, str]] = set()
    for (station,) in conn.execute("SELECT DISTINCT station_id FROM audit").fetchall():
        prev = GENESIS
        for r in conn.execute("SELECT * FROM audit WHERE station_id = ? ORDER BY seq",
                              (station,)).fetchall():
            row = dict(r)
            digest = row_hash(prev, row)
            if (row["prev_hash"], row["hash"]) != (prev, digest):
                conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?",
                             (prev, digest, row["id"]))
                changed.add(("audit", row["id"]))
            prev = digest
        if station == store.station_id:
            store.set_meta("audit_head", prev)
    return changed


def purged_images(store: Store) -> set[str]:
    """Every photo a purge removed (fsck expects these files to be gone)."""
    out: set[str] = set()
    try:
        rows = store.conn.execute("SELECT images FROM purges").fetchall()
    except Exception:  # a store from before purges
        return out
    for (images,) in rows:
        try:
            out.update(json.loads(images or "[]"))
        except ValueError:
            continue
    return out


def remove_purged_images(store: Store) -> int:
    """Delete the files of purged photos still on disk (a purge killed before it got there)."""
    removed = 0
    for sha in purged_images(store):
        path = store.images.path(sha)
        if path.exists():
            path.unlink()
            removed += 1
    return removed


def purged_rows(store: Store, batch: int = 500) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The rows purges masked, as this store holds them now (masked), table by table in batches
    of ``batch``: what a hub's copies of them become (``station.hub.purge``)."""
    from station.store.union import ident

    conn = store.conn
    tables = [str(r[0]) for r in conn.execute("SELECT DISTINCT tbl FROM purged_rows ORDER BY tbl")]
    for table in tables:
        ids = [str(r[0]) for r in conn.execute(
            "SELECT row_id FROM purged_rows WHERE tbl = ? ORDER BY row_id", (table,))]
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            marks = ", ".join("?" for _ in chunk)
            try:
                rows = [dict(r) for r in conn.execute(
                    f"SELECT * FROM {ident(table)} WHERE id IN ({marks})", chunk)]
            except sqlite3.OperationalError:     # a table a later version dropped
                break
            if rows:
                yield table, rows
