"""Faces and their five landmarks: MTCNN (ONNX, shipped in the mtcnn-runtime wheel) first,
OpenCV's Haar cascade only when MTCNN finds nothing (Haar alone invents faces on jackets)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from station.checks.workers import Stages

Point = tuple[float, float]


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, w, h
    score: float
    eye_left: Point    # the eye on the image's left (the subject's right eye)
    eye_right: Point
    nose: Point
    mouth_left: Point
    mouth_right: Point
    method: str = "mtcnn"

    @property
    def eye_mid(self) -> Point:
        return ((self.eye_left[0] + self.eye_right[0]) / 2, (self.eye_left[1] + self.eye_right[1]) / 2)

    @property
    def iod(self) -> float:
        """Distance between the eye centres."""
        return math.dist(self.eye_left, self.eye_right)

    @property
    def roll_deg(self) -> float:
        dx = self.eye_right[0] - self.eye_left[0]
        dy = self.eye_right[1] - self.eye_left[1]
        return math.degrees(math.atan2(dy, dx))

    def mapped(self, fn) -> Face:
        """This face with every point passed through ``fn((x, y)) -> (x, y)``."""
        x, y, w, h = self.box
        corners = [fn((x, y)), fn((x + w, y + h))]
        box = (corners[0][0], corners[0][1], corners[1][0] - corners[0][0], corners[1][1] - corners[0][1])
        return Face(box, self.score, fn(self.eye_left), fn(self.eye_right), fn(self.nose),
                    fn(self.mouth_left), fn(self.mouth_right), self.method)


_lock = threading.Lock()


@cache
def _mtcnn():
    """One MTCNN whose ONNX sessions use a single thread: the live view shares the CPU."""
    import onnxruntime as ort
    from mtcnnruntime import MTCNN
    from mtcnnruntime import detector as mod

    model = MTCNN()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    try:  # the wheel builds its sessions with default (all-core) threading; swap in single-thread ones
        base = mod.MTCNN._MTCNN__BASE_DIR
        for attr, file in (("_MTCNN__pnet", "pnet.onnx"), ("_MTCNN__rnet", "rnet.onnx"),
                           ("_MTCNN__onet", "onet.onnx")):
            getattr(model, attr)[0] = ort.InferenceSession(f"{base}/{file}", sess_options=opts,
                                                           providers=["CPUExecutionProvider"])
    except (AttributeError, TypeError, IndexError):  # a later wheel laid out differently: keep its own
        pass
    return model


@cache
def cascade(name: str):
    import cv2

    clf = cv2.CascadeClassifier(cv2.data.haarcascades + name)  # type: ignore[attr-defined]
    if clf.empty():
        raise RuntimeError(f"OpenCV Haar cascade {name} is missing (opencv-python < 5 ships it)")
    return clf


# MTCNN's per-stage candidate thresholds: P-Net and R-Net stricter than the wheel's 0.7 pass a
# fifth fewer candidates to the costly later stages, with the same faces found on the real-face
# composites (the final O-Net score is what ``min_score`` judges).
STAGE_THRESHOLDS = [0.8, 0.8, 0.7]


def detect_faces(bgr: np.ndarray, min_face_px: float, min_score: float = 0.9,
                 fallback: bool = True, stages: Stages | None = None) -> list[Face]:
    """Faces at least ``min_face_px`` wide, best first, with landmarks in ``bgr`` coordinates.
    With concurrent ``stages``, MTCNN's first stage looks at two pyramid scales at once."""
    faces = _detect_mtcnn(bgr, min_face_px, min_score, stages)
    if not faces and fallback:
        faces = _detect_haar(bgr, min_face_px)
    return faces


def _detect_mtcnn(bgr: np.ndarray, min_face_px: float, min_score: float,
                  stages: Stages | None = None) -> list[Face]:
    model = _mtcnn()
    size, thresholds = max(12.0, min_face_px), list(STAGE_THRESHOLDS)
    try:
        with _lock:
            if stages is not None and stages.concurrent:
                boxes, marks = _detect_split_pyramid(model, bgr, size, thresholds, stages)
            else:
                boxes, marks = model.detect(bgr, min_face_size=size, thresholds=thresholds)
    except ValueError:  # mtcnn-runtime raises when its first stage finds no candidate at all
        return []
    faces = []
    for b, m in zip(boxes, marks, strict=False):
        if b[4] < min_score or (b[2] - b[0]) < min_face_px * 0.8:
            continue
        pts = [(float(m[i]), float(m[i + 5])) for i in range(5)]
        faces.append(Face((float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])),
                          float(b[4]), pts[0], pts[1], pts[2], pts[3], pts[4]))
    faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
    return faces


PYRAMID_FACTOR = 0.707  # mtcnn-runtime's scale step (√½) from 12 px / min_face_size down to 12 px


def pyramid(shape: tuple[int, ...], min_face_size: float) -> list[float]:
    """The scales of MTCNN's image pyramid, as mtcnn-runtime's ``detect`` makes them."""
    m = 12 / min_face_size
    length = min(shape[:2]) * m
    scales, count = [], 0
    while length > 12:
        scales.append(m * PYRAMID_FACTOR ** count)
        length *= PYRAMID_FACTOR
        count += 1
    return scales


def _detect_split_pyramid(model, bgr: np.ndarray, size: float, thresholds: list[float],
                          stages: Stages):
    """``model.detect`` with P-Net's largest pyramid scale run on another thread beside the rest.

    P-Net looks at each scale on its own (half of MTCNN's time; the largest scale is half of
    that). The wheel's ``detect`` then runs as always, its first-stage step handed the boxes made
    here for each scale (any scale not made here it makes itself): the same boxes, the same faces.
    """
    import cv2

    try:
        first_stage = model._MTCNN__run_first_stage  # the wheel's own P-Net step for one scale
    except AttributeError:  # a later wheel laid out differently: its own detect, in turn
        return model.detect(bgr, min_face_size=size, thresholds=thresholds)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # what detect hands its first stage
    scales = pyramid(rgb.shape, size)
    if len(scales) < 2:
        return model.detect(bgr, min_face_size=size, thresholds=thresholds)
    ahead = stages.submit(first_stage, rgb, scales[0], thresholds[0])
    made = {s: first_stage(rgb, s, thresholds[0]) for s in scales[1:]}
    made[scales[0]] = ahead.result()

    def handed(image, scale, threshold):
        return made[scale] if scale in made else first_stage(image, scale, threshold)

    model._MTCNN__run_first_stage = handed
    try:
        return model.detect(bgr, min_face_size=size, thresholds=thresholds)
    finally:
        del model._MTCNN__run_first_stage


def _detect_haar(bgr: np.ndarray, min_face_px: float) -> list[Face]:
    """Frontal-face cascade with eye positions from typical proportions of its box."""
    import cv2

    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    size = int(max(30, min_face_px))
    found = cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=6, minSize=(size, size))
    faces = []
    for x, y, w, h in found:
        x, y, w, h = float(x), float(y), float(w), float(h)
        faces.append(Face((x, y, w, h), 0.5, (x + 0.32 * w, y + 0.40 * h), (x + 0.68 * w, y + 0.40 * h),
                          (x + 0.5 * w, y + 0.60 * h), (x + 0.36 * w, y + 0.78 * h),
                          (x + 0.64 * w, y + 0.78 * h), method="haar"))
    faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
    return faces


def other_faces(frame: np.ndarray, main: Face, min_share: float, min_score: float = 0.5) -> int:
    """Faces in ``frame`` besides ``main`` found by BlazeFace (a second detector, for counting).

    Only faces beside the student count: at least ``min_share`` of the main face's width, not
    overlapping it, and with their centre no lower than the main face's chin (BlazeFace sees weak
    "faces" in clothing folds further down).
    """
    from station.checks.landmarks import _iou, blazeface

    x, y, w, h = main.box
    width = frame.shape[1]
    count = 0
    for bx, by, bw, bh, _ in blazeface(frame, min_score):
        cx, cy = bx + bw / 2, by + bh / 2
        beside = cx < x - 0.1 * w or cx > x + 1.1 * w
        if bw < min_share * w or cy > y + h or not beside or _iou((bx, by, bw, bh), main.box) > 0.2:
            continue
        if not 0 <= cx <= width:  # mostly outside the photo
            continue
        count += 1
    return count
