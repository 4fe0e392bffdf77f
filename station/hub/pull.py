"""``station sync pull --hub DSN``: bring what other stations pushed, verified again here.

The hub's own checks are not trusted: every push not imported yet is checked exactly as a bundle
is (``station.sync.verify``): its manifest must be signed by the key *this* store enrolled for
that station (``verify_manifest``), its rows must be that station's and exactly the signed ones
(``verify_rows`` — digests recomputed from the rows as they arrive), every image must hash to its
name (``verify_image``; streamed from the database, or copied from the hub's image folder —
``station.hub.images``; a broken folder file is reported at the hub for repair). The verified rows are staged into a private SQLite
file and united with the store by the merge's own apply step (``station.sync.merge``): the same
union by key, the same conflict facts (clashes kept aside, rows waiting for a parent), the same
import log — under the push's manifest hash, so pulling again changes nothing.

A push that fails a check is refused whole and left at the hub (reported; the others go on). One
push is one transaction here, so a pull killed or cut at any point resumes where it stopped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from station import faults
from station.hub import queries
from station.hub.connect import connect, lost, require_schema, shown
from station.hub.images import HubImages, hub_images
from station.i18n import Bilingual, both, t
from station.localtime import local_naive
from station.store import union
from station.store.hub_rows import create_staging
from station.store.migrations import LATEST
from station.store.scratch import scratch_dir
from station.sync.errors import BundleRefused
from station.sync.manifest import PUSH_FORMAT
from station.sync.merge import MergeResult, apply_verified, check_staged
from station.sync.trust import TrustService
from station.sync.verify import Trust, verify_manifest, verify_rows

if TYPE_CHECKING:
    from station.store.core import Store


class PullRefused(BundleRefused):
    """A push at the hub that failed a check here; it was not taken (``reason`` as for bundles,
    or one of the hub's own: ``HUB_REASONS``)."""

    whole = "hub.pull_refused"
    HUB_REASONS = frozenset({"folder_image", "purged"})

    def __init__(self, reason: str, source: str, member: str | None = None, **params: object) -> None:
        super().__init__(reason, source, member, **params)
        if reason in self.HUB_REASONS:
            self.key = f"hub.pull.{reason}"

    def place(self) -> str:
        return self.source

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        if self.reason == "purged":           # who purged it and when, for a script to show
            data["purged"] = {k: str(self.params[p]) for k, p in (
                ("at", "at"), ("operator", "operator"), ("station", "by_station"), ("role", "role"))}
        return data


@dataclass
class PullResult:
    hub: str
    merged: list[MergeResult] = field(default_factory=list)
    refused: list[PullRefused] = field(default_factory=list)
    already: int = 0                               # pushes imported before

    @property
    def images_added(self) -> int:
        return sum(r.images_added for r in self.merged)

    def to_json(self) -> dict[str, Any]:
        return {"hub": self.hub, "pushes": [r.to_json() for r in self.merged],
                "refused": [{"push": r.source, **r.to_json()} for r in self.refused],
                "already_imported": self.already,
                "added": sum(sum(r.added.values()) for r in self.merged),
                "images_added": self.images_added}


def pull(store: Store, dsn: str, operator: str | None = None, *, trust: Trust | None = None,
         images_dir: Path | None = None) -> PullResult:
    """Take every push not imported yet; ``images_dir``: this station's path to the hub's image
    folder (a hub set up with one needs it)."""
    trust = trust if trust is not None else TrustService(store)
    result = PullResult(shown(dsn))
    with connect(dsn) as conn:
        require_schema(conn, dsn)
        images = hub_images(conn, dsn, images_dir)
        try:
            for info in queries.pushes(conn, skip_station=store.station_id):
                if union.bundle_imported(store.conn, info.manifest_sha256, store.station_id, "hub"):
                    result.already += 1
                    continue
                try:
                    result.merged.append(pull_push(store, conn, info, trust, operator, images))
                except BundleRefused as exc:
                    result.refused.append(exc if isinstance(exc, PullRefused) else
                                          PullRefused(exc.reason, exc.source, exc.member, **exc.params))
                    images.after_pull(conn)         # broken folder images: asked to be repaired
        except psycopg.OperationalError as exc:
            raise lost(exc, dsn) from None
    return result


def push_name(info: queries.PushInfo) -> str:
    return t("hub.push_name", station=info.station_id, number=info.push_seq)


def pull_push(store: Store, conn: psycopg.Connection[Any], info: queries.PushInfo, trust: Trust,
              operator: str | None, images: HubImages) -> MergeResult:
    """Verify one push and unite it with the store (or raise ``BundleRefused``, changing nothing)."""
    source = push_name(info)
    body, signature = queries.push_body(conn, info.push_id)
    sha = hashlib.sha256(body).hexdigest()
    if sha != info.manifest_sha256:
        raise PullRefused("checksum", source, "manifest")
    manifest = verify_manifest(body, signature, trust, store.station_id, source, expect=PUSH_FORMAT)
    if manifest.schema_version > LATEST:
        raise PullRefused("too_new", source, version=manifest.schema_version, supported=LATEST)
    result = MergeResult(source, sha, manifest.station_id)
    with scratch_dir(store.data_dir, "pull") as tmp, conn.transaction():
        db = tmp / "push.sqlite3"
        staging = create_staging(db, manifest.schema_version)
        try:
            verify_rows(manifest, StagingRows(HubRows(conn, info), staging, source), source)
        except BundleRefused as exc:
            raise purged_refusal(conn, info, source, exc) or exc from None
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise PullRefused("damaged_database", source, detail=str(exc)[:200]) from None
        finally:
            staging.close()
        staged = tmp / "images"
        staged.mkdir(mode=0o700)
        images.fetch(conn, manifest, [i for i in sorted(manifest.images) if not store.images.verify(i)],
                     staged, source)
        faults.point("hub.pull.staged")
        try:
            check_staged(store, db, manifest, source)
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise PullRefused("damaged_database", source, detail=str(exc)[:200]) from None
        apply_verified(store, db, staged, manifest, f"hub:{info.push_id}", operator, result, source,
                       kind="hub")
    return result


# What a purge's masking changes in a push (lines, so their digests): a refusal for one of these,
# of a push the hub records as purged, is that purge's doing, not a change after signing.
PURGE_SHOWS_AS = frozenset({"row_digest", "max_hlc"})


def purged_refusal(conn: psycopg.Connection[Any], info: queries.PushInfo, source: str,
                   exc: BundleRefused) -> PullRefused | None:
    """``exc`` said in its own words when the push was purged at the hub (``station hub purge``):
    its people are gone, by whom and when, and what to do; None when it was not."""
    if exc.reason not in PURGE_SHOWS_AS:
        return None
    purge = queries.push_purge(conn, info.push_id)
    if purge is None:
        return None
    at = local_naive(purge.purged_at).isoformat(sep=" ", timespec="minutes")
    operator = purge.by_operator or "-"
    who = Bilingual(*both("hub.pull.purged_by", operator=operator, station=purge.by_station or "-",
                          role=purge.purged_by))
    return PullRefused("purged", source, station=info.station_id, at=at, who=who,
                       operator=operator, by_station=purge.by_station or "-", role=purge.purged_by,
                       table=exc.params.get("table", "-"))


class HubRows:
    """The rows of one push at the hub, as ``station.sync.verify.RowSource`` reads them."""

    def __init__(self, conn: psycopg.Connection[Any], info: queries.PushInfo) -> None:
        self.conn = conn
        self.info = info
        self._tables = queries.push_tables(conn, info.push_id)

    def schema_version(self) -> int:
        return self.info.schema_version

    def tables(self) -> list[str]:
        return sorted(self._tables)

    def columns(self, table: str) -> list[str]:
        return list(self._tables[table])

    def rows(self, table: str) -> Iterator[list[Any]]:
        for line in queries.push_lines(self.conn, self.info.push_id, table):
            yield decode_line(line)


def decode_line(line: str) -> list[Any]:
    """A signed line back into values (bytes were base64; see ``union.encode_value``)."""
    values = json.loads(line)
    if not isinstance(values, list):
        raise ValueError("a row line is not a JSON list")
    out: list[Any] = []
    for v in values:
        if isinstance(v, dict):
            if set(v) != {"$b64"} or not isinstance(v["$b64"], str):
                raise ValueError("a value of a row line is neither plain nor base64 bytes")
            out.append(base64.b64decode(v["$b64"], validate=True))
        elif isinstance(v, list):
            raise ValueError("a value of a row line is a list")
        else:
            out.append(v)
    return out


class StagingRows:
    """A row source that also writes every row it hands out into the staging file, so the rows
    are read from the hub once: verified (digests) and staged in the same pass. If verification
    fails the staging file is thrown away with its scratch folder."""

    def __init__(self, source: HubRows, staging: sqlite3.Connection, where: str) -> None:
        self.source = source
        self.staging = staging
        self.where = where

    def schema_version(self) -> int:
        return self.source.schema_version()

    def tables(self) -> list[str]:
        return self.source.tables()

    def columns(self, table: str) -> list[str]:
        return self.source.columns(table)

    def rows(self, table: str) -> Iterator[Sequence[Any]]:
        from station.store.hub_rows import stage_rows

        columns = self.columns(table)
        batch: list[list[Any]] = []
        for row in self.source.rows(table):
            if len(row) != len(columns):
                raise PullRefused("row_digest", self.where, table=table)
            batch.append(row)
            if len(batch) >= 2000:
                stage_rows(self.staging, table, columns, batch)
                batch = []
            yield row
        if batch:
            stage_rows(self.staging, table, columns, batch)
