"""Station enrolment: a supervisor trusts each other station's public key once, by station id.

Rules: one key per station id and one station id per key; this station cannot enrol itself (its
own facts never arrive by merge); enrolling the same key for the same station again changes
nothing — unless its key file names another campaign (the station began a new one, ``station
campaign new``): then the enrolment is pinned to that campaign, and bundles and pushes of the
earlier one are refused from then on (``station.sync.verify.verify_campaign``). Two stations that were both initialised under the same id have different keys, so the
second is refused in words — it must be set up again under a new id — instead of its rows being
dropped at merge time.

``TrustService`` is what the merge, ``export verify`` and the hub (issue 15) ask: ``key_for(id)``.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from station.errors import InputError, Location, NotFoundError, RefusedError
from station.keys import KEYFILE_MAX_BYTES, KeyFile, parse_keyfile
from station.store import trust as table
from station.store.trust import EnrolledKey

if TYPE_CHECKING:
    from station.store.core import Store


@dataclass(frozen=True)
class Enrolment:
    key: EnrolledKey
    created: bool          # False: this exact key was already enrolled for this station
    previous_campaign: str | None = None   # set when this enrolment moved to the key file's campaign

    @property
    def campaign_changed(self) -> bool:
        return not self.created and self.key.campaign != self.previous_campaign


class TrustService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def key_for(self, station_id: str) -> EnrolledKey | None:
        return table.by_station(self.store, station_id)

    def enrolled(self) -> list[EnrolledKey]:
        return table.enrolled(self.store)

    def public_keys(self) -> list[bytes]:
        """Every enrolled public key (PEM), e.g. for ``export verify``."""
        return [k.public_pem for k in self.enrolled()]

    def read_keyfile(self, path: Path) -> KeyFile:
        try:
            if not stat.S_ISREG(Path(path).stat().st_mode):   # a folder, /dev/zero, a pipe
                raise InputError("keys.keyfile_not_file", Location(str(path)))
            with Path(path).open("rb") as fh:
                data = fh.read(KEYFILE_MAX_BYTES + 1)      # a bigger file is refused by its size
        except FileNotFoundError:
            raise NotFoundError("common.file_missing", path=str(path)) from None
        except OSError:
            raise InputError("keys.keyfile_unreadable", Location(str(path))) from None
        return parse_keyfile(data, str(path))

    def add(self, keyfile: KeyFile, operator: str | None) -> Enrolment:
        """Enrol ``keyfile``'s key for its station id, or refuse in words."""
        store = self.store
        station = keyfile.station_id
        with store.transaction():
            if station == store.station_id:
                raise RefusedError("sync.trust.own_station", station=station)
            current = table.by_station(store, station)
            if current is not None:
                if current.fingerprint == keyfile.fingerprint:
                    if keyfile.campaign is None or keyfile.campaign == current.campaign:
                        return Enrolment(current, created=False, previous_campaign=current.campaign)
                    # the station began a new campaign (station campaign new) and says so in its
                    # key file: from now on only that campaign's data is taken from it — never
                    # back to an earlier one (an old key file enrolled again would reopen it)
                    if keyfile.campaign in table.earlier_campaigns(store, station):
                        raise RefusedError("sync.trust.campaign_ended", station=station,
                                           campaign=keyfile.campaign, current=current.campaign)
                    table.pin_campaign(store, station, keyfile.campaign)
                    store.audit.append(operator, "trust.campaign", station,
                                       {"campaign": keyfile.campaign, "previous": current.campaign,
                                        "from": "keyfile"})
                    key = table.by_station(store, station)
                    assert key is not None
                    return Enrolment(key, created=False, previous_campaign=current.campaign)
                raise RefusedError("sync.trust.station_taken", station=station,
                                   enrolled=current.fingerprint, offered=keyfile.fingerprint)
            other = table.by_fingerprint(store, keyfile.fingerprint)
            if other is not None:
                raise RefusedError("sync.trust.key_taken", station=station, other=other.station_id,
                                   fingerprint=keyfile.fingerprint)
            table.enrol(store, station, keyfile.fingerprint, keyfile.public_pem, operator,
                        keyfile.campaign)
            store.audit.append(operator, "trust.add", station, {"fingerprint": keyfile.fingerprint,
                                                               "campaign": keyfile.campaign})
        key = table.by_station(store, station)
        assert key is not None
        return Enrolment(key, created=True)
