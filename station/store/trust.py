"""The SQL of enrolled station keys (``station_keys``): one key per station id, one id per key.

Enrolment is a fact of this store (audited, stamped) that never travels in a bundle: whom a
master trusts is its own decision. Policy and messages live in ``station.sync.trust``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.store.core import Store


@dataclass(frozen=True)
class EnrolledKey:
    station_id: str
    fingerprint: str
    public_pem: bytes
    enrolled_at: str        # hybrid clock of the enrolment
    enrolled_by: str | None
    campaign: str | None = None   # the campaign its data must carry (None: not pinned yet)

    def to_json(self) -> dict[str, Any]:
        return {"station_id": self.station_id, "fingerprint": self.fingerprint,
                "public_key": self.public_pem.decode("ascii"), "enrolled_at": self.enrolled_at,
                "enrolled_by": self.enrolled_by, "campaign": self.campaign}


def _key(row: Any) -> EnrolledKey:
    try:
        campaign = row["campaign"]
    except IndexError:     # a store read where it lies (read-only media), older than migration 13
        campaign = None
    return EnrolledKey(row["enrolled_station"], row["fingerprint"], row["public_key"].encode("ascii"),
                       row["hlc"], row["operator"], campaign)


def enrolled(store: Store) -> list[EnrolledKey]:
    return [_key(r) for r in store.conn.execute(
        "SELECT * FROM station_keys ORDER BY enrolled_station")]


def by_station(store: Store, station_id: str) -> EnrolledKey | None:
    row = store.conn.execute("SELECT * FROM station_keys WHERE enrolled_station = ?",
                             (station_id,)).fetchone()
    return _key(row) if row else None


def by_fingerprint(store: Store, fingerprint: str) -> EnrolledKey | None:
    row = store.conn.execute("SELECT * FROM station_keys WHERE fingerprint = ?",
                             (fingerprint,)).fetchone()
    return _key(row) if row else None


def enrol(store: Store, station_id: str, fingerprint: str, public_pem: bytes,
          operator: str | None, campaign: str | None = None) -> str:
    """Insert the enrolment (the caller checked uniqueness inside the same transaction)."""
    return store.insert("station_keys", {"enrolled_station": station_id, "fingerprint": fingerprint,
                                         "public_key": public_pem.decode("ascii"),
                                         "operator": operator, "campaign": campaign})


def earlier_campaigns(store: Store, station_id: str) -> set[str]:
    """Every campaign the enrolment of ``station_id`` was ever pinned to here (this store's own
    ``trust.add``/``trust.campaign`` audit entries)."""
    out: set[str] = set()
    for (details,) in store.conn.execute(
            "SELECT details FROM audit WHERE station_id = ? AND subject = ? "
            "AND action IN ('trust.add', 'trust.campaign')", (store.station_id, station_id)):
        try:
            doc = json.loads(details or "{}")
        except ValueError:
            continue
        if isinstance(doc, dict):
            out.update(v for k in ("campaign", "previous") if isinstance(v := doc.get(k), str))
    return out


def pin_campaign(store: Store, station_id: str, campaign: str) -> None:
    """Pin the enrolment of ``station_id`` to ``campaign`` (inside the caller's transaction): the
    row changes, so it is sealed again with this store's key — once the seals show that nothing
    was changed behind the station's back (re-sealing makes what the rows hold now the truth)."""
    from station.store.seals import require_sound

    require_sound(store)
    row = store.conn.execute("SELECT id FROM station_keys WHERE enrolled_station = ?",
                             (station_id,)).fetchone()
    if row is None:
        return
    store.conn.execute("UPDATE station_keys SET campaign = ? WHERE id = ?", (campaign, row["id"]))
    store.seals.reseal([("station_keys", str(row["id"]))])
