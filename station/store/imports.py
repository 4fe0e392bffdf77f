"""Storing a whole imported file (roster, schedule) as insert-only facts, keyed by one column.

A row is compared with the current fact of its key by a content hash: new keys are added,
changed rows become new facts (the old ones stay as history), identical rows are skipped, and
keys no longer in the file can get a tombstone. The caller validates the file first and runs
``diff`` and ``write`` in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.store.core import Store

# The derived view holding the current fact per key, for each imported fact table.
CURRENT_VIEWS = {"roster_entries": "roster_current", "schedule_slots": "schedule_current"}


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(row: Mapping[str, Any], fields: Sequence[str]) -> str:
    """SHA-256 of the row's stored fields, in order (the same bytes every time)."""
    body = _ENCODER.encode([row[f] for f in fields])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class ImportDiff:
    """What storing a file would change: rows to insert, and keys no longer in the file."""

    new_rows: list[dict[str, Any]] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    gone: list[str] = field(default_factory=list)   # ids of current facts whose key is missing


# Imports kept apart by a column of their own (a roster per school): the view of every part's
# current facts, and the column naming the part there.
SCOPED_VIEWS = {"roster_entries": ("roster_all_current", "school")}


def diff(store: Store, table: str, key: str, fields: Sequence[str],
         rows: Sequence[Mapping[str, Any]], scope: tuple[str, str | None] | None = None) -> ImportDiff:
    """Compare ``rows`` (each with every name of ``fields``) with the current facts of ``table``;
    with ``scope`` (column, value: ``("school_code", "10674")``), with that part's current facts
    only, and the new rows carry that value (it is not part of the content hash)."""
    if scope is None:
        current = {r[0]: (r[1], r[2]) for r in store.conn.execute(
            f"SELECT {key}, id, content_hash FROM {CURRENT_VIEWS[table]}")}  # names from the code
    else:
        view, part = SCOPED_VIEWS[table]
        current = {r[0]: (r[1], r[2]) for r in store.conn.execute(
            f"SELECT {key}, id, content_hash FROM {view} WHERE {part} IS ?", (scope[1],))}
    out = ImportDiff()
    for row in rows:
        stored = {f: row[f] for f in fields}
        stored["content_hash"] = content_hash(stored, fields)
        if scope is not None:
            stored[scope[0]] = scope[1]
        old = current.get(row[key])
        if old is None:
            out.added += 1
        elif old[1] != stored["content_hash"]:
            out.updated += 1
        else:
            out.unchanged += 1
            continue
        out.new_rows.append(stored)
    keys = {row[key] for row in rows}
    out.gone = [old_id for k, (old_id, _hash) in current.items() if k not in keys]
    return out


def write(store: Store, table: str, changes: ImportDiff, *, kind: str, file_name: str,
          file_sha256: str, rows: int, operator: str | None,
          tombstone_gone: bool = False) -> str:
    """Record the import and insert its new facts (and tombstones); returns the import's id."""
    import_id = store.insert("imports", {
        "kind": kind, "file_name": file_name, "file_sha256": file_sha256, "rows": rows,
        "added": changes.added, "updated": changes.updated, "unchanged": changes.unchanged,
        "operator": operator})
    for row in changes.new_rows:
        row["import_id"] = import_id
    store.insert_many(table, changes.new_rows)
    if tombstone_gone:
        store.insert_many("tombstones", [{"target_table": table, "target_id": g,
                                          "reason": f"{kind} import {import_id}",
                                          "operator": operator} for g in changes.gone])
    return import_id
