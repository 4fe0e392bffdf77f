"""The trust boundary between stations: is this data really from the station it names?

Reusable by every road another station's data takes — a USB bundle (``station.sync.merge``) and
the PostgreSQL hub of issue 15 — as three checks on plain inputs:

- ``verify_manifest(body, signature, trust, own_station_id)``: the manifest is well formed, names
  a station enrolled here (not this station itself), is signed by that station's enrolled key,
  and is of the campaign that enrolment is pinned to (``verify_campaign``);
- ``verify_rows(manifest, rows)``: every row of every table carries the manifest's station id, and
  the tables, counts and row digests are exactly the signed ones, and the manifest's ``max_hlc``
  is the newest stamp of those rows (``RowSource`` is any source of rows: an attached SQLite
  file, or rows received over the network);
- ``verify_image(manifest, sha, actual_sha)``: an image is listed and its bytes hash to its name.

Each raises ``BundleRefused`` with words; nothing here writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from station.keys import verify_signature
from station.store.migrations import LATEST
from station.store.trust import EnrolledKey
from station.store.union import MERGE_COLUMNS
from station.sync.digest import table_digest
from station.sync.errors import BundleRefused
from station.sync.manifest import FORMAT, Manifest


class Trust(Protocol):
    """Who is enrolled here (``station.sync.trust.TrustService`` on a store)."""

    def key_for(self, station_id: str) -> EnrolledKey | None: ...


class RowSource(Protocol):
    """Rows of one station's facts, table by table, in key order."""

    def schema_version(self) -> int: ...

    def tables(self) -> list[str]: ...

    def columns(self, table: str) -> list[str]: ...

    def rows(self, table: str) -> Iterable[Sequence[Any]]: ...


def verify_manifest(body: bytes, signature: bytes, trust: Trust, own_station_id: str | None,
                    source: str, expect: str = FORMAT) -> Manifest:
    """The parsed manifest, once it is shown to come from an enrolled station that is not us.

    ``expect``: the manifest format of the road (``FORMAT`` for bundles, ``PUSH_FORMAT`` for the
    hub)."""
    manifest = Manifest.parse(body, source, expect)
    station = manifest.station_id
    if own_station_id is not None and station == own_station_id:
        raise BundleRefused("own_station", source, station=station)
    enrolled = trust.key_for(station)
    if enrolled is None:
        raise BundleRefused("not_enrolled", source, station=station, fingerprint=manifest.signing_key)
    if not verify_signature(enrolled.public_pem, body, signature):
        # the enrolled key named, yet its signature fails: bundle.json or its signature was
        # changed after signing (not "signed by another key", which named the same print twice)
        altered = manifest.signing_key == enrolled.fingerprint
        raise BundleRefused("bad_signature", source, "bundle.json.sig", station=station,
                            enrolled=enrolled.fingerprint, claimed=manifest.signing_key,
                            words="altered_signature" if altered else None)
    verify_campaign(manifest, enrolled, source)
    return manifest


def verify_campaign(manifest: Manifest, enrolled: EnrolledKey, source: str) -> None:
    """Data of the campaign the station's enrolment is pinned to, and no other: a bundle or push
    signed last season by a key that is still enrolled is not this season's data.

    The pin is the campaign the station's key file declared at enrolment (``station trust
    add``), or — for a station enrolled before campaigns existed — the first campaign its
    signed data carried (``pin_campaign_of``). A manifest without a campaign was made by a
    version before campaigns, so it is last season's as far as anyone can tell: refused once the
    enrolment is pinned; before that (nothing here ever saw a campaign from that station) it is
    taken as every version before took it."""
    pinned = enrolled.campaign
    if pinned is None:
        return
    if manifest.campaign is None:
        raise BundleRefused("no_campaign", source, station=manifest.station_id, enrolled=pinned)
    if manifest.campaign != pinned:
        raise BundleRefused("other_campaign", source, station=manifest.station_id,
                            campaign=manifest.campaign, enrolled=pinned)


def pin_campaign_of(manifest: Manifest, enrolled: EnrolledKey | None) -> str | None:
    """The campaign to pin the sender's enrolment to once this verified manifest is taken: its
    own, when the enrolment is not pinned yet (enrolled before campaigns existed)."""
    if enrolled is None or enrolled.campaign is not None:
        return None
    return manifest.campaign


def verify_rows(manifest: Manifest, rows: RowSource, source: str) -> None:
    """Every row is the manifest's station's, and the rows are exactly those it signed."""
    version = rows.schema_version()
    if version > LATEST:
        raise BundleRefused("too_new", source, version=version, supported=LATEST)
    if version != manifest.schema_version:
        raise BundleRefused("schema_mismatch", source, version=version, signed=manifest.schema_version)
    tables = rows.tables()
    unlisted = sorted(set(tables) - set(manifest.rows))
    if unlisted:
        raise BundleRefused("unlisted_table", source, table=unlisted[0])
    missing = sorted(set(manifest.rows) - set(tables))
    if missing:
        raise BundleRefused("missing_table", source, table=missing[0])
    station = manifest.station_id
    newest = ""
    newest_table = ""
    for table in sorted(tables):
        columns = rows.columns(table)
        if not set(MERGE_COLUMNS) <= set(columns):
            raise BundleRefused("not_fact_table", source, table=table)
        at = columns.index("station_id")
        clock_at = columns.index("hlc")
        others: dict[str, int] = {}
        top = [""]

        def counted(table: str = table, at: int = at, others: dict[str, int] = others,
                    clock_at: int = clock_at, top: list[str] = top) -> Iterable[Sequence[Any]]:
            for row in rows.rows(table):
                if row[at] != station:
                    key = str(row[at])[:64]
                    others[key] = others.get(key, 0) + 1
                stamp = str(row[clock_at])
                if stamp > top[0]:
                    top[0] = stamp
                yield row

        digest, count = table_digest(table, columns, counted())
        if others:
            name = min(others)
            raise BundleRefused("foreign_rows", source, table=table, count=sum(others.values()),
                                other=name, station=station)
        if count != manifest.rows[table]:
            raise BundleRefused("row_count", source, table=table, count=count, signed=manifest.rows[table])
        if digest != manifest.row_digests[table]:
            raise BundleRefused("row_digest", source, table=table)
        if top[0] > newest:
            newest, newest_table = top[0], table
    # The receiver judges the sender's clock by the manifest's newest stamp (how far ahead it
    # is, whether to follow it): it must be the rows' own newest, not a number chosen apart.
    if newest != manifest.max_hlc:
        raise BundleRefused("max_hlc", source, "bundle.json", table=newest_table or "-",
                            actual=newest[:40] or "-", signed=manifest.max_hlc[:40] or "-")


def verify_objects(unexpected: Sequence[tuple[str, str]], source: str, member: str) -> None:
    """A bundle's database holds no view, trigger or index but our own schema's: checked before
    anything opens the file for writing (its migration would run a trigger)."""
    if unexpected:
        kind, name = unexpected[0]
        raise BundleRefused("schema_object", source, member, kind=kind, name=name[:64],
                            count=len(unexpected))


def verify_image(manifest: Manifest, sha: str, actual_sha: str, source: str) -> None:
    """An image the manifest lists, whose bytes hash to its name."""
    member = manifest.images.get(sha)
    if member is None:
        raise BundleRefused("unlisted_member", source, f"images/{sha[:64]}")
    if actual_sha != sha:
        raise BundleRefused("image_hash", source, member, actual=actual_sha)



StudentNumberFact = tuple[str, str, str, str, str]    # (person, clock, table, row id, value)


def verify_student_numbers(incoming: Iterable[StudentNumberFact], held: Iterable[StudentNumberFact],
                           source: str, member: str | None = None) -> None:
    """The student number each person ends up with once ``incoming`` (the rows of a bundle or a
    push, from ``union.student_number_facts``) joins ``held`` (this store's) — the latest fact by
    clock, a roster entry or a correction — is of the one form roster import and `station correct`
    hold it to (``station.domain.studentno``): it names exported photos and prints.

    Only a value that would become current through these rows is judged. Facts are never
    rewritten, so a station that stored a bad number (before this rule, or by hand) and corrected
    it later must still be able to send its records: a new bundle carries the correction with
    them, and a push refused for it is taken once the push with the correction is here."""
    from station.domain import studentno
    from station.i18n import Bilingual

    latest: dict[str, tuple[str, str, str, str, bool]] = {}
    for facts, arriving in ((held, False), (incoming, True)):
        for person, stamp, table, row_id, value in facts:
            now = (str(stamp), str(row_id), str(table), str(value or ""), arriving)
            if person not in latest or now[:2] > latest[person][:2]:
                latest[person] = now
    for _stamp, row_id, table, value, arriving in sorted(latest.values(), key=lambda v: (v[2], v[1])):
        words = studentno.messages(value) if arriving and value else None
        if words is not None:
            raise BundleRefused("student_no", source, member, table=table, row=row_id[:40],
                                problem=Bilingual(*words))
