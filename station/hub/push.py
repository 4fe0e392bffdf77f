"""``station sync push --hub DSN``: send this station's facts and images the hub does not hold yet.

1. The hub says, per table, the highest sequence number it holds of this station; the push reads
   the station's own rows above it in one snapshot of the store (``store.hub_rows.Outbox``) — only
   the station's own rows travel, as in a bundle.
2. One push is one transaction at the hub: the images its rows refer to that the hub lacks (in
   the hub's image store, ``station.hub.images``: sent as bytea and hashed by the hub, or — on a
   hub with an image folder — written and hashed into that folder and flushed *before* the
   transaction, which then records them), then the rows, then a signed manifest
   (``station.sync.manifest``, push format: per-table row counts and digests, the images). The hub
   verifies the signature against the key the master enrolled, recomputes counts and digests, and
   records the push — or refuses it whole, images included: a refused push changes nothing.

Killed or cut at any point, nothing half-done stays at the hub and the next push starts again from
step 1 (rows already recorded are below the high-water marks, images already stored are skipped).
A large store goes in several pushes of at most ``MAX_ROWS`` rows and about the image store's
``push_bytes`` of images each, so a cut loses at most one of them and memory stays bounded.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from station import faults, reasons
from station.errors import NotFoundError, RefusedError
from station.hub import queries
from station.hub.connect import HubRefused, connect, lost, refusal, require_schema, shown
from station.hub.images import HubImages, check_own_image, hub_images
from station.keys import ensure_station_key
from station.store import campaign, union
from station.store.hub_rows import Outbox
from station.store.seals import require_sound
from station.sync.digest import lines_digest, row_line
from station.sync.manifest import PUSH_FORMAT, Manifest

if TYPE_CHECKING:
    from station.keys import StationKey
    from station.store.core import Store

MAX_ROWS = 50_000              # rows per push (memory stays bounded; the rest goes in the next)
RETRIES = 3                    # another push of the same station committed first: start again


@dataclass
class PushResult:
    hub: str
    station_id: str
    pushes: list[int] = field(default_factory=list)      # numbers the hub gave our pushes
    rows: dict[str, int] = field(default_factory=dict)
    images_sent: int = 0
    images_bytes: int = 0
    images_repaired: int = 0                              # folder images rewritten (reported broken)

    def to_json(self) -> dict[str, Any]:
        return {"hub": self.hub, "station_id": self.station_id, "pushes": self.pushes,
                "rows": self.rows, "images_sent": self.images_sent,
                "images_bytes": self.images_bytes, "images_repaired": self.images_repaired}


@dataclass
class _Batch:
    tables: dict[str, tuple[list[str], list[str]]]        # table → (columns, signed lines in key order)
    counts: dict[str, int]
    digests: dict[str, str]
    images: dict[str, int]                                # sha → size, of every row's images
    max_hlc: str
    full: bool                                            # hit a limit: more may follow
    ids: dict[str, list[str]] = field(default_factory=dict)   # table → keys of its rows


def push(store: Store, dsn: str, operator: str | None = None, *, max_rows: int = MAX_ROWS,
         max_bytes: int | None = None, images_dir: Path | None = None) -> PushResult:
    """Push everything new; ``images_dir``: this station's path to the hub's image folder (a hub
    set up with one needs it, ``station.hub.images``); ``max_bytes``: images per push (default:
    the image store's own budget)."""
    station = store.station_id or ""
    require_sound(store)  # the station key must not vouch for rows changed behind its back
    key = ensure_station_key(store.data_dir)
    result = PushResult(shown(dsn), station)
    with connect(dsn) as conn:
        require_schema(conn, dsn)
        _require_enrolled(conn, station, key.fingerprint())
        images = hub_images(conn, dsn, images_dir)
        result.images_repaired = images.repair(conn, store)
        if not _anything_new(store, conn, station):
            return result
        # Audited before the rows are read (as a bundle is), so the hub gets exactly what the
        # station holds and a second push finds nothing new.
        store.audit.append(operator, "hub.push", result.hub, {"fingerprint": key.fingerprint()})
        attempts = 0
        while True:
            try:
                more = _push_once(store, conn, dsn, key, result, images, max_rows,
                                  max_bytes or images.push_bytes)
            except psycopg.errors.UniqueViolation as exc:
                attempts += 1                     # another push of ours got there first
                if attempts >= RETRIES:
                    diag = exc.diag
                    raise RefusedError("hub.push_unique", station=station,
                                       constraint=diag.constraint_name or "?",
                                       detail=(diag.message_detail or str(exc).splitlines()[0])[:200]) from None
                continue
            if not more:
                break
    return result


def _anything_new(store: Store, conn: psycopg.Connection[Any], station: str) -> bool:
    """Whether the station has rows the hub lacks — after checking that it still holds the last
    row the hub has of it in every table (a store restored from an older backup, or re-created,
    would reuse sequence numbers below the hub's marks and those rows would never travel)."""
    last = queries.high_water(conn, station)
    with Outbox(store.path) as box:
        tables = set(box.tables())
        for table, (seq, row_id) in sorted(last.items()):
            if table not in tables:       # bookkeeping an older version pushed; it travels no more
                continue
            if box.id_at(table, station, seq) != row_id:
                raise RefusedError("hub.push_behind", station=station, table=table, seq=seq)
        return any(box.rows_after(table, station, last.get(table, (0, ""))[0], 1)
                   for table in box.tables())


def _require_enrolled(conn: psycopg.Connection[Any], station: str, fp: str) -> None:
    enrolled = queries.hub_station(conn, station)
    if enrolled is None:
        raise RefusedError("hub.push_not_enrolled", station=station, fingerprint=fp)
    if enrolled.fingerprint != fp:
        raise RefusedError("hub.push_other_key", station=station, fingerprint=fp,
                           enrolled=enrolled.fingerprint)


def _push_once(store: Store, conn: psycopg.Connection[Any], dsn: str, key: StationKey,
               result: PushResult, images: HubImages, max_rows: int, max_bytes: int) -> bool:
    """One push; True when rows were left for another one."""
    station = result.station_id
    try:
        marks = {table: seq for table, (seq, _) in queries.high_water(conn, station).items()}
        with Outbox(store.path) as box:
            batch = _read(box, station, marks, max_rows, max_bytes, _image_size(store))
            version = box.schema_version()
        if not batch.counts:
            return False
        _refuse_taken_keys(conn, station, batch)
        faults.point("hub.push.read")
        manifest = Manifest(station_id=station, schema_version=version, rows=batch.counts,
                            row_digests=batch.digests,
                            members={f"images/{sha}": sha for sha in sorted(batch.images)},
                            max_hlc=batch.max_hlc, signing_key=key.fingerprint(),
                            school_code=store.meta("school_code"),
                            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                            format=PUSH_FORMAT, campaign=campaign.current(store))
        body = manifest.to_bytes()
        push_id = uuid.uuid4()
        missing = queries.missing_images(conn, sorted(batch.images))
        with images.writing(store, batch.images) as written, conn.transaction():
            sent_bytes = images.in_push(conn, store, missing)
            for table, (columns, lines) in batch.tables.items():
                queries.insert_push_rows(conn, push_id, table, columns, lines)
            faults.point("hub.push.rows")
            number = queries.commit_push(conn, push_id, body, key.sign(body))
            faults.point("hub.push.committing")
            written.wait()                # no fact commits before its image is durable
        faults.point("hub.push.committed")
    except psycopg.errors.UniqueViolation:
        raise
    except psycopg.Error as exc:
        refused = refusal(exc, shown(dsn))
        if refused is not None and refused.reason == "image_hash":
            check_own_image(store, str(refused.params.get("sha", "")), batch.images)
        if refused is not None:
            raise refused from None
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            raise HubRefused("not_permitted", shown(dsn), station=station,
                             detail=reasons.of_pg(exc)) from None
        if isinstance(exc, psycopg.OperationalError):
            raise lost(exc, dsn) from None
        raise
    result.pushes.append(number)
    result.images_sent += len(missing)
    result.images_bytes += sent_bytes
    for table, count in batch.counts.items():
        result.rows[table] = result.rows.get(table, 0) + count
    return batch.full


def _refuse_taken_keys(conn: psycopg.Connection[Any], station: str, batch: _Batch) -> None:
    """A row to send whose key the hub already holds for this station (under a lower number:
    the store's row was moved or altered after it was pushed). The hub keeps one version of a
    station's key and never overwrites it, so the push is refused naming the table and row —
    every later push too, until the supervisor has dealt with the station's store — instead of
    failing on the hub's unique key (a raw library error) or dropping the row."""
    for table, ids in batch.ids.items():
        held = queries.held_keys(conn, station, table, ids)
        if held:
            row_id = min(held)
            raise RefusedError("hub.push_key_taken", station=station, table=table, row=row_id,
                               seq=held[row_id])


def _image_size(store: Store) -> Callable[[str], int]:
    def size(sha: str) -> int:
        try:
            return os.stat(store.images.path(sha)).st_size
        except FileNotFoundError:
            raise NotFoundError("store.image_missing", sha=sha) from None
    return size


def _read(box: Outbox, station: str, marks: dict[str, int], max_rows: int, max_bytes: int,
          image_size: Callable[[str], int]) -> _Batch:
    """The station's rows above the hub's marks, in sequence order per table, parents' tables
    first, until ``max_rows`` rows or ``max_bytes`` of images (at least one row)."""
    batch = _Batch({}, {}, {}, {}, "", False)
    rows_left, bytes_left = max_rows, max_bytes
    for table in box.tables():
        if rows_left <= 0 or bytes_left <= 0:
            batch.full = True
            break
        columns = box.columns(table)
        taken: list[tuple[Any, ...]] = []
        for row in box.rows_after(table, station, marks.get(table, 0), rows_left + 1):
            refs = union.row_image_references(table, dict(zip(columns, row, strict=True)))
            new = {sha: image_size(sha) for sha in refs if sha not in batch.images}
            cost = sum(new.values())
            if len(taken) >= rows_left or (cost > bytes_left and (taken or batch.counts)):
                batch.full = True
                break
            taken.append(row)
            batch.images.update(new)
            bytes_left -= cost
            batch.max_hlc = max(batch.max_hlc, str(row[3]))
        rows_left -= len(taken)
        if taken:
            taken.sort(key=lambda r: str(r[0]))               # key order, as the digest wants
            lines = [row_line(r) for r in taken]              # encoded once: sent and digested
            batch.ids[table] = [str(r[0]) for r in taken]
            batch.tables[table] = (columns, lines)
            batch.counts[table] = len(lines)
            batch.digests[table] = lines_digest(table, columns, lines)
        if batch.full:
            break
    return batch
