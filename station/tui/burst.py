"""Telling a person's key presses from a keyboard-wedge scanner's burst (the desk in code mode).

A scanner types a whole code in a few milliseconds; nobody types two keys 40 ms apart. In code
mode the desk holds each letter key that long: if another printable key follows within the gap,
the keys are a burst (a scanned code, which must never press "a" for accept or "s" for skip);
otherwise the held key does what it always does. Enter or Tab, or a pause, ends a burst.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GAP = 0.04          # seconds: faster than anyone types, slower than any scanner's characters
BURST_END = 0.15    # seconds without a character: the burst is over
MIN_CODE = 4        # characters: shorter bursts are key mashing, not a code


@dataclass
class BurstGuard:
    """State of the desk's key stream: a held key, or a burst being collected."""

    held: tuple[str, str] | None = None   # (key, character) held back until GAP has passed
    held_at: float = 0.0
    burst: list[str] = field(default_factory=list)

    @property
    def collecting(self) -> bool:
        return bool(self.burst)

    def printable(self, key: str, char: str, now: float) -> str:
        """A printable key arrived: ``"burst"`` (part of one), ``"hold"`` (wait and see), or
        ``"release+hold"`` (the held key was a person's: act on it, hold this one)."""
        if self.burst:
            self.burst.append(char)
            return "burst"
        if self.held is not None and now - self.held_at <= GAP:
            self.burst = [self.held[1], char]
            self.held = None
            return "burst"
        verdict = "release+hold" if self.held is not None else "hold"
        self.held, self.held_at = (key, char), now
        return verdict

    def take_held(self) -> tuple[str, str] | None:
        held, self.held = self.held, None
        return held

    def end_burst(self) -> str | None:
        """The collected burst as a code, or None when it was too short to be one."""
        text, self.burst = "".join(self.burst), []
        return text if len(text) >= MIN_CODE else None
