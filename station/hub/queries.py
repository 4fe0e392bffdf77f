"""Every statement the station runs against the hub (PostgreSQL, psycopg 3); the DDL is in ``schema``.

Functions take an open connection and do one thing; transactions are the caller's (``push`` and
``pull`` decide what must commit together). Identifiers that come from data (role names, table
names) always go through ``psycopg.sql.Identifier``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from station.hub import schema

_LOCK = 0x43535F4855425F31            # pg_advisory_xact_lock key of migrations ("CS_HUB_1")


# -- schema ------------------------------------------------------------------------------------
def schema_version(conn: psycopg.Connection[Any]) -> int:
    """The hub's schema version (0: no hub schema in this database)."""
    row = conn.execute("SELECT to_regclass('hub.migrations') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    got = conn.execute("SELECT coalesce(max(version), 0) FROM hub.migrations").fetchone()
    return int(got[0]) if got else 0


def migrate(conn: psycopg.Connection[Any]) -> list[int]:
    """Bring the schema to ``schema.LATEST`` in one transaction (serialized by an advisory lock);
    the versions applied. The caller checked that the hub is not newer than this software."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute(schema.BOOTSTRAP)
        current = schema_version(conn)
        for step in schema.MIGRATIONS:
            if step.version > current:
                conn.execute(step.sql)
                conn.execute("INSERT INTO hub.migrations (version) VALUES (%s)", (step.version,))
                applied.append(step.version)
    return applied


def database_name(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_database()").fetchone()
    return str(row[0]) if row else ""


def current_role(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT session_user").fetchone()
    return str(row[0]) if row else ""


def is_hub_owner(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT pg_has_role(session_user, nspowner, 'USAGE') FROM pg_namespace "
                       "WHERE nspname = 'hub'").fetchone()
    return bool(row and row[0])


def caller_station(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("SELECT station_id FROM hub.stations WHERE role_name = session_user").fetchone()
    return str(row[0]) if row else None


# -- roles ---------------------------------------------------------------------------------------
def group_role(dbname: str) -> str:
    """The role every station role of this hub database is a member of."""
    return _role_name(dbname, "stations")


def station_role(dbname: str, station_id: str) -> str:
    """The login role of one station: ``<database>.<station>`` (roles are per server, databases
    are not, so the database name keeps two hubs on one server apart)."""
    return _role_name(dbname, station_id)


def _role_name(dbname: str, what: str) -> str:
    name = f"{dbname}.{what}"
    if len(name.encode()) <= 63:
        return name
    short = hashlib.sha256(what.encode()).hexdigest()[:16]
    return f"{dbname.encode()[:40].decode(errors='ignore')}.{short}"


def role_exists(conn: psycopg.Connection[Any], role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def ensure_roles(conn: psycopg.Connection[Any], dbname: str) -> None:
    """The stations' group role and its privileges: connect, read everything, insert facts,
    push tables and image chunks (row-level policies say whose), run the two commit functions.
    No UPDATE, DELETE or TRUNCATE on anything."""
    group = sql.Identifier(group_role(dbname))
    if not role_exists(conn, group_role(dbname)):
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(group))
    db = sql.Identifier(dbname)
    for statement in (
        "REVOKE ALL ON DATABASE {db} FROM PUBLIC",
        "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {group}",
        "REVOKE ALL ON SCHEMA hub FROM PUBLIC",
        "GRANT USAGE ON SCHEMA hub TO {group}",
        "REVOKE ALL ON ALL TABLES IN SCHEMA hub FROM PUBLIC",
        "REVOKE ALL ON ALL TABLES IN SCHEMA hub FROM {group}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA hub TO {group}",
        "GRANT INSERT ON hub.facts, hub.push_tables, hub.image_chunks TO {group}",
        "REVOKE ALL ON ALL FUNCTIONS IN SCHEMA hub FROM PUBLIC",
        "GRANT EXECUTE ON FUNCTION hub.current_station(), hub.commit_push(uuid, bytea, bytea), "
        "hub.commit_image(text, bigint), hub.put_image(text, bytea), "
        "hub.record_folder_images(text[], bigint[]), hub.report_image(text, text) TO {group}",
    ):
        conn.execute(sql.SQL(statement).format(db=db, group=group))


def ensure_station_role(conn: psycopg.Connection[Any], dbname: str, station_id: str) -> tuple[str, bool]:
    """The station's login role (created without a password: the server's administrator sets one
    or maps a client certificate to it); (name, created)."""
    role = station_role(dbname, station_id)
    created = False
    if not role_exists(conn, role):
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        created = True
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group_role(dbname)),
                                                  sql.Identifier(role)))
    return role, created


# -- enrolled stations ---------------------------------------------------------------------------
@dataclass(frozen=True)
class HubStation:
    station_id: str
    fingerprint: str
    role_name: str
    enrolled_by: str

    def to_json(self) -> dict[str, Any]:
        return {"station_id": self.station_id, "fingerprint": self.fingerprint,
                "role": self.role_name, "enrolled_by": self.enrolled_by}


def enrolled_stations(conn: psycopg.Connection[Any]) -> list[HubStation]:
    return [HubStation(*r) for r in conn.execute(
        "SELECT station_id, fingerprint, role_name, enrolled_by FROM hub.stations ORDER BY station_id")]


def hub_station(conn: psycopg.Connection[Any], station_id: str) -> HubStation | None:
    row = conn.execute("SELECT station_id, fingerprint, role_name, enrolled_by FROM hub.stations "
                       "WHERE station_id = %s", (station_id,)).fetchone()
    return HubStation(*row) if row else None


def station_by_fingerprint(conn: psycopg.Connection[Any], fingerprint: str) -> HubStation | None:
    row = conn.execute("SELECT station_id, fingerprint, role_name, enrolled_by FROM hub.stations "
                       "WHERE fingerprint = %s", (fingerprint,)).fetchone()
    return HubStation(*row) if row else None


def enrol(conn: psycopg.Connection[Any], station_id: str, fingerprint: str, public_raw: bytes,
          public_pem: str, role: str, enrolled_by: str) -> None:
    conn.execute("INSERT INTO hub.stations (station_id, fingerprint, public_key, public_pem, "
                 "role_name, enrolled_by) VALUES (%s, %s, %s, %s, %s, %s)",
                 (station_id, fingerprint, public_raw, public_pem, role, enrolled_by))


# -- pushing ---------------------------------------------------------------------------------------
def high_water(conn: psycopg.Connection[Any], station_id: str) -> dict[str, tuple[int, str]]:
    """Per table, the highest sequence number the hub holds for this station and that row's key."""
    return {str(t): (int(s), str(i)) for t, s, i in conn.execute(
        "SELECT DISTINCT ON (table_name) table_name, seq, id FROM hub.facts WHERE station_id = %s "
        "ORDER BY table_name, seq DESC", (station_id,))}


def held_keys(conn: psycopg.Connection[Any], station_id: str, table: str,
              ids: Sequence[str]) -> dict[str, int]:
    """Those of ``ids`` the hub already holds for this station in ``table``, with their number."""
    if not ids:
        return {}
    return {str(i): int(s) for i, s in conn.execute(
        "SELECT id, seq FROM hub.facts WHERE station_id = %s AND table_name = %s AND id = ANY(%s)",
        (station_id, table, list(ids)))}


def missing_images(conn: psycopg.Connection[Any], shas: Sequence[str]) -> list[str]:
    """Those of ``shas`` the hub does not hold, in the given order."""
    if not shas:
        return []
    have = {str(r[0]) for r in conn.execute(
        "SELECT sha256 FROM hub.images WHERE sha256 = ANY(%s)", (list(shas),))}
    return [s for s in shas if s not in have]


def put_image(conn: psycopg.Connection[Any], sha: str, data: bytes) -> None:
    """Send one whole image (at most ``schema.WHOLE_IMAGE`` bytes) in one statement; the hub
    hashes it as it arrives and stores it once (``hub.put_image``). Inside the caller's push
    transaction, in a pipeline; a refusal is a ``psycopg.Error`` with the hub's SQLSTATE."""
    conn.execute("SELECT hub.put_image(%s, %b)", (sha, data))


def store_image(conn: psycopg.Connection[Any], sha: str, size: int, chunks: Iterable[bytes]) -> None:
    """Send one large image's chunks and have the hub hash and record it (inside the caller's push
    transaction; run it in a pipeline, ``conn.pipeline()``, so chunks go out without waiting for
    each answer). A refusal (wrong hash, size) is a ``psycopg.Error`` with the hub's SQLSTATE and
    rolls the push back."""
    for n, block in enumerate(chunks):            # (COPY is not allowed under row-level security)
        conn.execute("INSERT INTO hub.image_chunks (sha256, n, data) VALUES (%s, %s, %s)",
                     (sha, n, block))
    conn.execute("SELECT hub.commit_image(%s, %s)", (sha, size))


def insert_push_rows(conn: psycopg.Connection[Any], push_id: uuid.UUID, table: str,
                     columns: Sequence[str], lines: Iterable[str], batch_size: int = 2000) -> None:
    """One table's rows of a push (inside the push's transaction), a few thousand per statement
    (COPY is not allowed under row-level security)."""
    conn.execute("INSERT INTO hub.push_tables (push_id, table_name, columns) VALUES (%s, %s, %s)",
                 (push_id, table, list(columns)))
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= batch_size:
            _insert_lines(conn, push_id, table, batch)
            batch = []
    if batch:
        _insert_lines(conn, push_id, table, batch)


def _insert_lines(conn: psycopg.Connection[Any], push_id: uuid.UUID, table: str,
                  lines: list[str]) -> None:
    """The lines go as one text, split by the server: a line is canonical JSON, which never holds
    a raw newline (the digest separates lines by newlines too); a text[] parameter would cost an
    array dumper's Python work per line."""
    conn.execute("INSERT INTO hub.facts (table_name, push_id, line) "
                 "SELECT %s, %s, unnest(string_to_array(%s::text, E'\\n'))",
                 (table, push_id, "\n".join(lines)))


def commit_push(conn: psycopg.Connection[Any], push_id: uuid.UUID, manifest: bytes,
                signature: bytes) -> int:
    """Ask the hub to verify and record the push; its number for this station."""
    row = conn.execute("SELECT hub.commit_push(%s, %s, %s)", (push_id, manifest, signature)).fetchone()
    return int(row[0]) if row else 0


# -- the image folder (a hub that keeps its images in a folder: ``station.hub.folder``) -------------
def image_folder(conn: psycopg.Connection[Any]) -> uuid.UUID | None:
    """The id of the hub's image folder, None when its images are in the database."""
    row = conn.execute("SELECT folder_id FROM hub.image_folder").fetchone()
    return uuid.UUID(str(row[0])) if row else None


def set_image_folder(conn: psycopg.Connection[Any], folder_id: uuid.UUID) -> None:
    """Name the hub's image folder (the hub's owner, once)."""
    conn.execute("INSERT INTO hub.image_folder (folder_id) VALUES (%s)", (folder_id,))


def record_folder_images(conn: psycopg.Connection[Any], images: Sequence[tuple[str, int]]) -> int:
    """Record images written and hashed into the folder (inside the push's transaction)."""
    if not images:
        return 0
    row = conn.execute("SELECT hub.record_folder_images(%s, %s)",
                       ([sha for sha, _ in images], [size for _, size in images])).fetchone()
    return int(row[0]) if row else 0


def image_places(conn: psycopg.Connection[Any], shas: Sequence[str]) -> dict[str, str]:
    """Where the hub keeps each of ``shas`` it holds (``schema.IN_DATABASE`` or ``IN_FOLDER``)."""
    if not shas:
        return {}
    return {str(s): str(p) for s, p in conn.execute(
        "SELECT sha256, place FROM hub.images WHERE sha256 = ANY(%s)", (list(shas),))}


def image_reports(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Folder images a puller found damaged or missing → the problem."""
    return {str(s): str(p) for s, p in conn.execute(
        "SELECT sha256, problem FROM hub.image_reports ORDER BY sha256")}


def own_image_reports(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """The reports of folder images this role stored (the only ones it may clear)."""
    return {str(s): str(p) for s, p in conn.execute(
        "SELECT r.sha256, r.problem FROM hub.image_reports r JOIN hub.images i USING (sha256) "
        "WHERE i.stored_by = session_user ORDER BY r.sha256")}


def report_image(conn: psycopg.Connection[Any], sha: str, problem: str | None) -> None:
    """Report a folder image as ``damaged``/``missing``, or (None) as repaired."""
    conn.execute("SELECT hub.report_image(%s, %s)", (sha, problem))


# -- pulling ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PushInfo:
    push_id: uuid.UUID
    station_id: str
    push_seq: int
    manifest_sha256: str
    schema_version: int
    row_count: int
    school_code: str | None


def pushes(conn: psycopg.Connection[Any], skip_station: str | None = None) -> list[PushInfo]:
    """Every push at the hub (except ``skip_station``'s), by station and number."""
    return [PushInfo(*r) for r in conn.execute(
        "SELECT push_id, station_id, push_seq, manifest_sha256, schema_version, row_count, "
        "school_code FROM hub.pushes WHERE station_id IS DISTINCT FROM %s "
        "ORDER BY station_id, push_seq", (skip_station,))]


def push_body(conn: psycopg.Connection[Any], push_id: uuid.UUID) -> tuple[bytes, bytes]:
    row = conn.execute("SELECT manifest, signature FROM hub.pushes WHERE push_id = %s",
                       (push_id,)).fetchone()
    if row is None:
        raise LookupError(str(push_id))
    return bytes(row[0]), bytes(row[1])


def push_tables(conn: psycopg.Connection[Any], push_id: uuid.UUID) -> dict[str, list[str]]:
    """Tables of a push (those with rows, and those its rows name) → their columns."""
    out = {str(t): list(c) for t, c in conn.execute(
        "SELECT table_name, columns FROM hub.push_tables WHERE push_id = %s", (push_id,))}
    for (t,) in conn.execute("SELECT DISTINCT table_name FROM hub.facts WHERE push_id = %s",
                             (push_id,)):
        out.setdefault(str(t), [])
    return out


def push_lines(conn: psycopg.Connection[Any], push_id: uuid.UUID, table: str,
               batch: int = 2000) -> Iterator[str]:
    """The signed lines of one table of a push, in key order, a batch at a time."""
    with conn.cursor(name=f"lines_{uuid.uuid4().hex}") as cur:
        cur.itersize = batch
        cur.execute("SELECT line FROM hub.facts WHERE push_id = %s AND table_name = %s "
                    "ORDER BY id", (push_id, table))
        for (line,) in cur:
            yield str(line)


def images_chunks(conn: psycopg.Connection[Any], shas: Sequence[str], limit: int
                  ) -> Iterator[tuple[str, int, bytes]]:
    """The chunks of the images ``shas`` the hub holds, as (sha, chunk number, bytes), by image
    then chunk, streamed in one query (one row in memory at a time); ``LookupError`` for an image
    larger than ``limit``, ``ValueError`` for chunks that are not the ones recorded. Images the
    hub does not hold are simply absent."""
    if not shas:
        return
    expected: tuple[str, int] = ("", 0)
    for sha, declared, chunks, n, data in conn.cursor().stream(
            "SELECT i.sha256, i.size, i.chunks, c.n, c.data FROM hub.images i "
            "JOIN hub.image_chunks c USING (sha256) WHERE i.sha256 = ANY(%s) "
            "ORDER BY i.sha256, c.n", (list(shas),)):
        if declared > limit:
            raise LookupError(sha)
        if sha != expected[0]:
            if expected[0] and expected[1] != -1:
                raise ValueError(expected[0])         # the previous image stopped short
            expected = (sha, 0)
        if n != expected[1] or n >= chunks:
            raise ValueError(sha)
        expected = (sha, -1 if n + 1 == chunks else n + 1)
        yield str(sha), int(n), bytes(data)
    if expected[0] and expected[1] != -1:
        raise ValueError(expected[0])



# -- purging the hub's copies (the hub's owner only: station roles may not update or delete) ----
def held_lines(conn: psycopg.Connection[Any], table: str, ids: Sequence[str]
               ) -> list[tuple[str, str, str, list[str]]]:
    """The hub's copies of rows ``ids`` of ``table``: (station, id, signed line, the columns of
    the push that brought it)."""
    return [(str(st), str(i), str(line), list(cols)) for st, i, line, cols in conn.execute(
        "SELECT f.station_id, f.id, f.line, t.columns FROM hub.facts f "
        "JOIN hub.push_tables t ON t.push_id = f.push_id AND t.table_name = f.table_name "
        "WHERE f.table_name = %s AND f.id = ANY(%s)", (table, list(ids)))]


def replace_lines(conn: psycopg.Connection[Any], table: str,
                  lines: Sequence[tuple[str, str, str]]) -> dict[uuid.UUID, int]:
    """Replace rows' lines (station, id, new line) of ``table``; how many changed, per push."""
    changed: dict[uuid.UUID, int] = {}
    with conn.cursor() as cur:
        for station, row_id, line in lines:
            cur.execute("UPDATE hub.facts SET line = %s WHERE table_name = %s AND station_id = %s "
                        "AND id = %s AND line IS DISTINCT FROM %s RETURNING push_id",
                        (line, table, station, row_id, line))
            for (push_id,) in cur.fetchall():
                changed[push_id] = changed.get(push_id, 0) + 1
    return changed


def record_purges(conn: psycopg.Connection[Any], lines: dict[uuid.UUID, int], by_station: str | None,
                  by_operator: str | None) -> None:
    """Note which pushes a purge masked (lines replaced per push), by which store and operator."""
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO hub.purges (push_id, lines, by_station, by_operator) "
                        "VALUES (%s, %s, %s, %s)",
                        [(push_id, n, by_station, by_operator) for push_id, n in sorted(
                            lines.items(), key=lambda kv: str(kv[0]))])


@dataclass(frozen=True)
class PurgeInfo:
    """The latest purge that masked lines of a push at the hub."""

    purged_at: dt.datetime
    purged_by: str                     # the hub role that ran it (the hub's owner)
    by_station: str | None             # the store whose purge it was
    by_operator: str | None            # its supervisor, as that store named them


def push_purge(conn: psycopg.Connection[Any], push_id: uuid.UUID) -> PurgeInfo | None:
    """The latest purge recorded for a push (None: none was)."""
    row = conn.execute("SELECT purged_at, purged_by, by_station, by_operator FROM hub.purges "
                       "WHERE push_id = %s ORDER BY purged_at DESC LIMIT 1", (push_id,)).fetchone()
    return None if row is None else PurgeInfo(row[0], str(row[1]), row[2], row[3])


def drop_images(conn: psycopg.Connection[Any], shas: Sequence[str]) -> dict[str, str]:
    """Remove images ``shas`` from the hub's records (and their bytes, in the database); the
    ones it held → where their bytes were (``schema.IN_DATABASE``/``IN_FOLDER``)."""
    if not shas:
        return {}
    held = {str(sha): str(place) for sha, place in conn.execute(
        "SELECT sha256, place FROM hub.images WHERE sha256 = ANY(%s)", (list(shas),))}
    if held:
        conn.execute("DELETE FROM hub.image_chunks WHERE sha256 = ANY(%s)", (list(held),))
        conn.execute("DELETE FROM hub.image_reports WHERE sha256 = ANY(%s)", (list(held),))
        conn.execute("DELETE FROM hub.images WHERE sha256 = ANY(%s)", (list(held),))
    return held

# -- what a test or an administrator looks at ---------------------------------------------------------
def table_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Rows of every hub table (a cheap picture of 'unchanged')."""
    out = {}
    for name in ("stations", "pushes", "push_tables", "facts", "images", "image_chunks", "migrations",
                 "image_folder", "image_reports", "purges"):
        row = conn.execute(sql.SQL("SELECT count(*) FROM hub.{}").format(sql.Identifier(name))).fetchone()
        out[name] = int(row[0]) if row else 0
    return out
