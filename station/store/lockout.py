"""PIN attempts per operator name, kept in the store so a lock-out holds across processes.

Five wrong PINs in a row lock the name for a minute; every further wrong PIN after a lock-out
locks it again for twice as long (2, 4, 8 … minutes, at most a day). While locked, a PIN is not
even checked. A right PIN clears the count; so does a supervisor setting a new PIN or unlocking.

With 6-digit PINs this leaves an online guesser about 20 tries a day out of a million; the
offline threat (a copy of the database) is met by Argon2id and by longer PINs. Unknown names are
counted like real ones, so the lock-out does not tell which names exist.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

MAX_FAILURES = 5
BASE_LOCK_MS = 60_000
MAX_LOCK_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Attempts:
    failures: int = 0
    lockouts: int = 0
    locked_until_ms: int = 0

    def wait_ms(self, now_ms: int) -> int:
        """How long the name stays locked from ``now_ms`` (0: not locked)."""
        return max(0, self.locked_until_ms - now_ms)

    @property
    def left_before_lock(self) -> int:
        return max(0, MAX_FAILURES - self.failures)


def read(conn: sqlite3.Connection, name: str) -> Attempts:
    try:
        row = conn.execute("SELECT failures, lockouts, locked_until_ms FROM auth_attempts "
                           "WHERE name = ?", (name,)).fetchone()
    except sqlite3.OperationalError:  # a read-only store from before the lock-out existed
        return Attempts()
    return Attempts(int(row[0]), int(row[1]), int(row[2])) if row else Attempts()


def lock_ms(lockouts: int) -> int:
    """Length of the ``lockouts``-th lock-out: 1 min, doubling, at most a day."""
    return int(min(MAX_LOCK_MS, BASE_LOCK_MS * 2 ** max(0, lockouts - 1)))


def fail(conn: sqlite3.Connection, name: str, now_ms: int) -> Attempts:
    """Count a wrong PIN (inside the caller's write transaction); locks when due."""
    before = read(conn, name)
    failures = before.failures + 1
    lockouts, until = before.lockouts, before.locked_until_ms
    if failures >= MAX_FAILURES:
        lockouts += 1
        until = now_ms + lock_ms(lockouts)
    conn.execute(
        "INSERT INTO auth_attempts (name, failures, lockouts, locked_until_ms, last_failure_ms) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET failures = excluded.failures, "
        "lockouts = excluded.lockouts, locked_until_ms = excluded.locked_until_ms, "
        "last_failure_ms = excluded.last_failure_ms",
        (name, failures, lockouts, until, now_ms))
    return Attempts(failures, lockouts, until)


def clear(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM auth_attempts WHERE name = ?", (name,))
