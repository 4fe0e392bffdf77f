"""Read model of the campaign view (issue 15.4): the school each station was set up for.

``station init`` records the station's school code in its ``init`` audit fact, which travels with
the station's other facts (bundles, hub pushes), so a master that merged or pulled a station
knows its school from that station's own signed record.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from station.store.core import Store


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
