"""Simulated students who stand in front of the sim camera, some of whose photos must fail.

The demo and the tests need to see the core feature work without a real body: a student with
long hair beside the cheeks (a good photo that must pass), one in a blue top, one whose head is
tilted, one with a shadow cast on the backdrop, one with closed eyes. Each look is a set of
``station.sim.portrait.render`` parameters and the check named for it. A :class:`Stage` is the sim
camera's frame source: whoever "steps in" is what the camera sees, live view and capture alike.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from station.sim.frames import SwayingPortrait


@dataclass(frozen=True)
class Look:
    name: str
    params: dict[str, Any]
    fails: str | None          # the check named for it; None: the photo must pass

    def label(self) -> str:
        """What the demo says about this student (``sim.look.<name>`` in the catalog)."""
        from station.i18n import t

        return t(f"sim.look.{self.name}")


LOOKS: dict[str, Look] = {look.name: look for look in (
    Look("plain", {}, None),
    Look("long_hair", {"hair": "long"}, None),
    Look("blue_top", {"shirt": (96, 190, 250)}, "clothing_contrast"),
    Look("tilted", {"roll": 5.0}, "roll"),
    Look("shadow", {"shadow": 0.55}, "backdrop_shadow"),
    Look("eyes_closed", {"eyes_closed": True}, "eyes_open"),
)}

# The demo's eligible students, in tap order, who wear these looks (the others are plain): the
# first eight taps of the demo show every look, between the ineligible and off-roster cards.
DEMO_LOOKS = ("plain", "long_hair", "blue_top", "tilted", "shadow", "eyes_closed")


def demo_looks(id_numbers: list[str]) -> dict[str, str]:
    """ID number → look for the demo's eligible students (deterministic: by position)."""
    return {number: look for number, look in zip(id_numbers, DEMO_LOOKS, strict=False)
            if look != "plain"}


class Stage:
    """The sim camera's frame source: renders whoever stands in front of it (thread-safe)."""

    def __init__(self, looks: dict[str, str] | None = None) -> None:
        self.looks = dict(looks or {})          # ID number → look name
        self._look = "plain"
        self._lock = threading.Lock()
        self._sources: dict[str, SwayingPortrait] = {}
        self.last_truth: dict[tuple[int, int], dict] = {}   # per frame size: tests read a capture's truth

    @property
    def look(self) -> str:
        with self._lock:
            return self._look

    def step_in(self, look: str) -> None:
        if look not in LOOKS:
            raise ValueError(f"unknown look {look!r}; one of {', '.join(LOOKS)}")
        with self._lock:
            self._look = look

    def step_in_for(self, id_number: str) -> str:
        """The student with ``id_number`` sits down (their card was tapped); returns the look."""
        look = self.looks.get(id_number, "plain")
        self.step_in(look)
        return look

    def __call__(self, width: int, height: int, t: float) -> tuple[Any, dict]:
        look = self.look
        with self._lock:
            source = self._sources.get(look)
            if source is None:
                source = self._sources[look] = SwayingPortrait(base=_renderer(look))
        bgr, truth = source(width, height, t)
        truth = dict(truth, look=look)
        with self._lock:
            self.last_truth[(width, height)] = truth
        return bgr, truth


def _renderer(look: str):
    params = LOOKS[look].params

    def base(width: int, height: int) -> tuple[Any, dict]:
        from station.sim.portrait import render

        bgr, truth = render(width, height, **params)
        return bgr, dict(truth, source="station.sim.portrait")

    return base
