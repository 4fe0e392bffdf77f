"""The camera engine's sense of time, injectable: the real monotonic clock, or a manual one.

The owner thread only ever asks two things of time: *what time is it* and *sleep until this much
later, unless woken*. With :class:`ManualClock` a test moves time forward itself and waits until
the owner thread is idle again, so back-off and frame-rate behaviour is checked exactly, in no
real seconds, on a machine under any load.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

# Deadlines within a microsecond count as reached (float sums of seconds are not exact).
SLACK_S = 1e-6


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    def wait(self, wake: threading.Event, timeout: float) -> bool:
        """Block until ``wake`` is set or ``timeout`` seconds have passed; True if woken."""
        ...


class MonotonicClock:
    """Real time (``time.monotonic``)."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, wake: threading.Event, timeout: float) -> bool:
        return wake.wait(max(0.0, timeout))


class ManualClock:
    """Time that moves only when a test calls :meth:`advance`.

    A thread in :meth:`wait` sleeps until its deadline is reached by ``advance`` or its event is
    set. :meth:`settle` returns once every such thread is back asleep (it has done all the work
    the new time allowed), so a test can advance in steps and look at the result of each.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._cond = threading.Condition()
        self._sleepers: dict[int, float] = {}     # thread id → the deadline it sleeps until

    def now(self) -> float:
        with self._cond:
            return self._now

    def wait(self, wake: threading.Event, timeout: float) -> bool:
        me = threading.get_ident()
        with self._cond:
            deadline = self._now + max(0.0, timeout)
            self._sleepers[me] = deadline
            self._cond.notify_all()
            try:
                while not wake.is_set() and self._now < deadline - SLACK_S:
                    # re-check the event now and then: set() on it does not notify us
                    self._cond.wait(0.005)
            finally:
                del self._sleepers[me]
                self._cond.notify_all()
            return wake.is_set()

    def advance(self, seconds: float) -> None:
        with self._cond:
            self._now += seconds
            self._cond.notify_all()

    def settle(self, sleepers: int = 1, timeout: float = 30.0) -> None:
        """Wait (in real time, at most ``timeout``) until ``sleepers`` threads sleep on a
        deadline still ahead; TimeoutError if they never do (a test can then fail clearly)."""
        end = time.monotonic() + timeout
        with self._cond:
            while sum(1 for d in self._sleepers.values() if d - SLACK_S > self._now) < sleepers:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the clock's threads never went back to sleep")
                self._cond.wait(min(left, 0.05))
