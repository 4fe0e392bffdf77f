"""Capture speed on the real-face 24 MP frames: check + crop + encode against ``cv2.imread``.

``python -m bench checks`` times rendered camera JPEGs; these frames are people the checker was
not tuned on, framed as the bench's large families frame them (half the landscape ones need the
finer decode for their crop). Each frame is timed as a station repeats one framing: one capture
first (the pipeline times its speculative steps on the last capture of the same frame size),
then rounds of ``cv2.imread`` of the same file and the capture, interleaved, so both see the same
machine load. A frame's figure is the median of its rounds' ratios.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from pathlib import Path
from typing import Any

GOAL = 0.7  # the goal: ≤ 0.7 × one full-resolution cv2.imread of the same file


def large_frame_speed(frames: list[tuple[str, Path]], profile: Any, rounds: int) -> dict[str, Any]:
    """Per frame (case id, JPEG file), the median ratio of ``check_and_crop`` to ``cv2.imread``
    over ``rounds`` interleaved rounds; their median, p90 and share at most ``GOAL``, by kind."""
    if not frames or rounds < 1:
        return {"frames": 0}
    import cv2
    from PIL import Image

    from station.checks import pipeline

    ratios: dict[str, list[float]] = {}
    per_frame: dict[str, float] = {}
    for case_id, path in frames:
        _capture(path, profile)  # the station's last capture of this framing
        rounds_seen = []
        for _ in range(rounds):
            started = time.perf_counter()
            cv2.imread(str(path))
            imread = time.perf_counter() - started
            started = time.perf_counter()
            _capture(path, profile)
            rounds_seen.append((time.perf_counter() - started) / imread)
        ratio = statistics.median(rounds_seen)
        per_frame[case_id] = round(ratio, 3)
        with Image.open(path) as im:
            w, h = im.size
        finer = pipeline._NEEDED_FINER.get((w, h))  # what this frame's own capture needed
        kind = "portrait" if h > w else "landscape, crop from a finer decode" if finer else "landscape"
        ratios.setdefault(kind, []).append(ratio)
    every = [r for v in ratios.values() for r in v]
    out = _figures(every)
    out.update(rounds=rounds, goal=GOAL, load_average=[round(x, 2) for x in os.getloadavg()],
               by_kind={k: _figures(v) for k, v in sorted(ratios.items())}, per_frame=per_frame)
    return out


def _capture(path: Path, profile: Any) -> None:
    from station.checks import check_and_crop
    from station.checks.errors import CropError

    # a refused frame is timed all the same: the photographer waited for it
    with contextlib.suppress(CropError):
        check_and_crop(path, profile)


def _figures(ratios: list[float]) -> dict[str, Any]:
    v = sorted(ratios)
    return {"frames": len(v), "median": round(statistics.median(v), 3),
            "p90": round(v[min(len(v) - 1, int(0.9 * len(v)))], 3),
            "share_at_most_goal": round(sum(1 for r in v if r <= GOAL) / len(v), 2)}
