"""`station purge`: the end of a campaign — personal data and photos go, counts and the trail stay.

Once every accepted photo of the campaign is in a batch the pipeline confirmed (``station export
confirm``), a supervisor purges it: each person's ID number becomes a masked, keyed pseudonym
(``530***********123X#1f2e3d4c``: the same person stays one person in counts, nobody can read it
back), names are masked, card details, addresses, birth dates and file names are dropped, and the
photos are deleted. Every row stays, so counts, payments and the audit trail (who did what, when)
remain; the purge itself is a fact and an audit entry.

The store's integrity survives: the seals are checked first (a purge must not bless an edit made
behind the station's back), the rows it changes are re-sealed with the station's key, and the
plain audit hash chain is recomputed. SQLite's secure_delete and a VACUUM leave no old values in
free pages or the WAL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from station.errors import IntegrityError, RefusedError
from station.privacy import mask_id, mask_name

if TYPE_CHECKING:
    from station.store.core import Store

# Where station.export keeps the full (unmasked) batch reports, inside the data folder.
PRIVATE_REPORTS = "export-reports"
# Tables about the station itself, never about a graduate.
_SKIP_TABLES = frozenset({"operators", "purges", "upload_confirmations", "imports"})
# Fields that only describe the person: dropped when the row (or JSON object) is about them.
_DROPPED = frozenset({"birth_date", "address", "mailing_address", "card_serial",
                      "photo_wlt_sha256", "name_en", "issuer", "nation", "valid_from",
                      "valid_to", "source_name", "capture_code"})
_PERSON_SOURCES = ("roster_entries", "card_reads", "captures", "payments", "acceptances",
                   "session_events", "walk_ins")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


@dataclass
class PurgePlan:
    until: str | None
    people: list[str] = field(default_factory=list)
    blocked: list[tuple[str, str, str]] = field(default_factory=list)  # (id, reason, batch)
    images: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"until": self.until, "people": len(self.people), "images": len(self.images),
                "blocked": [{"id_number": mask_id(i), "reason": r, "batch": b}
                            for i, r, b in self.blocked]}


@dataclass
class PurgeResult:
    people: int
    rows_masked: int
    images_removed: int
    purge_id: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _cutoff(until: dt.date | None) -> str | None:
    if until is None:
        return None
    from station.domain.localtime import station_zone

    local_midnight = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=station_zone())
    return f"{int(local_midnight.timestamp() * 1000):013d}"


def plan(store: Store, until: dt.date | None = None) -> PurgePlan:
    """Who would be purged, and who blocks the purge (accepted photo not in a confirmed batch)."""
    conn = store.conn
    union = " UNION ALL ".join(f"SELECT id_number, hlc FROM {t} WHERE id_number IS NOT NULL"
                               for t in _PERSON_SOURCES)
    cutoff = _cutoff(until)
    people = [r[0] for r in conn.execute(
        f"SELECT id_number, MAX(hlc) AS last FROM ({union}) GROUP BY id_number "
        "HAVING (? IS NULL OR last < ?) ORDER BY id_number", (cutoff, cutoff))
        if "#" not in r[0]]                                     # already purged
    out = PurgePlan(until.isoformat() if until else None, people)
    confirmed = {r[0] for r in conn.execute("SELECT batch_id FROM upload_confirmations")}
    scope = set(people)
    for capture_id, id_number in conn.execute(
            "SELECT capture_id, id_number FROM accepted_captures a WHERE decided_hlc = "
            "(SELECT MAX(decided_hlc) FROM accepted_captures b WHERE b.id_number = a.id_number)"):
        if id_number not in scope:
            continue
        batches = [r[0] for r in conn.execute(
            "SELECT e.batch_id FROM export_index i JOIN exports e ON e.id = i.export_id "
            "WHERE i.capture_id = ?", (capture_id,))]
        if not batches:
            out.blocked.append((id_number, "not_exported", ""))
        elif not any(b in confirmed for b in batches):
            out.blocked.append((id_number, "not_confirmed", batches[-1]))
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


class _Masker:
    """Rewrites values about the people in scope; everything else is returned unchanged."""

    def __init__(self, key: bytes, ids: set[str], names: set[str]) -> None:
        self.key, self.ids, self.names = key, ids, names

    def token(self, id_number: str) -> str:
        tag = hmac.new(self.key, b"purge/" + id_number.encode(), hashlib.sha256).hexdigest()[:8]
        return f"{mask_id(id_number)}#{tag}"

    def text(self, value: str, about: bool | None = None) -> str:
        """``about``: the text belongs to a record of someone in scope (True), of someone else
        (False: a namesake keeps their name), or nobody knows (None: names are masked)."""
        if value in self.ids:
            return self.token(value)
        if value in self.names and about is not False:
            return mask_name(value)
        if value[:1] in "{[":
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict | list):
                return json.dumps(self.walk(parsed, about), ensure_ascii=False, sort_keys=True)
        return _ID_IN_TEXT.sub(lambda m: self.token(m.group(0)) if m.group(0) in self.ids
                               else m.group(0), value)

    def walk(self, obj: Any, about: bool | None = None) -> Any:
        if isinstance(obj, list):
            return [self.walk(v, about) for v in obj]
        if isinstance(obj, dict):
            if isinstance(obj.get("id_number"), str):
                about = obj["id_number"] in self.ids
            return {k: self.walk(v, about) for k, v in obj.items()
                    if not (about and k in _DROPPED)}
        if isinstance(obj, str):
            return self.text(obj, about)
        return obj

    def row(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        about: bool | None = (row["id_number"] in self.ids) if "id_number" in row else None
        out = {}
        for col, value in row.items():
            if col in ("id", "station_id", "seq", "hlc", "hash", "prev_hash"):
                out[col] = value
            elif about and col in _DROPPED:
                out[col] = None
            elif about and col == "identity":
                kept = {k: v for k, v in _loads(value).items() if k in ("card_type", "source")}
                out[col] = json.dumps({**kept, "purged": True}, sort_keys=True)
            elif about and col == "extra":
                out[col] = "{}"
            elif about and col in ("student_no", "content_hash"):
                out[col] = None
            elif isinstance(value, str):
                out[col] = self.text(value, about)
            else:
                out[col] = value
        return out


def _loads(value: Any) -> dict[str, Any]:
    try:
        data = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


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
        names = _names(store, ids)
        masker = _Masker(key, ids, names)
        for table in sealed_tables(conn):
            if table in _SKIP_TABLES:
                continue
            changed |= _mask_table(store, table, masker)
        changed |= _rechain_audit(store)
        store.seals.reseal(changed)
        purge_id = store.insert("purges", {
            "until": the_plan.until, "people": len(ids), "rows_masked": len(changed),
            "images": the_plan.images, "operator": operator})
        store.audit.append(operator, "purge", the_plan.until,
                           {"people": len(ids), "rows_masked": len(changed),
                            "images": len(the_plan.images), "purge_id": purge_id})
    removed = remove_purged_images(store)
    _mask_private_reports(store, masker)
    conn.execute("VACUUM")                        # no old value left in free pages
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return PurgeResult(len(ids), len(changed), removed, purge_id)


def _mask_private_reports(store: Store, masker: _Masker) -> None:
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


def _names(store: Store, ids: set[str]) -> set[str]:
    names: set[str] = set()
    for table in ("roster_entries", "card_reads"):
        for idn, name in store.conn.execute(f"SELECT id_number, name FROM {table}"):
            if idn in ids and name:
                names.add(name)
    return names


def _mask_table(store: Store, table: str, masker: _Masker) -> set[tuple[str, str]]:
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
