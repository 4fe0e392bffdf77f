"""Roster and schedule: import (``importer``, ``schedule``), eligibility, and matching a card to
the roster (``match``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from station.domain.identity import Identity
    from station.roster.match import Match
    from station.store.core import Store


def match(store: Store, identity: Identity, now: dt.datetime | None = None, **kw) -> Match:
    """Who is this card, are they due now, have they been done? See ``station.roster.match``."""
    from station.roster.match import match as _match

    return _match(store, identity, now, **kw)


__all__ = ["match"]
