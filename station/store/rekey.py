"""ID-number corrections (re-keying): which ID number each person's facts now belong to.

Facts are insert-only, so a capture, payment or card read made under a mistyped ID number keeps
that number forever. A correction of the field ``id_number`` (target ``roster_entries``/old number,
the way person-level corrections are keyed) is the one re-keying fact: every derived view asks
here which number an old one now stands for. It travels in bundles like any correction; two
stations re-keying the same number differently are a ``two_corrections`` conflict, and until a
supervisor decides, the latest clock wins (sync.md §6).
"""

from __future__ import annotations

import sqlite3

REKEY_FIELD = "id_number"
PERSON_TABLE = "roster_entries"      # person-level corrections are keyed by the ID number


def rekeys(conn: sqlite3.Connection) -> dict[str, str]:
    """old ID number → the number its facts belong to now, chains followed (a→b→c: a→c).
    A chain that comes back to where it started (a→b, then b→a) undoes itself."""
    direct: dict[str, str] = {}
    for old, new in conn.execute(
            "SELECT target_id, new_value FROM corrections WHERE field = ? AND target_table = ? "
            "AND new_value IS NOT NULL ORDER BY hlc, id", (REKEY_FIELD, PERSON_TABLE)):
        direct[str(old)] = str(new)
    out: dict[str, str] = {}
    for old in direct:
        seen, current = {old}, direct[old]
        while current in direct and current not in seen:
            seen.add(current)
            current = direct[current]
        if current != old:
            out[old] = current
    return out


def resolve(conn: sqlite3.Connection, id_number: str) -> str:
    """The ID number that ``id_number``'s facts belong to now (itself unless re-keyed)."""
    return rekeys(conn).get(id_number, id_number)


def aliases(conn: sqlite3.Connection, id_number: str) -> list[str]:
    """Every ID number whose facts now belong to ``id_number`` (itself first, unless it moved)."""
    moved = rekeys(conn)
    own = [] if id_number in moved else [id_number]
    return own + sorted(old for old, new in moved.items() if new == id_number)


_RECORD_TABLES = ("roster_entries", "card_reads", "captures", "payments")


def has_record(conn: sqlite3.Connection, id_number: str) -> bool:
    """Whether any fact (roster entry, card read, capture, payment) now belongs to ``id_number``."""
    for number in aliases(conn, id_number):
        for table in _RECORD_TABLES:
            if conn.execute(f"SELECT 1 FROM {table} WHERE id_number = ? LIMIT 1", (number,)).fetchone():
                return True
    return False
