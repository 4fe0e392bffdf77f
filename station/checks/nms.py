"""MTCNN's non-maximum suppression with every overlap computed at once.

mtcnn-runtime's ``nms`` makes a dozen numpy calls for every box it keeps: about 0.25 ms a call
on the few boxes a pyramid level or a stage holds, eleven calls a capture, most of them after the
decode and all of them holding the interpreter lock. Here the overlaps of every pair come from
the same numpy operations on the same operands in the same order (``x2 - x1 + 1.0``, max, min,
the product, the quotient: exact per element, so the same numbers), in one go; the greedy walk
then only reads them. The same picks, in the same order (checked by the tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

LARGEST = 128  # boxes at most for the pairwise table (beyond it the wheel's own rounds)


def make_nms(wheel_nms: Callable[..., Any]) -> Callable[..., Any]:
    """An ``nms`` with the wheel's signature and picks; more than ``LARGEST`` boxes (or a mode
    it does not know) go to ``wheel_nms`` itself."""

    def nms(boxes: np.ndarray, overlap_threshold: float = 0.5, mode: str = "union") -> list[Any]:
        if len(boxes) > LARGEST or mode not in ("union", "min"):
            return wheel_nms(boxes, overlap_threshold, mode)
        return pairwise_nms(boxes, overlap_threshold, mode)

    nms.wheel_nms = wheel_nms  # type: ignore[attr-defined]
    return nms


def pairwise_nms(boxes: np.ndarray, overlap_threshold: float, mode: str) -> list[int]:
    """Indices of the rows of ``boxes`` (x1, y1, x2, y2, score, ...) kept, best first: the box of
    highest score left is kept and every box left that overlaps it more than the threshold
    (intersection over union, or over the smaller box with ``mode="min"``) is dropped."""
    import numpy as np

    if len(boxes) == 0:
        return []
    x1, y1, x2, y2, score = (boxes[:, i] for i in range(5))
    area = (x2 - x1 + 1.0) * (y2 - y1 + 1.0)
    # row i, column j: what the wheel computes for box i kept against box j still left
    w = np.maximum(0.0, np.minimum(x2[:, None], x2[None, :]) - np.maximum(x1[:, None], x1[None, :]) + 1.0)
    h = np.maximum(0.0, np.minimum(y2[:, None], y2[None, :]) - np.maximum(y1[:, None], y1[None, :]) + 1.0)
    inter = w * h
    with np.errstate(divide="ignore", invalid="ignore"):  # a box of no area: the same inf/nan
        if mode == "min":
            overlap = inter / np.minimum(area[:, None], area[None, :])
        else:
            overlap = inter / (area[:, None] + area[None, :] - inter)
    drops = (overlap > overlap_threshold).tolist()
    left = np.argsort(score).tolist()  # the wheel's order, ties included (increasing score)
    picks: list[int] = []
    while left:
        i = left.pop()
        picks.append(i)
        row = drops[i]
        left = [j for j in left if not row[j]]
    return picks
