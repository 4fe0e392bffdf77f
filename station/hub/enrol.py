"""``station hub init`` and ``station trust add --hub``: the hub's schema and whom it trusts.

The master is the source of trust: its enrolled station keys (``station.sync.trust``) and its own
key are enrolled at the hub, each station with a login role of its own (member of the hub's
station group role; see ``queries.ensure_roles`` for what that may do). The same rules as the
master's own list hold at the hub: one key per station id, one station id per key; enrolling the
same key again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg

from station.errors import RefusedError
from station.hub import queries, schema
from station.hub.connect import connect, shown
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

    def to_json(self) -> dict[str, Any]:
        return {"hub": self.hub, "schema_version": self.version, "applied": self.applied,
                "stations": [s.to_json() for s in self.stations], "refused": self.refused}


def raw_public_key(public_pem: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(public_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key.public_bytes_raw()


def init_hub(store: Store, dsn: str, operator: str | None) -> InitResult:
    """Create or upgrade the schema, the roles, and enrol this master and every station it trusts."""
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
                               detail=str(exc).splitlines()[0][:200]) from None
        result = InitResult(shown(dsn), schema.LATEST, applied)
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
                        "refused": [r["station_id"] for r in result.refused]})
    return result


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
