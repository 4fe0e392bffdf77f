"""Simulated students who stand in front of the sim camera, some of whose photos must fail.

The demo and the tests need to see the core feature work without a real body: a student with
long hair beside the cheeks (a good photo that must pass), one in a blue top, one whose head is
tilted, one with a shadow cast on the backdrop, one with closed eyes, one in sunglasses. Each look is a set of
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
    Look("sunglasses", {"sunglasses": 0.12}, "glasses_tint"),
)}

# The demo's eligible students, in tap order, who wear these looks (the others are plain): the
# first nine taps of the demo show every look, between the ineligible and off-roster cards.
DEMO_LOOKS = ("plain", "long_hair", "blue_top", "tilted", "shadow", "eyes_closed", "sunglasses")


def demo_looks(id_numbers: list[str]) -> dict[str, str]:
    """ID number → look for the demo's eligible students (deterministic: by position)."""
    return {number: look for number, look in zip(id_numbers, DEMO_LOOKS, strict=False)
            if look != "plain"}


class Stage:
    """The sim camera's frame source: renders whoever stands in front of it (thread-safe).

    In code mode each student who sits down holds up a phone with their 图像采集码 as a QR code
    (``codes``: ID number → code), so the desk's v (read the code from the camera) can be tried;
    they lower it once the desk has the code (:meth:`phone_down`)."""

    def __init__(self, looks: dict[str, str] | None = None,
                 codes: dict[str, str] | None = None) -> None:
        self.looks = dict(looks or {})          # ID number → look name
        self.codes = dict(codes or {})          # ID number → 图像采集码 on the phone
        self._look = "plain"
        self._phone: str | None = None          # the code on the phone held up, if any
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
        """The student with ``id_number`` sits down (their card was tapped); returns the look.
        In code mode they hold up the phone showing their code."""
        look = self.looks.get(id_number, "plain")
        self.step_in(look)
        with self._lock:
            self._phone = self.codes.get(id_number)
        return look

    @property
    def phone(self) -> str | None:
        """The code on the phone held up to the camera now (None: no phone in view)."""
        with self._lock:
            return self._phone

    def phone_down(self) -> None:
        """The desk has the code: the student puts the phone away."""
        with self._lock:
            self._phone = None

    def __call__(self, width: int, height: int, t: float) -> tuple[Any, dict]:
        look = self.look
        with self._lock:
            source = self._sources.get(look)
            if source is None:
                source = self._sources[look] = SwayingPortrait(base=_renderer(look))
        bgr, truth = source(width, height, t)
        truth = dict(truth, look=look)
        code = self.phone
        if code is not None:
            bgr = hold_up_phone(bgr, code)
            truth["phone"] = code
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


def hold_up_phone(frame: Any, code: str) -> Any:
    """A copy of ``frame`` with a phone held up in its lower left corner, its screen showing
    ``code`` as a QR code (a third of the frame's shorter side: readable from the live view)."""
    import cv2
    import numpy as np

    height, width = frame.shape[:2]
    qr = cv2.QRCodeEncoder.create().encode(code)
    module = max(2, min(width, height) // 3 // qr.shape[0])
    qr = cv2.resize(qr, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
    quiet = 4 * module
    qr = cv2.copyMakeBorder(qr, quiet, quiet, quiet, quiet, cv2.BORDER_CONSTANT, value=255)
    size = qr.shape[0]
    bezel = max(4, size // 12)
    out = np.array(frame, copy=True)
    x0, y1 = 8, height - 8
    y0 = max(0, y1 - size - 4 * bezel)
    cv2.rectangle(out, (x0, y0), (x0 + size + 2 * bezel, y1), (30, 30, 30), -1)   # the phone
    top = y0 + 2 * bezel
    out[top:top + size, x0 + bezel:x0 + bezel + size] = cv2.cvtColor(
        qr[:max(0, min(size, height - top))], cv2.COLOR_GRAY2BGR)
    return out
