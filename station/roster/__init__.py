"""Roster and schedule: import (``importer``, ``schedule``), eligibility, and matching a card to
the roster (``match``).

``station.roster.match`` is the *function* (the contract); it is bound here eagerly, after its
submodule has loaded, so that importing ``station.roster.match`` elsewhere cannot shadow it with
the module object. ``from station.roster.match import match`` works as well.
"""

from __future__ import annotations

from station.roster.match import FLAGS, Flag, Match, match

__all__ = ["FLAGS", "Flag", "Match", "match"]
