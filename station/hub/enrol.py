"""``station hub init`` and ``station trust add --hub``: the hub's schema and whom it trusts.

The master is the source of trust: its enrolled station keys (``station.sync.trust``) and its own
key are enrolled at the hub, each station with a login role of its own (member of the hub's
station group role; see ``queries.ensure_roles`` for what that may do). The same rules as the
master's own list hold at the hub: one key per station id, one station id per key; enrolling the
same key again changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from station import reasons
from station.errors import RefusedError
from station.hub import queries, schema
from station.hub.connect import connect, shown
from station.hub.folder import MARKER, ImageFolder, read_marker
from station.keys import ensure_station_key, fingerprint

if TYPE_CHECKING:
    from station.keys import KeyFile
    from station.store.core import Store


@dataclass
class Enrolled:
    station_id: str
    fingerprint: str
    role: str
    new: bool                       # enrolled at the hub by this call
    role_created: bool

    def to_json(self) -> dict[str, Any]:
        return {"station_id": self.station_id, "fingerprint": self.fingerprint, "role": self.role,
                "new": self.new, "role_created": self.role_created}


@dataclass
class InitResult:
    hub: str
    version: int
    applied: list[int] = field(default_factory=list)
    stations: list[Enrolled] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    images_folder_id: str | None = None          # the hub's image folder (None: images in the database)
    images_folder: str | None = None             # as this master reaches it (when given)

    def to_json(self) -> dict[str, Any]:
        return {"hub": self.hub, "schema_version": self.version, "applied": self.applied,
                "stations": [s.to_json() for s in self.stations], "refused": self.refused,
                "images": {"store": "folder" if self.images_folder_id else "database",
                           "folder_id": self.images_folder_id, "folder": self.images_folder}}


def raw_public_key(public_pem: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(public_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key.public_bytes_raw()


def init_hub(store: Store, dsn: str, operator: str | None, images_dir: Path | None = None) -> InitResult:
    """Create or upgrade the schema, the roles, and enrol this master and every station it trusts;
    with ``images_dir``, name (or check) the hub's image folder (``station.hub.folder``)."""
    from station.sync.trust import TrustService

    with connect(dsn) as conn:
        version = queries.schema_version(conn)
        if version > schema.LATEST:
            raise RefusedError("hub.too_new", hub=shown(dsn), version=version, supported=schema.LATEST)
        if version and not queries.is_hub_owner(conn):
            raise RefusedError("hub.not_owner", hub=shown(dsn), role=queries.current_role(conn))
        try:
            applied = queries.migrate(conn)
            dbname = queries.database_name(conn)
            with conn.transaction():
                queries.ensure_roles(conn, dbname)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise RefusedError("hub.not_owner", hub=shown(dsn), role=queries.current_role(conn),
                               detail=reasons.of_pg(exc)) from None
        result = InitResult(shown(dsn), schema.LATEST, applied)
        folder = _image_folder(conn, dsn, images_dir)
        if folder is not None:
            result.images_folder_id = str(folder)
            result.images_folder = str(Path(images_dir).absolute()) if images_dir else None
        own = ensure_station_key(store.data_dir)
        keys: list[tuple[str, bytes]] = [(store.station_id or "", own.public_pem())]
        keys += [(k.station_id, k.public_pem) for k in TrustService(store).enrolled()]
        master = store.station_id or ""
        for station_id, pem in keys:
            try:
                result.stations.append(enrol_at_hub(conn, dbname, station_id, pem, master))
            except RefusedError as exc:
                result.refused.append({"station_id": station_id, **exc.to_json()})
    store.audit.append(operator, "hub.init", result.hub,
                       {"applied": applied, "stations": [s.station_id for s in result.stations],
                        "refused": [r["station_id"] for r in result.refused],
                        "images_folder_id": result.images_folder_id})
    return result


def _image_folder(conn: psycopg.Connection[Any], dsn: str, images_dir: Path | None) -> uuid.UUID | None:
    """The hub's image folder id after this init: named now (a new folder, or one whose marker
    names no images yet), checked (the folder must carry the hub's id), or as it was."""
    current = queries.image_folder(conn)
    if images_dir is None:
        return current
    if current is not None:
        ImageFolder.open(images_dir, current, shown(dsn))       # the right folder, or words
        return current
    root = Path(images_dir).absolute()
    marker = read_marker(root) if root.is_dir() else None
    if marker is None:
        folder = ImageFolder.create(root)
    elif {p.name for p in root.iterdir()} <= {MARKER, "tmp"}:   # an earlier init cut short
        folder = ImageFolder.open(root, marker.folder_id, shown(dsn))
    else:
        raise RefusedError("hub.images_other_hub", folder=str(root), hub=shown(dsn),
                           found=str(marker.folder_id))
    with conn.transaction():
        queries.set_image_folder(conn, folder.folder_id)
    return folder.folder_id


def check_enrolable(conn: psycopg.Connection[Any], station_id: str, public_pem: bytes) -> None:
    """Refuse in words what the hub would refuse: the id under another key, the key under another id."""
    fp = fingerprint(public_pem)
    current = queries.hub_station(conn, station_id)
    if current is not None and current.fingerprint != fp:
        raise RefusedError("hub.station_taken", station=station_id, enrolled=current.fingerprint,
                           offered=fp)
    other = queries.station_by_fingerprint(conn, fp)
    if other is not None and other.station_id != station_id:
        raise RefusedError("hub.key_taken", station=station_id, other=other.station_id,
                           fingerprint=fp)


def enrol_at_hub(conn: psycopg.Connection[Any], dbname: str, station_id: str, public_pem: bytes,
                 enrolled_by: str) -> Enrolled:
    """Enrol one station (and its role) in one transaction; an identical enrolment changes nothing."""
    fp = fingerprint(public_pem)
    with conn.transaction():
        check_enrolable(conn, station_id, public_pem)
        role, created = queries.ensure_station_role(conn, dbname, station_id)
        current = queries.hub_station(conn, station_id)
        if current is None:
            queries.enrol(conn, station_id, fp, raw_public_key(public_pem),
                          public_pem.decode("ascii"), role, enrolled_by)
    return Enrolled(station_id, fp, role, current is None, created)


def trust_add_at_hub(store: Store, dsn: str, keyfile: KeyFile, operator: str | None) -> Enrolled:
    """``station trust add KEYFILE --hub DSN``: checked at the hub first, then enrolled here (the
    master's own list, ``TrustService.add``), then at the hub — so a refusal at either end leaves
    both as they were, save a race with another master."""
    from station.sync.trust import TrustService

    with connect(dsn) as conn:
        from station.hub.connect import require_schema

        require_schema(conn, dsn)
        if not queries.is_hub_owner(conn):
            raise RefusedError("hub.not_owner", hub=shown(dsn), role=queries.current_role(conn))
        check_enrolable(conn, keyfile.station_id, keyfile.public_pem)
        TrustService(store).add(keyfile, operator)
        done = enrol_at_hub(conn, queries.database_name(conn), keyfile.station_id,
                            keyfile.public_pem, store.station_id or "")
    store.audit.append(operator, "hub.trust.add", keyfile.station_id,
                       {"hub": shown(dsn), "fingerprint": keyfile.fingerprint, "role": done.role})
    return done
