"""Campaigns: this store's campaign id, and the campaign view (issue 15.4).

A campaign is one season's work. Each store has an id for its current campaign (``meta``
``campaign``, 32 random hex digits, made by migration 13 for new and existing stores); its bundles
and hub pushes carry it under their signature and a master refuses data of another campaign
than the one the station's enrolment is pinned to (``station.sync.verify``). ``start_new`` begins
the next campaign (``station campaign new``).

The campaign view: the school each station was set up for.
``station init`` records the station's school code in its ``init`` audit fact, which travels with
the station's other facts (bundles, hub pushes), so a master that merged or pulled a station
knows its school from that station's own signed record.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from station.store.core import Store


def current(store: Store) -> str:
    """This store's campaign id; ``IntegrityError`` (in words) for one that is not a campaign id
    (a hand-edited store): its bundles, pushes and key file would carry it under the signature,
    and every master would refuse them — or a key file would be read as naming no campaign."""
    from station.errors import IntegrityError
    from station.keys import valid_campaign

    value = store.meta("campaign")
    if not value:                   # migration 13 made one; only a hand-edited store lacks it
        value = start_new(store)
    elif not valid_campaign(value):
        raise IntegrityError("store.bad_campaign", value=value[:80])
    return value


def start_new(store: Store) -> str:
    """Begin a new campaign: a new random id (the caller audits it)."""
    import secrets

    value = secrets.token_hex(16)
    store.set_meta("campaign", value)
    return value


def station_schools(store: Store) -> dict[str, str]:
    """Station id → the school code of its latest ``init`` record (stations without one: absent)."""
    schools: dict[str, str] = {}
    for station_id, details in store.conn.execute(
            "SELECT station_id, details FROM audit WHERE action = 'init' ORDER BY hlc"):
        try:
            code = json.loads(details or "{}").get("school_code")
        except (ValueError, AttributeError):
            continue
        if isinstance(code, str) and code:
            schools[str(station_id)] = code
    return schools
