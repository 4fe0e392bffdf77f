"""The SQL behind what a supervisor must decide after merges (sync.md §6), and their decisions.

Each query returns the competing facts ("candidates") of one kind of conflict, grouped by the
thing they are about (a person's ID number, or a record's field). Words, item ids and the effect
of a decision live in ``station.sync.conflicts``; here are only reads of the facts and the
decision rows (``conflict_decisions``, insert-only like every fact).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.store.core import Store


@dataclass(frozen=True)
class Candidate:
    """One side of a conflict: the fact that says it, where and when it was recorded."""

    fact_id: str
    station_id: str
    hlc: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Detected:
    kind: str
    subject: str                    # an ID number, or "table/id/field", or "table/id"
    candidates: tuple[Candidate, ...]
    id_number: str | None = None    # the person it is about, when known


def _group(rows: Iterable[sqlite3.Row], kind: str, subject_of: Any, candidate_of: Any,
           id_number_of: Any = None) -> list[Detected]:
    groups: dict[str, list[Candidate]] = {}
    people: dict[str, str | None] = {}
    for r in rows:
        subject = subject_of(r)
        groups.setdefault(subject, []).append(candidate_of(r))
        people[subject] = id_number_of(r) if id_number_of else None
    return [Detected(kind, s, tuple(c), people[s]) for s, c in groups.items()]


def accepted_at_two_stations(conn: sqlite3.Connection) -> list[Detected]:
    """A person whose current decision is 'accept' for captures made at more than one station."""
    rows = conn.execute(
        "SELECT a.capture_id, a.id_number, a.station_id, a.decided_hlc, a.captured_hlc, "
        "a.image_sha256, a.exported, a.decided_by FROM accepted_captures a WHERE a.id_number IN "
        "(SELECT id_number FROM accepted_captures GROUP BY id_number "
        " HAVING COUNT(DISTINCT station_id) > 1) ORDER BY a.id_number, a.captured_hlc, a.capture_id")
    return _group(rows, "accepted_at_two_stations", lambda r: r["id_number"], lambda r: Candidate(
        r["capture_id"], r["station_id"], r["captured_hlc"],
        {"image_sha256": r["image_sha256"], "exported": bool(r["exported"]),
         "decided_by": r["decided_by"], "decided_hlc": r["decided_hlc"]}),
        lambda r: r["id_number"])


IDENTITY_FIELDS = ("name", "gender", "birth_date")


def same_id_different_identity(conn: sqlite3.Connection) -> list[Detected]:
    """Card reads (or typed identities) of one ID number that disagree on name, gender or birth,
    and rosters of different stations that disagree on them (``roster_disagreements``).

    One candidate per distinct version: its first read, with how many reads and where.
    """
    rows = conn.execute(
        "SELECT id, id_number, station_id, hlc, name, "
        "json_extract(identity, '$.gender') AS gender, json_extract(identity, '$.birth_date') AS birth_date, "
        "json_extract(identity, '$.card_type') AS card_type, json_extract(identity, '$.source') AS source "
        "FROM card_reads WHERE json_valid(identity) AND id_number IN (SELECT id_number FROM card_reads "
        " WHERE json_valid(identity) GROUP BY id_number HAVING COUNT(DISTINCT name || '|' || "
        " COALESCE(json_extract(identity, '$.gender'), '') || '|' || "
        " COALESCE(json_extract(identity, '$.birth_date'), '')) > 1) ORDER BY id_number, hlc, id")
    versions: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
    for r in rows:
        version = tuple(r[f] for f in IDENTITY_FIELDS)
        entry = versions.get((r["id_number"], version))
        if entry is None:
            versions[(r["id_number"], version)] = {
                "first": r, "stations": [r["station_id"]], "reads": 1,
                "typed": r["card_type"] == "manual" or r["source"] == "typed"}
        else:
            entry["reads"] += 1
            if r["station_id"] not in entry["stations"]:
                entry["stations"].append(r["station_id"])
    out: dict[str, list[Candidate]] = {}
    for (idn, version), entry in versions.items():
        first = entry["first"]
        out.setdefault(idn, []).append(Candidate(
            first["id"], first["station_id"], first["hlc"],
            {**dict(zip(IDENTITY_FIELDS, version, strict=True)), "stations": entry["stations"],
             "reads": entry["reads"], "typed": entry["typed"]}))
    for idn, candidates in roster_disagreements(conn).items():
        out.setdefault(idn, []).extend(candidates)
    return [Detected("same_id_different_identity", idn, tuple(c), idn) for idn, c in sorted(out.items())]


def roster_disagreements(conn: sqlite3.Connection) -> dict[str, list[Candidate]]:
    """ID numbers whose rosters at different stations disagree (sync.md §6: the same ID number
    with different names/fields): each station's current entry counts (its latest, not deleted);
    they disagree on the name, or on a gender or birth date both give. One candidate per distinct
    version: its first entry, with the stations whose roster says it (``roster`` set)."""
    rows = conn.execute(
        "SELECT r.id, r.id_number, r.station_id, r.hlc, r.name, r.gender, r.birth_date "
        "FROM roster_entries r WHERE r.hlc = (SELECT MAX(x.hlc) FROM roster_entries x "
        " WHERE x.id_number = r.id_number AND x.station_id = r.station_id) "
        "AND NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.target_table = 'roster_entries' "
        " AND t.target_id = r.id) "
        "AND r.id_number IN (SELECT id_number FROM roster_entries GROUP BY id_number "
        " HAVING COUNT(DISTINCT station_id) > 1) ORDER BY r.id_number, r.hlc, r.id")
    people: dict[str, list[Any]] = {}
    for r in rows:
        people.setdefault(r["id_number"], []).append(r)
    out: dict[str, list[Candidate]] = {}
    for idn, entries in people.items():
        if not any(len({e[f] for e in entries if e[f] is not None}) > 1 for f in IDENTITY_FIELDS):
            continue
        versions: dict[tuple[Any, ...], Candidate] = {}
        for e in entries:
            version = tuple(e[f] for f in IDENTITY_FIELDS)
            found = versions.get(version)
            if found is None:
                versions[version] = Candidate(e["id"], e["station_id"], e["hlc"], {
                    **dict(zip(IDENTITY_FIELDS, version, strict=True)), "stations": [e["station_id"]],
                    "reads": 1, "typed": False, "roster": True})
            elif e["station_id"] not in found.data["stations"]:
                found.data["stations"].append(e["station_id"])
                found.data["reads"] += 1
        out[idn] = list(versions.values())
    return out


def two_corrections(conn: sqlite3.Connection) -> list[Detected]:
    """The same field of the same record corrected to different values at more than one station.

    A person's record is a roster entry id, a capture id, or (identity decisions) the ID number."""
    rows = conn.execute(
        "SELECT c.id, c.station_id, c.hlc, c.target_table, c.target_id, c.field, c.old_value, "
        "c.new_value, c.operator, COALESCE(r.id_number, k.id_number, "
        " CASE WHEN c.target_table = 'roster_entries' THEN c.target_id END) AS id_number "
        "FROM corrections c JOIN (SELECT target_table, target_id, field FROM corrections "
        " GROUP BY target_table, target_id, field HAVING COUNT(DISTINCT station_id) > 1 "
        " AND COUNT(DISTINCT COALESCE(new_value, '')) > 1) g "
        " ON g.target_table = c.target_table AND g.target_id = c.target_id AND g.field = c.field "
        "LEFT JOIN roster_entries r ON c.target_table = 'roster_entries' AND r.id = c.target_id "
        "LEFT JOIN captures k ON c.target_table = 'captures' AND k.id = c.target_id "
        "ORDER BY c.target_table, c.target_id, c.field, c.hlc, c.id")
    return _group(rows, "two_corrections",
                  lambda r: f"{r['target_table']}/{r['target_id']}/{r['field']}",
                  lambda r: Candidate(r["id"], r["station_id"], r["hlc"],
                                      {"table": r["target_table"], "target_id": r["target_id"],
                                       "field": r["field"], "old_value": r["old_value"],
                                       "new_value": r["new_value"], "operator": r["operator"]}),
                  lambda r: r["id_number"])


def code_subject(code: str) -> str:
    """A capture code's conflict subject: named by a digest of the case-folded code (the same at
    every store; the code itself never goes into decisions or the audit)."""
    return "code/" + hashlib.sha256(code.casefold().encode()).hexdigest()[:16]


def code_clashes(conn: sqlite3.Connection) -> list[Detected]:
    """One 图像采集码 (case folded, as the pipeline's Windows side names files) on the photos of
    more than one person, as exports see it (``code_clash``): each person's current accepted
    capture and every capture already exported count, under the ID number it belongs to now
    (``rekey``). Each station checks codes against its own records only, so this shows after a
    merge or a hub pull. One candidate per capture, oldest first."""
    from station.store.rekey import rekeys

    moved = rekeys(conn)
    latest: dict[str, Any] = {}
    exported: list[Any] = []
    for r in conn.execute(
            "SELECT d.capture_id, d.id_number, d.station_id, d.captured_hlc, d.decided_hlc, d.image_sha256, "
            "d.exported, d.decision, c.capture_code FROM capture_decisions d JOIN captures c ON c.id = d.capture_id "
            "WHERE COALESCE(c.capture_code, '') != '' AND (d.decision = 'accept' OR d.exported) "
            "ORDER BY d.decided_hlc, d.capture_id"):
        if r["exported"]:
            exported.append(r)
        if r["decision"] == "accept":
            latest[moved.get(r["id_number"], r["id_number"])] = r   # the newest decision wins
    by_code: dict[str, dict[str, Any]] = {}
    for r in [*exported, *latest.values()]:
        by_code.setdefault(r["capture_code"].casefold(), {})[r["capture_id"]] = r
    out: list[Detected] = []
    for rows in by_code.values():
        people = {moved.get(r["id_number"], r["id_number"]) for r in rows.values()}
        if len(people) < 2:
            continue
        ordered = sorted(rows.values(), key=lambda r: (r["captured_hlc"], r["capture_id"]))
        out.append(Detected("code_clash", code_subject(ordered[0]["capture_code"]), tuple(
            Candidate(r["capture_id"], r["station_id"], r["captured_hlc"], {
                "id_number": moved.get(r["id_number"], r["id_number"]), "capture_code": r["capture_code"],
                "image_sha256": r["image_sha256"], "exported": bool(r["exported"]),
                "accepted": r["decision"] == "accept"}) for r in ordered)))
    return sorted(out, key=lambda d: (d.candidates[0].hlc, d.subject))


def key_clashes(conn: sqlite3.Connection) -> list[Detected]:
    """Every version of a key that clashed here: the one the table holds (the greatest by
    ``union.version_order``: latest clock, then station id) first, then each version set aside
    (``merge_clashes``), greatest first — each with its own station and clock, not the stamp of
    the master that set it aside, so the order and the words are the same at every master.

    Only the clashes this store recorded itself count: rows another store wrote there (a store
    of an older version let them travel) say nothing about the signed rows held here."""
    from station.store.union import ident, version_order

    out: list[Detected] = []
    own = conn.execute("SELECT value FROM meta WHERE key = 'station_id'").fetchone()
    rows = conn.execute("SELECT id, station_id, hlc, target_table, target_id, origin_station, theirs "
                        "FROM merge_clashes WHERE station_id IS ? ORDER BY target_table, target_id, id",
                        (own[0] if own else None,)).fetchall()
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        groups.setdefault((r["target_table"], r["target_id"]), []).append(r)
    for (table, target), clashes in groups.items():
        try:
            ours = conn.execute(f"SELECT * FROM {ident(table)} WHERE id = ?", (target,)).fetchone()
        except (sqlite3.OperationalError, ValueError):          # a table this version does not have
            ours = None
        held = _plain(ours)
        kept = [Candidate(_version_id(target, held), ours["station_id"] if ours else "",
                          ours["hlc"] if ours else "", {"table": table, "row": held, "kept": True})]
        aside: list[Candidate] = []
        for r in clashes:
            try:
                theirs = json.loads(r["theirs"])
            except ValueError:
                theirs = None
            row = theirs if isinstance(theirs, dict) else {}
            aside.append(Candidate(_version_id(target, row), str(row.get("station_id") or r["origin_station"]),
                                   str(row.get("hlc") or ""), {"table": table, "row": row, "kept": False}))
        aside.sort(key=lambda c: version_order(c.data["row"]), reverse=True)
        idn = (dict(ours).get("id_number") if ours is not None else None)
        out.append(Detected("key_clash", f"{table}/{target}", tuple(kept + aside), idn))
    return out


def _version_id(key: str, row: dict[str, Any] | None) -> str:
    """One version of a key, named by its content: the same at every master that holds it, so
    a decision made at one master covers the same versions where it is merged."""
    from station.store.union import encode_row

    digest = hashlib.sha256(encode_row(row or {}).encode()).hexdigest()[:12]
    return f"{key}@{digest}"


def _plain(row: Any) -> dict[str, Any] | None:
    return None if row is None else dict(row)


DETECTORS = (accepted_at_two_stations, same_id_different_identity, two_corrections, code_clashes,
             key_clashes)


def detect(store: Store) -> list[Detected]:
    out: list[Detected] = []
    for detector in DETECTORS:
        out.extend(detector(store.conn))
    return out


# -- names and times the words need --------------------------------------------------------------
def person_names(store: Store, id_numbers: Iterable[str]) -> dict[str, str]:
    """The roster's current name for each ID number, else the latest card read's."""
    wanted = sorted(set(id_numbers))
    out: dict[str, str] = {}
    for idn in wanted:
        row = store.conn.execute("SELECT name FROM roster_current WHERE id_number = ?", (idn,)).fetchone()
        if row is None:
            row = store.conn.execute("SELECT name FROM card_reads WHERE id_number = ? ORDER BY hlc DESC LIMIT 1",
                                     (idn,)).fetchone()
        if row is not None and row[0]:
            out[idn] = str(row[0])
    return out


def capture_exists(store: Store, capture_id: str) -> bool:
    return store.conn.execute("SELECT 1 FROM captures WHERE id = ?", (capture_id,)).fetchone() is not None


def current_acceptance(store: Store, capture_id: str) -> str | None:
    row = store.conn.execute("SELECT decision FROM capture_decisions WHERE capture_id = ?",
                             (capture_id,)).fetchone()
    return row[0] if row else None


# -- decisions -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionRow:
    id: str
    station_id: str
    hlc: str
    item_id: str
    kind: str
    subject: str
    candidates: tuple[str, ...]
    choice: dict[str, Any]
    effects: tuple[str, ...]
    reason: str | None
    operator: str | None


def _decision(r: Any) -> DecisionRow:
    def listed(text: str) -> tuple[str, ...]:
        try:
            value = json.loads(text)
        except ValueError:
            return ()
        return tuple(str(v) for v in value) if isinstance(value, list) else ()

    try:
        choice = json.loads(r["choice"])
    except ValueError:
        choice = {}
    return DecisionRow(r["id"], r["station_id"], r["hlc"], r["item_id"], r["kind"], r["subject"],
                       listed(r["candidates"]), choice if isinstance(choice, dict) else {},
                       listed(r["effects"]), r["reason"], r["operator"])


def latest_decisions(store: Store) -> dict[str, DecisionRow]:
    """The newest decision per item (a later decision of the same item supersedes earlier ones)."""
    out: dict[str, DecisionRow] = {}
    for r in store.conn.execute("SELECT * FROM conflict_decisions ORDER BY hlc, id"):
        out[r["item_id"]] = _decision(r)
    return out


def record_decision(store: Store, item_id: str, kind: str, subject: str, candidates: list[str],
                    choice: dict[str, Any], effects: list[str], reason: str | None,
                    operator: str | None) -> str:
    return store.insert("conflict_decisions", {
        "item_id": item_id, "kind": kind, "subject": subject, "candidates": candidates,
        "choice": choice, "effects": effects, "reason": reason, "operator": operator})
