"""The SQL of bundles and merges: snapshots, union by key, rows waiting for a parent, the dump.

Everything here works on a connection with a bundle's database attached as schema ``b`` (see
``attached``); the policy — what is trusted, what is refused, what a supervisor must decide —
lives in ``station.sync``. sync.md §5: union by key (``INSERT`` of new ULIDs only), the same key
with other content is kept aside, never overwritten; §7: the canonical dump every merge order must
reach.

A merged row whose parent row (a foreign key: a check report's capture, an export item's export)
has not arrived yet waits in ``sync_pending`` and is inserted when the parent comes, so bundles
can be merged in any order and a store holding only part of the campaign (a station receiving the
master's decisions) never breaks its foreign keys.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MERGE_COLUMNS = ("id", "station_id", "seq", "hlc")
# Never leave the station and are never merged: PIN hashes, whom this station trusts, and its
# own bookkeeping of merges and imports — which files it took in, which versions it set aside.
# Another store's bookkeeping proves nothing here (a station could write clashes in another
# station's name); each master records its own clashes from the signed rows it is given.
# Conflict *decisions* do travel: they are facts of the supervisor who made them.
LOCAL_TABLES = frozenset({"operators", "station_keys", "merge_clashes", "imports"})
# Kept in a bundle's database besides the fact tables (station id and school code only).
KEPT_META = ("station_id", "school_code")
BUNDLE_SCHEMA = "b"


def ident(name: str) -> str:
    """A quoted SQL identifier; names come from sqlite_master, refuse anything unusual."""
    if not name or not name.replace("_", "").isalnum() or not name.isascii():
        raise ValueError(f"bad SQL identifier {name!r}")
    return f'"{name}"'


def _schema(schema: str) -> str:
    if schema not in ("main", BUNDLE_SCHEMA):
        raise ValueError(f"unknown schema {schema!r}")
    return schema


def table_names(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    return [r[0] for r in conn.execute(
        f"SELECT name FROM {_schema(schema)}.sqlite_master WHERE type = 'table' ORDER BY name")]


def table_columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA {_schema(schema)}.table_info({ident(table)})")]


def parents(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[tuple[str, str, str]]:
    """(column, parent table, parent column) of every foreign key of ``table``."""
    return [(r[3], r[2], r[4] or "id") for r in
            conn.execute(f"PRAGMA {_schema(schema)}.foreign_key_list({ident(table)})")]


def fact_tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Tables carrying the merge columns, parents before children (foreign keys), then by name."""
    from station.store.facts import FACT_TABLES

    names = []
    for name in table_names(conn, schema):
        if name.replace("_", "").isalnum() and set(MERGE_COLUMNS) <= set(table_columns(conn, name, schema)):
            names.append(name)
    order = {t: i for i, t in enumerate(FACT_TABLES)}
    names.sort(key=lambda t: (order.get(t, len(order)), t))
    done: list[str] = []
    todo = list(names)
    while todo:                      # a stable topological sort: parents first
        for name in todo:
            needs = {p for _, p, _ in parents(conn, name, schema) if p in names and p != name}
            if needs <= set(done):
                done.append(name)
                todo.remove(name)
                break
        else:                        # a cycle: keep the remaining order
            done.extend(todo)
            break
    return done


def merged_tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Fact tables that travel in bundles and merge."""
    return [t for t in fact_tables(conn, schema) if t not in LOCAL_TABLES]


def iter_rows(conn: sqlite3.Connection, table: str, schema: str = "main") -> Iterator[tuple[Any, ...]]:
    """Every row of ``table`` in key order, columns as ``table_columns`` lists them."""
    yield from conn.execute(f"SELECT * FROM {_schema(schema)}.{ident(table)} ORDER BY id")


def other_station_rows(conn: sqlite3.Connection, table: str, station_id: str,
                       schema: str = "main") -> tuple[int, str | None]:
    """How many rows of ``table`` carry another station id, and one such id (for the message)."""
    row = conn.execute(
        f"SELECT COUNT(*), MIN(station_id) FROM {_schema(schema)}.{ident(table)} "
        "WHERE station_id IS NOT ?", (station_id,)).fetchone()
    return int(row[0]), row[1]


def image_references(conn: sqlite3.Connection, schema: str = "main") -> set[str]:
    """SHA-256 of every image the facts refer to: any ``*image_sha256`` column, and export crops."""
    s = _schema(schema)
    shas: set[str] = set()
    for table in merged_tables(conn, schema):
        for col in table_columns(conn, table, schema):
            if col.endswith("image_sha256"):
                shas.update(v for (v,) in conn.execute(f"SELECT {ident(col)} FROM {s}.{ident(table)}")
                            if isinstance(v, str))
    if "captures" in table_names(conn, schema):
        for (camera,) in conn.execute(f"SELECT camera FROM {s}.captures"):
            crop = _crop_sha(camera)
            if crop is not None:
                shas.add(crop)
    return shas


def row_image_references(table: str, row: dict[str, Any]) -> set[str]:
    """The images one row refers to, by the same rule as ``image_references`` (the hub's push
    lists the images of the rows it sends)."""
    shas = {v for c, v in row.items() if c.endswith("image_sha256") and isinstance(v, str)}
    if table == "captures":
        crop = _crop_sha(row.get("camera"))
        if crop is not None:
            shas.add(crop)
    return shas


def _crop_sha(camera: Any) -> str | None:
    try:
        crop = json.loads(camera).get("crop_sha256") if isinstance(camera, str) else None
    except (ValueError, AttributeError):
        crop = None
    return crop if isinstance(crop, str) else None


def max_hlc(conn: sqlite3.Connection, tables: Sequence[str], schema: str = "main") -> str:
    s = _schema(schema)
    return max((conn.execute(f"SELECT MAX(hlc) FROM {s}.{ident(t)}").fetchone()[0] or ""
                for t in tables), default="")


def schema_version(conn: sqlite3.Connection, schema: str = "main") -> int:
    return int(conn.execute(f"PRAGMA {_schema(schema)}.user_version").fetchone()[0])


_OBJECTS: dict[int, frozenset[tuple[str, str, str]]] = {}


def _own_objects(version: int) -> frozenset[tuple[str, str, str]]:
    """(type, name, SQL) of every view, trigger and index our migrations create up to
    ``version`` (made once per version and process, in memory)."""
    found = _OBJECTS.get(version)
    if found is None:
        from station.store.migrations import migrate

        empty = sqlite3.connect(":memory:", isolation_level=None)
        try:
            migrate(empty, version)
            found = _OBJECTS[version] = frozenset(
                (str(t), str(n), str(q)) for t, n, q in empty.execute(
                    "SELECT type, name, sql FROM sqlite_master "
                    "WHERE type IN ('view', 'trigger', 'index') AND sql IS NOT NULL"))
        finally:
            empty.close()
    return found


def unexpected_objects(conn: sqlite3.Connection, schema: str = "main") -> list[tuple[str, str]]:
    """(type, name) of every view, trigger or index of a bundle's database that is not one of our
    own schema at its version, word for word: a trigger would run when the file is migrated or
    merged, a view could stand in for what a reader expects to be a table."""
    own = _own_objects(min(schema_version(conn, schema), _latest()))
    return sorted((str(t), str(n)) for t, n, q in conn.execute(
        f"SELECT type, name, sql FROM {_schema(schema)}.sqlite_master "
        "WHERE type IN ('view', 'trigger', 'index') AND sql IS NOT NULL")
        if (str(t), str(n), str(q)) not in own)


def _latest() -> int:
    from station.store.migrations import LATEST

    return LATEST


# -- bundle snapshots --------------------------------------------------------------------------
def snapshot_into(conn: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of the whole store (``VACUUM INTO`` reads one snapshot, writers go on)."""
    conn.execute("VACUUM INTO ?", (str(target),))


def open_private(path: Path) -> sqlite3.Connection:
    """A connection to a scratch copy: temporary tables in memory, never in the system temp dir."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA trusted_schema = OFF")
    return conn


def prune_to_station(path: Path, station_id: str) -> None:
    """Keep only what ``station_id`` itself recorded: its own fact rows, no operators, no keys.

    Rows merged from other stations never travel onward (each station's data comes signed by
    that station), and free pages still hold the deleted rows, so compact with ``compact_into``.
    """
    conn = open_private(path)
    try:
        conn.execute("BEGIN")
        facts = set(merged_tables(conn))
        for name in table_names(conn):
            if name == "meta":
                conn.execute(f"DELETE FROM meta WHERE key NOT IN ({', '.join('?' * len(KEPT_META))})",
                             KEPT_META)
            elif name in facts:
                conn.execute(f"DELETE FROM {ident(name)} WHERE station_id IS NOT ?", (station_id,))
            elif not name.startswith("sqlite_"):
                conn.execute(f"DROP TABLE {ident(name)}")
        conn.execute("COMMIT")
    finally:
        conn.close()


def compact_into(source: Path, target: Path) -> None:
    conn = open_private(source)
    try:
        conn.execute("VACUUM INTO ?", (str(target),))
    finally:
        conn.close()


def row_counts(conn: sqlite3.Connection, tables: Sequence[str], schema: str = "main") -> dict[str, int]:
    s = _schema(schema)
    return {t: int(conn.execute(f"SELECT COUNT(*) FROM {s}.{ident(t)}").fetchone()[0]) for t in tables}


class SqliteRows:
    """The tables of a bundle's database file, read-only, as ``station.sync.verify`` reads rows.

    Opened only after the file's hash was checked against a manifest signed by an enrolled
    station; still read with ``trusted_schema`` off and temporary data in memory.
    """

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True,
                                    isolation_level=None)
        self.conn.execute("PRAGMA temp_store = MEMORY")
        self.conn.execute("PRAGMA trusted_schema = OFF")

    def close(self) -> None:
        self.conn.close()

    def quick_check(self) -> str:
        rows = self.conn.execute("PRAGMA quick_check").fetchall()
        return "ok" if [r[0] for r in rows] == ["ok"] else str(rows[0][0])[:200]

    def schema_version(self) -> int:
        return schema_version(self.conn)

    def unexpected_objects(self) -> list[tuple[str, str]]:
        return unexpected_objects(self.conn)

    def tables(self) -> list[str]:
        return [t for t in table_names(self.conn) if t != "meta" and not t.startswith("sqlite_")]

    def columns(self, table: str) -> list[str]:
        return table_columns(self.conn, table)

    def rows(self, table: str) -> Iterator[tuple[Any, ...]]:
        return iter_rows(self.conn, table)


# -- merging -----------------------------------------------------------------------------------
@contextmanager
def attached(conn: sqlite3.Connection, path: Path) -> Iterator[None]:
    """The bundle's database attached read-only as schema ``b`` for the block."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn.execute("ATTACH DATABASE ? AS b", (uri,))
    try:
        yield
    finally:
        conn.execute("DETACH DATABASE b")


@dataclass
class TableUnion:
    """What the union of one table did (or would do)."""

    table: str
    added: int = 0
    unchanged: int = 0
    pending: int = 0
    ahead: int = 0                # new rows held back: stamped beyond the allowed clock lead
    clashes: list[dict[str, Any]] = field(default_factory=list)   # bundle rows, key already used
    added_ids: list[str] = field(default_factory=list)   # to be sealed by the master (seals.py)


def shared_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    ours = set(table_columns(conn, table))
    return [c for c in table_columns(conn, table, BUNDLE_SCHEMA) if c in ours]


def sequence_clash(conn: sqlite3.Connection, table: str) -> tuple[int, str] | None:
    """A bundle row with a new key but a (station, seq) already used by another row, if any.

    That happens only when a station's store was re-created under the same name (its sequence
    started again) or altered; inserting would drop rows, so the caller refuses the bundle.
    """
    t = ident(table)
    row = conn.execute(
        f"SELECT r.seq, r.id FROM b.{t} r JOIN main.{t} m ON m.station_id = r.station_id "
        "AND m.seq = r.seq WHERE m.id != r.id LIMIT 1").fetchone()
    if row is None:
        row = conn.execute(
            f"SELECT r.seq, r.id FROM b.{t} r JOIN main.sync_pending p ON p.target_table = ? "
            "AND p.origin_station = r.station_id AND p.seq = r.seq WHERE p.row_id != r.id LIMIT 1",
            (table,)).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _parent_sql(conn: sqlite3.Connection, table: str, alias: str) -> str:
    """SQL condition: every parent row of ``alias`` (a row of ``table``) is in the main store."""
    conds = [f"({alias}.{ident(col)} IS NULL OR EXISTS (SELECT 1 FROM main.{ident(ptable)} p "
             f"WHERE p.{ident(pcol)} = {alias}.{ident(col)}))"
             for col, ptable, pcol in parents(conn, table)]
    return " AND ".join(conds) or "1"


def version_order(data: dict[str, Any]) -> tuple[str, str, str]:
    """The deterministic order of two versions of one key (sync.md §6: latest clock, then station
    id, then the content itself): the greatest version is the one the table holds, whatever order
    the bundles came in, so every merge order reaches the same dump."""
    return (str(data.get("hlc") or ""), str(data.get("station_id") or ""), encode_row(data))


def clock_limit(not_after_ms: int | None) -> str | None:
    """The stamp every admitted row must sort below (``hlc`` text sorts by wall time first):
    rows stamped after ``not_after_ms`` are held back, they would outrank every later fact."""
    return None if not_after_ms is None else f"{max(0, not_after_ms) + 1:013d}"


def _ready_sql(conn: sqlite3.Connection, table: str, alias: str, limit: str | None) -> str:
    """SQL condition: ``alias``'s parents are all here and its stamp is not beyond ``limit``."""
    cond = _parent_sql(conn, table, alias)
    if limit is not None:
        if not limit.isdigit():
            raise ValueError(f"bad clock limit {limit!r}")
        cond = f"({cond}) AND {alias}.hlc < '{limit}'"
    return cond


def _row_ready(conn: sqlite3.Connection, table: str, data: dict[str, Any], limit: str | None) -> bool:
    """Whether every parent row of ``data`` (a row of ``table``) is in the main store and its
    stamp is within the allowed clock lead."""
    cols = list(data)
    values = ", ".join(f"? AS {ident(c)}" for c in cols)
    ready = _ready_sql(conn, table, "r", limit)
    return conn.execute(f"SELECT 1 FROM (SELECT {values}) r WHERE {ready}",
                        [data[c] for c in cols]).fetchone() is not None


def _hold(conn: sqlite3.Connection, table: str, data: dict[str, Any], bundle_sha256: str,
          out: TableUnion) -> bool:
    """Put ``data`` in the waiting slot of its key; the smaller of it and a different version
    already waiting there is a clash. True when ``data`` now waits there (new)."""
    text = encode_row(data)
    held = conn.execute("SELECT row_json FROM sync_pending WHERE target_table = ? AND row_id = ?",
                        (table, data["id"])).fetchone()
    if held is None:
        conn.execute("INSERT INTO sync_pending (row_id, target_table, origin_station, seq, row_json, "
                     "bundle_sha256) VALUES (?, ?, ?, ?, ?, ?)",
                     (data["id"], table, data["station_id"], data["seq"], text, bundle_sha256))
        return True
    if held[0] == text:
        out.unchanged += 1
        return False
    waiting = decode_row(held[0])
    if version_order(data) > version_order(waiting):
        conn.execute("UPDATE sync_pending SET origin_station = ?, seq = ?, row_json = ?, bundle_sha256 = ? "
                     "WHERE target_table = ? AND row_id = ?",
                     (data["station_id"], data["seq"], text, bundle_sha256, table, data["id"]))
        out.clashes.append(waiting)
    else:
        out.clashes.append(data)
    return False


def union_table(conn: sqlite3.Connection, table: str, bundle_sha256: str,
                not_after_ms: int | None = None) -> TableUnion:
    """Insert the bundle's new rows of ``table``; set aside clashes and rows missing a parent.

    A row whose key is already here with other content (from any station) is never ignored: the
    greater version by ``version_order`` is the one the table ends up holding (it waits in
    ``sync_pending`` and replaces the smaller one in ``release_pending``), the other is returned
    in ``clashes`` to be recorded. So the winner never depends on which bundle came first.

    Rows stamped after ``not_after_ms`` (a station clock far ahead) wait in ``sync_pending`` like
    rows missing a parent (``ahead``): merged, they would outrank every later fact, a supervisor's
    decision included. They go in once the clock has caught up with them.
    """
    limit = clock_limit(not_after_ms)
    t = ident(table)
    cols = shared_columns(conn, table)
    out = TableUnion(table)
    col_list = ", ".join(ident(c) for c in cols)
    differs = " OR ".join(f"NOT (m.{ident(c)} IS r.{ident(c)})" for c in cols) or "0"
    pick = ", ".join(f"r.{ident(c)} AS {ident('r_' + c)}, m.{ident(c)} AS {ident('m_' + c)}" for c in cols)
    for row in conn.execute(f"SELECT {pick} FROM b.{t} r JOIN main.{t} m ON m.id = r.id "
                            f"WHERE {differs}").fetchall():
        theirs = {c: row["r_" + c] for c in cols}
        ours = {c: row["m_" + c] for c in cols}
        if version_order(theirs) > version_order(ours):
            _hold(conn, table, theirs, bundle_sha256, out)   # replaces ours in release_pending
        else:
            out.clashes.append(theirs)
    same = conn.execute(f"SELECT COUNT(*) FROM b.{t} r JOIN main.{t} m ON m.id = r.id").fetchone()[0]
    differing = conn.execute(f"SELECT COUNT(*) FROM b.{t} r JOIN main.{t} m ON m.id = r.id "
                             f"WHERE {differs}").fetchone()[0]
    out.unchanged = int(same) - int(differing)
    fresh = f"r.id NOT IN (SELECT id FROM main.{t})"
    ready = _ready_sql(conn, table, "r", limit)
    out.added_ids = [str(r[0]) for r in conn.execute(
        f"SELECT r.id FROM b.{t} r WHERE {fresh} AND {ready} ORDER BY r.station_id, r.seq")]
    cur = conn.execute(f"INSERT INTO main.{t} ({col_list}) SELECT {', '.join('r.' + ident(c) for c in cols)} "
                       f"FROM b.{t} r WHERE {fresh} AND {ready} ORDER BY r.station_id, r.seq")
    out.added = max(cur.rowcount, 0)
    for row in conn.execute(f"SELECT r.* FROM b.{t} r WHERE {fresh} AND NOT ({ready})").fetchall():
        data = {c: row[c] for c in cols}
        if _hold(conn, table, data, bundle_sha256, out):
            if limit is not None and str(data["hlc"]) >= limit:
                out.ahead += 1
            else:
                out.pending += 1
    return out


@dataclass
class Released:
    """What ``release_pending`` did: rows put in (by table), rows that replaced a smaller version
    of their key (to be re-sealed), and the versions set aside (to be recorded as clashes)."""

    counts: dict[str, int] = field(default_factory=dict)
    inserted: list[tuple[str, str]] = field(default_factory=list)
    replaced: list[tuple[str, str]] = field(default_factory=list)
    clashes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def release_pending(conn: sqlite3.Connection, not_after_ms: int | None = None) -> Released:
    """Settle every waiting row against the store (repeatedly: a parent may wait too).

    A waiting row whose key is free goes in once its parents are here. One whose key is held:
    the same content is dropped as already here; otherwise the smaller version by
    ``version_order`` is set aside as a clash — the held row being replaced (an UPDATE of the
    same key, so its children stay attached) only once the greater version's parents are here.
    No waiting row is ever dropped without a clash; rows stamped after ``not_after_ms`` go on
    waiting (``union_table``)."""
    limit = clock_limit(not_after_ms)
    out = Released()
    order = {t: i for i, t in enumerate(fact_tables(conn))}
    while True:
        progress = False
        waiting = conn.execute("SELECT target_table, row_id, row_json FROM sync_pending "
                               "ORDER BY origin_station, seq").fetchall()
        waiting.sort(key=lambda r: order.get(r[0], len(order)))
        for table, row_id, text in waiting:
            if table not in order:
                continue
            columns = table_columns(conn, table)
            data = decode_row(text)
            data = {c: data[c] for c in columns if c in data}
            held = conn.execute(f"SELECT * FROM main.{ident(table)} WHERE id = ?", (row_id,)).fetchone()
            full = None if held is None else dict(zip(columns, tuple(held), strict=True))
            ours = None if full is None else {c: full[c] for c in data}
            if ours is not None and encode_row(ours) == encode_row(data):
                pass                                          # already here as it is
            elif ours is not None and version_order(data) < version_order(ours):
                out.clashes.append((table, data))
            elif not _row_ready(conn, table, data, limit):
                continue
            elif full is None:
                conn.execute(f"INSERT INTO main.{ident(table)} ({', '.join(ident(c) for c in data)}) "
                             f"VALUES ({', '.join('?' for _ in data)})", list(data.values()))
                out.inserted.append((table, row_id))
                out.counts[table] = out.counts.get(table, 0) + 1
            else:
                sets = ", ".join(f"{ident(c)} = ?" for c in data if c != "id")
                conn.execute(f"UPDATE main.{ident(table)} SET {sets} WHERE id = ?",
                             [v for c, v in data.items() if c != "id"] + [row_id])
                out.replaced.append((table, row_id))
                out.clashes.append((table, full))       # the smaller version, set aside
            conn.execute("DELETE FROM sync_pending WHERE target_table = ? AND row_id = ?", (table, row_id))
            progress = True
        if not progress:
            return out


def pending_by_station(conn: sqlite3.Connection) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in conn.execute(
        "SELECT origin_station, COUNT(*) FROM sync_pending GROUP BY origin_station ORDER BY 1")}


def bundle_imported(conn: sqlite3.Connection, sha256: str, station_id: str | None,
                    kind: str = "bundle") -> bool:
    """Whether this store (not another one whose import log was merged here) merged the file
    (``kind`` "bundle") or the hub push with this manifest hash (``kind`` "hub")."""
    return conn.execute("SELECT 1 FROM imports WHERE kind = ? AND file_sha256 = ? "
                        "AND station_id IS ?", (kind, sha256, station_id)).fetchone() is not None


def clash_recorded(conn: sqlite3.Connection, table: str, row_id: str, theirs: str,
                   station_id: str | None) -> bool:
    """Whether this store (``station_id``) already set this version aside."""
    return conn.execute("SELECT 1 FROM merge_clashes WHERE target_table = ? AND target_id = ? "
                        "AND theirs = ? AND station_id IS ?",
                        (table, row_id, theirs, station_id)).fetchone() is not None


def canonical_dump(conn: sqlite3.Connection, stations: set[str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every merged fact row (optionally only those of ``stations``), by table, in key order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in fact_tables(conn):
        rows = [tuple(r) for r in iter_rows(conn, table)]
        if stations is not None:
            rows = [r for r in rows if r[1] in stations]
        out[table] = rows
    return out


# -- row encoding (shared with the signed row digests of station.sync.digest) --------------------
def encode_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        import base64

        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def encode_row(data: dict[str, Any]) -> str:
    return json.dumps({k: encode_value(v) for k, v in data.items()}, ensure_ascii=False,
                      sort_keys=True, separators=(",", ":"))


def decode_row(text: str) -> dict[str, Any]:
    import base64

    data: dict[str, Any] = json.loads(text)
    return {k: base64.b64decode(v["$b64"]) if isinstance(v, dict) and "$b64" in v else v
            for k, v in data.items()}


def present_ids(conn: sqlite3.Connection, table: str, ids: list[str]) -> list[str]:
    """The ids of ``ids`` now in the master's ``table`` (an INSERT may skip a row it cannot take)."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        found.update(str(r[0]) for r in conn.execute(
            f'SELECT id FROM main.{ident(table)} WHERE id IN ({marks})', chunk))
    return [i for i in ids if i in found]


def student_number_facts(conn: sqlite3.Connection) -> Iterator[tuple[str, str, str, str, str]]:
    """(ID number, clock, table, row id, value) of every fact that sets a student number: roster
    entries, and corrections of the field (keyed by the ID number, a roster entry or a capture).
    ``station.sync.verify`` judges the value each person ends up with."""
    tables = set(table_names(conn))
    if "roster_entries" in tables:
        yield from conn.execute(
            "SELECT id_number, hlc, 'roster_entries', id, student_no FROM roster_entries "
            "WHERE student_no IS NOT NULL AND student_no != ''")
    if "corrections" in tables:
        join = ("LEFT JOIN roster_entries r ON c.target_table = 'roster_entries' AND r.id = c.target_id "
                if "roster_entries" in tables else "")
        join += ("LEFT JOIN captures k ON c.target_table = 'captures' AND k.id = c.target_id "
                 if "captures" in tables else "")
        owner = ", ".join([*(["r.id_number"] if "roster_entries" in tables else []),
                           *(["k.id_number"] if "captures" in tables else []),
                           "CASE WHEN c.target_table = 'roster_entries' THEN c.target_id END"])
        yield from conn.execute(
            f"SELECT COALESCE({owner}, c.target_table || '/' || c.target_id), c.hlc, 'corrections', "
            f"c.id, COALESCE(c.new_value, '') FROM corrections c {join}WHERE c.field = 'student_no'")
