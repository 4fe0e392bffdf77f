"""The pairwise non-maximum suppression keeps exactly what mtcnn-runtime's own keeps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from station.checks.nms import LARGEST, make_nms, pairwise_nms


def wheel_nms(boxes, overlap_threshold=0.5, mode="union"):
    from mtcnnruntime import detector as mod

    original = getattr(mod.nms, "wheel_nms", mod.nms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # its own division by a zero area
        return [int(i) for i in original(boxes, overlap_threshold, mode)]


def random_boxes(rng, n: int, *, whole: bool, ties: bool) -> np.ndarray:
    centres = rng.uniform(0, 300, (n, 2))
    sides = rng.uniform(5, 80, (n, 1))
    if whole:  # whole-pixel boxes, as the stages round them: equal overlaps
        centres, sides = np.round(centres), np.round(sides)
    scores = rng.uniform(0.8, 1.0, (n, 1))
    if ties:
        scores = np.round(scores, 2)
    return np.hstack([centres - sides / 2, centres + sides / 2, scores])


@pytest.mark.parametrize(("mode", "threshold"), [("union", 0.5), ("union", 0.6), ("union", 0.7),
                                                  ("min", 0.7)])
def test_the_same_picks_in_the_same_order_as_the_wheel(mode, threshold):
    rng = np.random.default_rng(7)
    for trial in range(600):
        boxes = random_boxes(rng, int(rng.integers(1, LARGEST)), whole=trial % 2 == 0,
                             ties=trial % 3 == 0)
        if trial % 5 == 0:  # repeated boxes: equal scores, complete overlaps
            boxes = np.vstack([boxes, boxes[: len(boxes) // 2]])[:LARGEST]
        assert pairwise_nms(boxes, threshold, mode) == wheel_nms(boxes, threshold, mode), trial


def test_unusual_boxes_get_the_wheels_answer_too():
    rng = np.random.default_rng(11)
    boxes = random_boxes(rng, 40, whole=False, ties=False)
    as_float32 = boxes.astype(np.float32)
    assert pairwise_nms(as_float32, 0.5, "union") == wheel_nms(as_float32, 0.5, "union")
    flat = boxes.copy()
    flat[3, 2] = flat[3, 0] - 1.0  # no width: a zero area, the wheel divides by zero
    flat[5, 3] = flat[5, 1] - 1.0
    assert pairwise_nms(flat, 0.5, "min") == wheel_nms(flat, 0.5, "min")
    holed = boxes.copy()
    holed[7, 1] = np.nan
    assert pairwise_nms(holed, 0.5, "union") == wheel_nms(holed, 0.5, "union")
    assert pairwise_nms(boxes[:0], 0.5, "union") == []


def test_many_boxes_and_unknown_modes_go_to_the_wheel():
    calls = []

    def wheel(boxes, overlap_threshold=0.5, mode="union"):
        calls.append((len(boxes), mode))
        return [0]

    nms = make_nms(wheel)
    rng = np.random.default_rng(3)
    few = random_boxes(rng, 10, whole=False, ties=False)
    many = random_boxes(rng, LARGEST + 1, whole=False, ties=False)
    assert nms(few, 0.5) == pairwise_nms(few, 0.5, "union")
    assert calls == []
    assert nms(many, 0.5) == [0] and nms(few, 0.5, "max") == [0]
    assert calls == [(LARGEST + 1, "union"), (10, "max")]


def test_the_detector_uses_it_and_finds_the_same_faces(good_capture):
    from mtcnnruntime import detector as mod

    from station.checks import detect

    img, _ = good_capture
    detect._mtcnn()
    assert hasattr(mod.nms, "wheel_nms")  # installed once, not wrapped twice
    fast = detect._detect_mtcnn(img, 40.0, 0.9)
    patched = mod.nms
    mod.nms = patched.wheel_nms
    try:
        plain = detect._detect_mtcnn(img, 40.0, 0.9)
    finally:
        mod.nms = patched
    assert fast and fast == plain
