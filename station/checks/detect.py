"""Faces and their five landmarks: MTCNN (ONNX, shipped in the mtcnn-runtime wheel) first,
OpenCV's Haar cascade only when MTCNN finds nothing (Haar alone invents faces on jackets)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

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


def min_face_px(shape: tuple[int, ...], share: float) -> float:
    """The smallest face looked for in an image of ``shape``: ``share`` of its long side.

    The long side, not the width: the same camera at the same distance then looks for the same
    faces whichever way it is turned. Of the width, a portrait frame was searched for faces two
    thirds the size a landscape one was, on a pyramid 2.25 times the pixels (MTCNN's first stage
    costs as the pixels of its largest level): 25 ms more CPU per 24 MP portrait capture.
    """
    return share * max(shape[:2])


@cache
def _mtcnn():
    """One MTCNN whose ONNX sessions use a single thread: the live view shares the CPU."""
    import onnxruntime as ort
    from mtcnnruntime import MTCNN
    from mtcnnruntime import detector as mod

    from station.checks.nms import make_nms

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
    if callable(getattr(mod, "nms", None)) and not hasattr(mod.nms, "wheel_nms"):
        # the same picks as the wheel's non-maximum suppression, a fraction of its time
        # (``station.checks.nms``); its detect and our first stage both look the name up there
        mod.nms = make_nms(mod.nms)
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
                 fallback: bool = True, stages: Stages | None = None,
                 first: FirstStage | None = None) -> list[Face]:
    """Faces at least ``min_face_px`` wide, best first, with landmarks in ``bgr`` coordinates.
    With concurrent ``stages``, MTCNN's first stage looks at two pyramid scales at once; with
    ``first`` fed all of ``bgr``'s rows, its boxes were made while ``bgr`` was being made."""
    faces = _detect_mtcnn(bgr, min_face_px, min_score, stages, first)
    if not faces and fallback:
        faces = _detect_haar(bgr, min_face_px)
    return faces


def _detect_mtcnn(bgr: np.ndarray, min_face_px: float, min_score: float,
                  stages: Stages | None = None, first: FirstStage | None = None, *,
                  partial: bool = False) -> list[Face]:
    model = _mtcnn()
    size, thresholds = max(12.0, min_face_px), list(STAGE_THRESHOLDS)
    made = None
    if first is not None:
        made = first.partial_boxes(size) if partial else first.boxes(bgr, size)
        if partial and made is None:
            return []
    try:
        with _lock:
            if made is not None or (stages is not None and stages.concurrent):
                boxes, marks = _detect_split_pyramid(model, bgr, size, thresholds, stages, made,
                                                     first.memo if made is not None and first else None)
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
                          stages: Stages | None, made: dict[float, Any] | None = None,
                          memo: tuple[dict, dict] | None = None):
    """``model.detect`` with P-Net's largest pyramid scale run on another thread beside the rest
    (or every scale's boxes ``made`` already, by a ``FirstStage``; R-Net's and O-Net's outputs
    for the candidates it looked at already kept in its ``memo``).

    P-Net looks at each scale on its own (half of MTCNN's time; the largest scale is half of
    that). The wheel's ``detect`` then runs as always, its first-stage step handed the boxes made
    here for each scale (any scale not made here it makes itself): the same boxes, the same faces.
    """
    import cv2

    try:
        first_stage = model._MTCNN__run_first_stage  # the wheel's own P-Net step for one scale
    except AttributeError:  # a later wheel laid out differently: its own detect, in turn
        return model.detect(bgr, min_face_size=size, thresholds=thresholds)
    if made is None:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # what detect hands its first stage
        scales = pyramid(rgb.shape, size)
        if len(scales) < 2 or stages is None:
            return model.detect(bgr, min_face_size=size, thresholds=thresholds)
        ahead = stages.submit(first_stage, rgb, scales[0], thresholds[0])
        made = {s: first_stage(rgb, s, thresholds[0]) for s in scales[1:]}
        made[scales[0]] = ahead.result()

    def handed(image, scale, threshold):
        return made[scale] if scale in made else first_stage(image, scale, threshold)

    nets = (model._MTCNN__rnet, model._MTCNN__onet)
    sessions = [net[0] for net in nets]
    model._MTCNN__run_first_stage = handed
    try:
        if stages is not None and stages.concurrent:
            for net in nets:
                net[0] = _Shared(net[0], stages)
        if memo is not None:
            for net, kept in zip(nets, memo, strict=True):
                net[0] = _Remembered(net[0], kept)
        return model.detect(bgr, min_face_size=size, thresholds=thresholds)
    finally:
        del model._MTCNN__run_first_stage
        for net, session in zip(nets, sessions, strict=True):
            net[0] = session


class _Shared:
    """An ONNX session whose batches (R-Net's and O-Net's candidate boxes) are looked at half on
    another thread, half on this one: each row's outputs do not depend on the other rows of the
    batch (checked by the tests), so the joined outputs are those of one look."""

    def __init__(self, session: Any, stages: Stages) -> None:
        self.session, self.stages = session, stages

    def run(self, outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        import numpy as np

        ((name, x),) = feeds.items()
        half = len(x) // 2
        if half == 0:
            return self.session.run(outputs, feeds)
        from station.checks.workers import result_here

        first = {name: x[:half]}
        aside = self.stages.submit(self.session.run, outputs, first)
        rest = self.session.run(outputs, {name: x[half:]})
        made = result_here(aside, self.session.run, outputs, first)
        return [np.concatenate(parts) for parts in zip(made, rest, strict=True)]


class _Remembered:
    """An ONNX session whose outputs are kept per input row, for R-Net and O-Net: each looks at
    every candidate box on its own (a row's outputs do not depend on the other rows of the batch:
    checked by the tests), so a candidate looked at ahead of the decode's end, on the same
    pixels, is not looked at again. Keyed by the input's bytes: other pixels, another look."""

    def __init__(self, session: Any, kept: dict[tuple, tuple]) -> None:
        self.session, self.kept = session, kept

    def run(self, outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        import numpy as np

        ((name, x),) = feeds.items()
        if len(x) == 0:
            return self.session.run(outputs, feeds)
        keys = [(tuple(outputs), row.tobytes()) for row in x]
        new = [i for i, key in enumerate(keys) if key not in self.kept]
        if new:
            made = self.session.run(outputs, {name: x[new]})
            for j, i in enumerate(new):
                self.kept[keys[i]] = tuple(o[j] for o in made)
        return [np.stack([self.kept[key][n] for key in keys]) for n in range(len(outputs))]


class FirstStage:
    """MTCNN's first stage (P-Net on every pyramid scale of the detection image) made while that
    image is still being made, row strip by row strip (``feed``), as the capture's decode streams.

    Each pyramid level is the wheel's own resize of the whole image: its rows whose source rows
    are final are final. P-Net is convolutional (12-row window, stride 2), so its output rows
    over a strip of a level starting on an even row are the whole level's rows (checked by the
    tests); the wheel's own box step then runs on the joined outputs. ``boxes`` hands them to
    ``detect`` only when every row was fed and the image and face size are the ones asked for.
    """

    MIN_ROWS = 32  # level rows per P-Net strip at least: each strip re-reads 10 rows above it
    # (and costs a P-Net run: the small levels wait for a guess or the last rows)

    def __init__(self, min_face_share: float, threshold: float = STAGE_THRESHOLDS[0],
                 stages: Stages | None = None) -> None:
        self.min_face_share = min_face_share
        self.threshold = threshold
        self.stages = stages  # concurrent: the decode's thread takes part of the last strips
        self.shape: tuple[int, ...] | None = None
        self.rows = 0
        self._levels: list[_Level] = []
        self.memo: tuple[dict, dict] = ({}, {})  # R-Net's and O-Net's outputs per input (``guess``)

    def feed(self, bgr: np.ndarray, rows: int) -> None:
        """``bgr``'s rows above ``rows`` are final (the rows below may still change)."""
        import cv2
        import numpy as np

        from station.checks.workers import result_here

        if self.shape is None:
            self.shape = bgr.shape
            self._rgb = np.empty(bgr.shape, np.uint8)
            self.size = max(12.0, min_face_px(bgr.shape, self.min_face_share))
            self._levels = [_Level(s, bgr.shape) for s in pyramid(bgr.shape, self.size)]
        if rows <= self.rows:
            return
        cv2.cvtColor(bgr[self.rows:rows], cv2.COLOR_BGR2RGB, dst=self._rgb[self.rows:rows])
        self.rows = rows
        if rows >= bgr.shape[0] and self.stages is not None and self.stages.concurrent:
            # the image is complete (its decode has ended, its thread is free): the levels' last
            # strips in two shares of about the same size, one on that thread
            aside: list[_Level] = []
            here: list[_Level] = []
            for level in sorted(self._levels, key=_Level.left, reverse=True):
                lighter = min(aside, here, key=lambda share: sum(lv.left() for lv in share))
                lighter.append(level)
            done = self.stages.submit(_advance, aside, self._rgb, rows, self.MIN_ROWS,
                                      self.threshold)
            _advance(here, self._rgb, rows, self.MIN_ROWS, self.threshold)
            result_here(done, _advance, aside, self._rgb, rows, self.MIN_ROWS, self.threshold)
            return
        _advance(self._levels, self._rgb, rows, self.MIN_ROWS)

    def boxes(self, bgr: np.ndarray, size: float) -> dict[float, Any] | None:
        """Per scale, what the wheel's first-stage step gives for ``bgr`` (None: not all fed)."""
        if self.shape != bgr.shape or self.rows < bgr.shape[0] or size != self.size:
            return None
        made = {level.scale: level.result(self.threshold) for level in self._levels}
        return None if any(v is _UNMADE for v in made.values()) else made

    def partial_boxes(self, size: float) -> dict[float, Any] | None:
        """Per scale, the first stage's boxes from the rows fed so far (None: other face size)."""
        if self.shape is None or size != self.size:
            return None
        return {level.scale: level.result(self.threshold, partial=True) for level in self._levels}

    def covered(self, smallest: float = 0.0, largest: float = math.inf) -> float:
        """Rows of the image P-Net has looked at so far on every scale that finds faces from
        ``smallest`` to ``largest`` pixels (a scale's 12-pixel window) (all rows: infinity)."""
        return min((level.covered() for level in self._levels
                    if smallest <= 12 / level.scale <= largest), default=0.0)

    def guess(self, bgr: np.ndarray, min_face_px: float, min_score: float) -> list[Face]:
        """The faces ``detect_faces`` would find if the image ended at the rows fed so far (the
        rows below hold no face: zeros). Its R-Net and O-Net looks are kept (``memo``), so the
        detection on the whole image looks again only at candidates this one did not see."""
        if self.shape is not None:  # every level up to the rows fed (coarse ones wait for this)
            _advance(self._levels, self._rgb, self.rows, 12)
        return _detect_mtcnn(bgr, min_face_px, min_score, first=self, partial=True)


_UNMADE = object()


def _advance(levels: list[_Level], rgb: np.ndarray, rows: int, min_rows: int,
             threshold: float | None = None) -> None:
    """Each level up to ``rows``; with a ``threshold``, the boxes of each level made complete."""
    for level in levels:
        level.advance(rgb, rows, min_rows)
        if threshold is not None and level.complete:
            level.result(threshold)


class _Level:
    """One pyramid level of a ``FirstStage``: P-Net's output rows made so far."""

    def __init__(self, scale: float, shape: tuple[int, ...]) -> None:
        import numpy as np

        h, w = shape[:2]
        self.scale = scale
        self.sw, self.sh = math.ceil(w * scale), math.ceil(h * scale)
        # a level row reads source rows near (row + 0.5) × h / sh: two more are kept in reserve
        self._needs = np.floor((np.arange(self.sh) + 1.0) * h / self.sh).astype(int) + 2
        self._height, self._width = h, w
        self.done = 0  # output rows made
        self.complete = False
        self._parts: list[list[np.ndarray]] = [[], []]
        self._boxes: tuple[float, Any] | None = None  # (threshold, boxes) once complete

    def advance(self, rgb: np.ndarray, rows: int, min_rows: int) -> None:
        import cv2
        import numpy as np
        from mtcnnruntime.detector import _preprocess

        if self.complete:
            return
        final = rows >= self._height
        ready = self.sh if final else int(np.searchsorted(self._needs, rows, side="right"))
        top = 2 * self.done
        if not final and ready - top < max(12, min_rows):
            return
        if final:  # the last strip reaches the level's bottom: at least 12 rows (even start)
            top = min(top, (self.sh - 12) // 2 * 2)
            level = cv2.resize(rgb, (self.sw, self.sh))  # the wheel's own step (INTER_LINEAR)
        else:  # the rows read so far only: resized at the level's own scale factors, a top band
            # gives the whole image's rows down to those its last rows read (checked by the tests)
            band = rgb[: self._needs[ready - 1]]
            level = cv2.resize(band, (0, 0), fx=self.sw / self._width, fy=self.sh / self._height)
        x = _preprocess(np.asarray(level[top:ready], "float32"))
        session, name, outputs = _mtcnn()._MTCNN__pnet
        out = session.run(outputs, {name: x})
        skip = self.done - top // 2  # rows the last strip made again
        n = out[1].shape[2] - skip if final else (ready - top - 12) // 2 + 1
        for part, o in zip(self._parts, out, strict=True):
            part.append(o[:, :, skip:skip + n])
        self.done += n
        self.complete = final

    def left(self) -> int:
        """Output pixels of this level P-Net has still to look at (its share of the work)."""
        return 0 if self.complete else (self.sh - 2 * self.done) * self.sw

    def covered(self) -> float:
        """Source rows under the P-Net windows made so far (a window: 12 level rows, stride 2)."""
        if self.complete:
            return math.inf
        return 0.0 if self.done == 0 else (2 * self.done + 10) * self._height / self.sh

    def result(self, threshold: float, partial: bool = False) -> Any:
        """The wheel's first-stage step on the joined P-Net outputs (``_UNMADE`` if incomplete;
        with ``partial``, on the outputs made so far)."""
        import numpy as np
        from mtcnnruntime import detector as mod

        if not self.complete and not (partial and self.done):
            return _UNMADE if not partial else None
        if self.complete and self._boxes is not None and self._boxes[0] == threshold:
            return self._boxes[1]
        offsets, probs = (np.concatenate(p, axis=2) for p in self._parts)
        boxes = mod._generate_bboxes(probs[0, 1, :, :], offsets, self.scale, threshold)
        kept = None if len(boxes) == 0 else boxes[mod.nms(boxes[:, 0:5], overlap_threshold=0.5)]
        if self.complete:
            self._boxes = (threshold, kept)  # made once (the detection copies what it takes)
        return kept


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
