"""Dense face landmarks: MediaPipe's face mesh (468 points) and iris models, run by LiteRT.

MTCNN finds and counts faces; its five points are too coarse for a 2° roll limit and it has no
face contour. The face mesh gives the face oval (cheek to cheek, whatever the hair does), eyelids
and lips; the iris model gives sub-pixel eye centres. Both models ship in ``models/`` (Apache-2.0,
from the mediapipe 0.10.14 wheel; see ``models/README.md``) and run offline on one thread.

Each model looks at a square region of interest, rotated so the eyes are level: that rotation is
for measurement only — the export image is never rotated.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.checks.workers import result_here

if TYPE_CHECKING:
    import numpy as np

    from station.checks.detect import Face
    from station.checks.workers import Stages

MODELS = Path(__file__).parent / "models"
# The shipped models and their SHA-256 (see models/README.md); `station doctor` compares them.
MODEL_SHA256 = {
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "iris_landmark.tflite": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
    "face_detection_short_range.tflite": "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "selfie_segmentation.tflite": "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
}
MESH_INPUT = 192
IRIS_INPUT = 64
ROI_SCALE = 1.5        # MediaPipe: the face ROI is 1.5 × the landmarks' (or detection's) box
EYE_ROI_SCALE = 2.3    # MediaPipe: the eye ROI is 2.3 × the eye-corner span
MIN_PRESENCE = 0.5     # face presence score below this: the mesh is not on a face

# Mesh indices (MediaPipe canonical face mesh). "Left" is the image's left (the subject's right).
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
EYE_CORNERS = {"left": (33, 133), "right": (362, 263)}     # outer, inner / inner, outer
EYE_LIDS = {"left": (159, 145), "right": (386, 374)}       # upper, lower lid centres
LIPS_INNER = (13, 14)                                      # upper, lower inner lip centres
MOUTH_CORNERS = (78, 308)                                  # inner mouth corners
CHEEKS = {"left": (117, 118, 101, 36, 205, 207, 187, 123),   # skin under the eye, beside the nose
          "right": (346, 347, 330, 266, 425, 427, 411, 352)}
FACE_SIDES = (234, 454)   # the oval's outermost points at the eyes (image-left, image-right)
NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10


def damaged_models() -> list[str]:
    """Shipped model files that are missing or whose contents differ from the released ones."""
    import hashlib

    bad = []
    for name, digest in MODEL_SHA256.items():
        path = MODELS / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            bad.append(name)
    return bad


@dataclass(frozen=True)
class Roi:
    """A square region of the image: centre, side (px) and the angle (rad) of its x axis."""

    cx: float
    cy: float
    size: float
    angle: float

    def matrix(self, n: int) -> np.ndarray:
        """Affine 2×3 mapping image pixels into an n×n model input."""
        import numpy as np

        k = n / self.size
        c, s = math.cos(self.angle) * k, math.sin(self.angle) * k
        lin = np.array([[c, s], [-s, c]])
        t = np.array([n / 2, n / 2]) - lin @ np.array([self.cx, self.cy])
        return np.hstack([lin, t[:, None]])


def _sample(img: np.ndarray, roi: Roi, n: int, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The n×n RGB float input for ``roi`` and the matrix image → input.

    A large ROI is first halved by Gaussian pyramid steps (a plain warp would alias a 1000 px
    face into 192 px), then warped once.
    """
    import cv2
    import numpy as np

    m = roi.matrix(n)
    shrink = roi.size / n
    src, offset, f = img, np.zeros(2), 1.0
    if shrink > 2.0:  # halve by Gaussian pyramid steps first: a plain warp would alias
        half = roi.size / 2 * (abs(math.cos(roi.angle)) + abs(math.sin(roi.angle))) + 4
        x0, y0 = int(max(0, roi.cx - half)), int(max(0, roi.cy - half))
        x1 = int(min(img.shape[1], roi.cx + half + 1))
        y1 = int(min(img.shape[0], roi.cy + half + 1))
        if x1 - x0 > 8 and y1 - y0 > 8:
            src, offset = img[y0:y1, x0:x1], np.array([x0, y0], float)
            while shrink * f > 2.0 and min(src.shape[:2]) > 16:
                src = cv2.pyrDown(src)
                f *= 0.5
            f = src.shape[1] / (x1 - x0)
    # input = m · image = m · (region / f + offset)
    mm = m.copy()
    mm[:, :2] = m[:, :2] / f
    mm[:, 2] = m[:, 2] + m[:, :2] @ offset
    if flip:
        mm = np.array([[-1.0, 0.0, n], [0.0, 1.0, 0.0]]) @ np.vstack([mm, [0, 0, 1]])
        m = np.array([[-1.0, 0.0, n], [0.0, 1.0, 0.0]]) @ np.vstack([m, [0, 0, 1]])
    read = _ROWS_READ.get()
    if read is not None:
        read.append(rows_sampled(img.shape[0], roi))
    patch = cv2.warpAffine(src, mm, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # channels swapped by OpenCV, not through a reversed view (numpy's cast of that view is
    # element by element: 0.6 ms of a mesh input, against 0.03); the same values
    rgb = cv2.cvtColor(patch, cv2.COLOR_BGR2RGB).astype(np.float32) * np.float32(1.0 / 255.0)
    return rgb[None], m


# Set by ``rows_read``: how many top rows of its image each model input sampled meanwhile read.
_ROWS_READ: ContextVar[list[int] | None] = ContextVar("rows_read", default=None)


@contextmanager
def rows_read() -> Iterator[list[int]]:
    """Collect, for every model input sampled in this thread meanwhile, how many of the image's
    top rows it read. The capture tier runs the mesh on a decode whose lower rows are still
    coming (``pipeline``): its landmarks count only if every row they read was already there."""
    read: list[int] = []
    token = _ROWS_READ.set(read)
    try:
        yield read
    finally:
        _ROWS_READ.reset(token)


def rows_sampled(height: int, roi: Roi) -> int:
    """Top rows of an image ``height`` rows high that ``_sample`` reads for ``roi``: the rotated
    square, the pyramid path's 4 px margin and one row of bilinear neighbours (6 in all); every
    row when the square reaches the bottom edge (the border is replicated from the last row)."""
    half = roi.size / 2 * (abs(math.cos(roi.angle)) + abs(math.sin(roi.angle)))
    bottom = math.floor(roi.cy + half) + 6
    return height if bottom >= height - 1 else max(1, bottom)


def _unmap(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points in model-input coordinates back to image coordinates."""
    import numpy as np

    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    return pts[:, :2] @ inv[:, :2].T + inv[:, 2]


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 for a moment (native libraries write there directly).

    One thread at a time: two models made at once on two threads (a capture's stages) would
    otherwise save each other's /dev/null and leave fd 2 silenced for good — where the desk's
    terminal UI draws (Textual writes to stderr), freezing the screen.
    """
    import os
    import sys

    with _STDERR_LOCK:
        sys.stderr.flush()
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(null)


_STDERR_LOCK = threading.Lock()


class _Model:
    """One LiteRT interpreter on one thread, serialised by a lock (interpreters are not re-entrant)."""

    def __init__(self, file: str) -> None:
        from ai_edge_litert.interpreter import Interpreter

        path = MODELS / file
        if not path.exists():
            raise FileNotFoundError(f"landmark model {path} is missing from the installation")
        with _quiet_stderr():  # LiteRT's C++ side prints "Created … XNNPACK delegate" on fd 2
            self.interpreter = Interpreter(model_path=str(path), num_threads=1)
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.outputs = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}
        self.lock = threading.Lock()

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        with self.lock:
            self.interpreter.set_tensor(self.input, x)
            self.interpreter.invoke()
            return {k: self.interpreter.get_tensor(i).copy() for k, i in self.outputs.items()}


@cache
def _mesh_model(copy: int = 0) -> _Model:
    """The face-mesh model; ``copy`` 1 is a second interpreter, for looks run at the same time."""
    return _Model("face_landmark.tflite")


@cache
def _iris_model(copy: int = 0) -> _Model:
    """The iris model; ``copy`` 1 is a second interpreter, for the other eye at the same time."""
    return _Model("iris_landmark.tflite")


@dataclass(frozen=True)
class Landmarks:
    """Face mesh and irises of one face, in the coordinates of the image they were found in."""

    mesh: Any                    # (468, 2) float
    presence: float              # the mesh model's face score, 0..1
    iris: dict[str, Any] | None  # "left"/"right" → (5, 2): centre and four iris boundary points
    eye_contour: dict[str, Any] | None  # "left"/"right" → (71, 2) eye contour and brow points

    def point(self, i: int) -> tuple[float, float]:
        return float(self.mesh[i, 0]), float(self.mesh[i, 1])

    def eye(self, side: str) -> tuple[float, float]:
        """Eye centre: the iris centre when the iris model ran, else the eye corners' midpoint."""
        if self.iris is not None:
            c = self.iris[side][0]
            return float(c[0]), float(c[1])
        a, b = (self.point(i) for i in EYE_CORNERS[side])
        return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2

    def corners_mid(self, side: str) -> tuple[float, float]:
        a, b = (self.point(i) for i in EYE_CORNERS[side])
        return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2

    @property
    def eye_left(self) -> tuple[float, float]:
        return self.eye("left")

    @property
    def eye_right(self) -> tuple[float, float]:
        return self.eye("right")

    @property
    def iod(self) -> float:
        return math.dist(self.eye_left, self.eye_right)

    @property
    def roll_deg(self) -> float:
        """Angle of the line through both pupils (positive: the image-right eye lower).

        CHSI's review item is the pupils' angle (瞳孔平行角度), so the iris centres decide,
        averaged with the angle of the eye openings (centroids of the iris model's lid contours):
        both look straight ahead together, and their errors are partly independent (on real
        faces the mean's error is a quarter smaller: median 0.31° → 0.23°, worst 1.47° → 1.24°).
        Without the iris model, the eye corners' midpoints (coarser: a mesh point is off by a
        pixel or two on an eye 30 px wide).
        """
        (ax, ay), (bx, by) = self.eye_left, self.eye_right
        pupils = math.degrees(math.atan2(by - ay, bx - ax))
        if self.iris is None or self.eye_contour is None:
            return pupils
        (cx, cy), (dx, dy) = (self.eye_contour[side][0:16].mean(axis=0) for side in ("left", "right"))
        return (pupils + math.degrees(math.atan2(dy - cy, dx - cx))) / 2

    @property
    def turn_deg(self) -> float:
        """How far the head is turned away from the camera (yaw; positive: the nose towards the
        image's right).

        Read from where the nose tip lies between the face outline's two sides, along the eye
        line. On a head taken as a cylinder the outline stays put as it turns while the nose tip,
        on the surface, moves by sin(yaw) of the half-width: a three-quarter view on the
        real-face set reads 42°, the frontal ID photos 0–3°. The mesh's own depth gives nearly the
        same order (it reads about half these angles) but is not kept with the landmarks.
        """
        (ax, ay), (bx, by) = self.eye_left, self.eye_right
        iod = max(math.hypot(bx - ax, by - ay), 1e-3)
        ux, uy = (bx - ax) / iod, (by - ay) / iod
        left, right = (self.point(i) for i in FACE_SIDES)
        nose = self.point(NOSE_TIP)
        span = (right[0] - left[0]) * ux + (right[1] - left[1]) * uy
        if span <= 1e-3:
            return 0.0
        share = ((nose[0] - left[0]) * ux + (nose[1] - left[1]) * uy) / span - 0.5
        return math.degrees(math.asin(max(-1.0, min(1.0, 2 * share))))

    def oval(self) -> np.ndarray:
        return self.mesh[list(FACE_OVAL)]

    def cheek_span(self, row_iod: float) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """Where the face oval crosses the cheek row, ``row_iod`` eye distances below the eyes.

        The row runs parallel to the eye line; returns the two crossings (image-left first).
        """
        import numpy as np

        (ax, ay), (bx, by) = self.eye_left, self.eye_right
        iod = max(math.hypot(bx - ax, by - ay), 1e-3)
        ux, uy = (bx - ax) / iod, (by - ay) / iod        # along the eyes
        mid = np.array([(ax + bx) / 2, (ay + by) / 2])
        rel = self.oval() - mid
        u = rel @ np.array([ux, uy])
        v = rel @ np.array([-uy, ux]) - row_iod * iod    # 0 on the cheek row
        crossings = []
        for i in range(len(u)):
            j = (i + 1) % len(u)
            if (v[i] <= 0 < v[j]) or (v[j] <= 0 < v[i]):
                t = v[i] / (v[i] - v[j])
                crossings.append(u[i] + t * (u[j] - u[i]))
        if len(crossings) < 2:
            return None
        lo, hi = min(crossings), max(crossings)
        base = mid + row_iod * iod * np.array([-uy, ux])
        left = base + lo * np.array([ux, uy])
        right = base + hi * np.array([ux, uy])
        return (float(left[0]), float(left[1])), (float(right[0]), float(right[1]))

    def eye_openness(self, side: str) -> float:
        """Lid gap over eye width: about 0.25–0.35 open, under 0.1 closed."""
        if self.eye_contour is not None:
            return _contour_openness(self.eye_contour[side])
        up, lo = (self.point(i) for i in EYE_LIDS[side])
        a, b = (self.point(i) for i in EYE_CORNERS[side])
        return math.dist(up, lo) / max(math.dist(a, b), 1e-3)

    def mouth_openness(self) -> float:
        """Inner lip gap over mouth width: near 0 closed, above ~0.1 open."""
        up, lo = (self.point(i) for i in LIPS_INNER)
        a, b = (self.point(i) for i in MOUTH_CORNERS)
        return math.dist(up, lo) / max(math.dist(a, b), 1e-3)

    def mapped(self, fn) -> Landmarks:
        """These landmarks with every point passed through ``fn(xy_array) -> xy_array``."""
        iris = {k: fn(v) for k, v in self.iris.items()} if self.iris is not None else None
        contour = ({k: fn(v) for k, v in self.eye_contour.items()}
                   if self.eye_contour is not None else None)
        return Landmarks(fn(self.mesh), self.presence, iris, contour)

    def roi(self) -> Roi:
        """The ROI MediaPipe's tracking would use next: landmarks' box × 1.5, levelled on the eyes."""
        return _roi_from_points(self.mesh, self.point(33), self.point(263))


def _contour_openness(contour: np.ndarray) -> float:
    """Eyelid opening from the iris model's 71-point contour (first 16 points: the lids).

    Points 0–8 run along the lower lid from one corner to the other, 9–15 along the upper lid;
    the opening is the largest vertical gap between the lids over the corner-to-corner width.
    """
    import numpy as np

    lower, upper = contour[0:9], contour[9:16]
    a, b = contour[0], contour[8]
    width = max(float(np.hypot(*(b - a))), 1e-3)
    # distance of every upper-lid point to the lower-lid polyline, measured across the eye axis
    axis = (b - a) / width
    normal = np.array([-axis[1], axis[0]])
    up = (upper - a) @ normal
    lo = np.interp((upper - a) @ axis, (lower - a) @ axis, (lower - a) @ normal)
    return float(np.max(np.abs(up - lo))) / width


def _roi_from_points(pts: np.ndarray, eye_a, eye_b, scale: float = ROI_SCALE) -> Roi:
    """Square ROI around ``pts`` in the frame rotated to level ``eye_a``→``eye_b``."""
    import numpy as np

    angle = math.atan2(eye_b[1] - eye_a[1], eye_b[0] - eye_a[0])
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]])
    q = pts[:, :2] @ rot.T
    lo, hi = q.min(axis=0), q.max(axis=0)
    centre = rot.T @ ((lo + hi) / 2)
    size = float(max(hi - lo)) * scale
    return Roi(float(centre[0]), float(centre[1]), size, angle)


def roi_from_face(face: Face) -> Roi:
    """ROI from an MTCNN detection: its box, levelled on its two eye points, × 1.5."""
    x, y, w, h = face.box
    angle = math.atan2(face.eye_right[1] - face.eye_left[1], face.eye_right[0] - face.eye_left[0])
    return Roi(x + w / 2, y + h / 2, max(w, h) * ROI_SCALE, angle)


def run_mesh(img: np.ndarray, roi: Roi, copy: int = 0) -> tuple[np.ndarray, float]:
    """468 mesh points (image coordinates) and the face presence score for one ROI (``copy``:
    which interpreter, see ``_mesh_model``)."""
    import numpy as np

    x, m = _sample(img, roi, MESH_INPUT)
    out = _mesh_model(copy)(x)
    raw = out["conv2d_21"].reshape(-1, 3)
    logit = float(out["conv2d_31"].reshape(-1)[0])
    presence = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))
    return _unmap(m, raw).astype(np.float64), presence


# Looks at each eye averaged when the roll is near its limit: ROI scale and shift (shares of the
# ROI side). One look moves the iris centre by half a pixel with the sensor noise and the pixel
# grid, enough to read 0.5° on level eyes; the mean of five shifted looks is stable between a
# capture and its own crop (107 real-face camera frames: capture-tier roll vs the crop's re-check
# |diff| p90 0.31° → 0.12°, max 0.54° → 0.22°; vs the truth p90 0.71° → 0.65°).
IRIS_LOOKS: tuple[tuple[float, float, float], ...] = (
    (1.0, 0.0, 0.0), (1.0, 0.04, 0.0), (1.0, -0.04, 0.0), (1.0, 0.0, 0.04), (1.0, 0.0, -0.04))
# degrees: where one look could flip the roll verdict (one look differs from the mean of the looks
# by up to 0.6° on the real-face frames); elsewhere one look decides, which saves ten model runs
REFINE_ROLL = (1.3, 2.7)


def run_iris(img: np.ndarray, mesh: np.ndarray, side: str,
             looks: tuple[tuple[float, float, float], ...] = ((1.0, 0.0, 0.0),),
             copy: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Iris (5 points) and eye contour (71 points) of one eye, image coordinates.

    The model was trained on the image-left eye; the other eye is mirrored into it and back.
    Each look (ROI scale, shift) is one run of the model on the eye; the points are averaged.
    """
    import numpy as np

    a, b = (mesh[i] for i in EYE_CORNERS[side])
    flip = side == "right"
    angle = math.atan2(b[1] - a[1], b[0] - a[0])
    span = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
    centre = (float((a[0] + b[0]) / 2), float((a[1] + b[1]) / 2))
    irises, contours = [], []
    for k, dx, dy in looks:
        size = float(span * EYE_ROI_SCALE * k)
        roi = Roi(centre[0] + dx * size, centre[1] + dy * size, size, angle)
        x, m = _sample(img, roi, IRIS_INPUT, flip=flip)
        out = _iris_model(copy)(x)
        irises.append(_unmap(m, out["output_iris"].reshape(-1, 3)))
        contours.append(_unmap(m, out["output_eyes_contours_and_brows"].reshape(-1, 3)))
    return (np.mean(irises, axis=0).astype(np.float64), np.mean(contours, axis=0).astype(np.float64))


def near_roll_limit(lm: Landmarks) -> bool:
    """Whether the roll is in the band where a fraction of a degree of noise could flip its verdict."""
    return lm.iris is not None and REFINE_ROLL[0] <= abs(lm.roll_deg) <= REFINE_ROLL[1]


def refine_irises(img: np.ndarray, lm: Landmarks, stages: Stages | None = None) -> Landmarks:
    """``lm`` with its irises and eye contours measured again on ``img`` as the mean of
    IRIS_LOOKS. ``img`` is the export frame in both tiers (a capture's rendered frame, a crop
    given to ``station check``), so a crop's re-check reads the roll the capture tier read.
    With concurrent ``stages`` the image-right eye's looks run on another thread (its own
    interpreter, as in ``find_landmarks``): the same points, half the wait."""
    irises, contours = {}, {}
    right = (stages.submit(run_iris, img, lm.mesh, "right", IRIS_LOOKS, 1)
             if stages is not None and stages.concurrent else None)
    irises["left"], contours["left"] = run_iris(img, lm.mesh, "left", IRIS_LOOKS)
    irises["right"], contours["right"] = (result_here(right, run_iris, img, lm.mesh, "right", IRIS_LOOKS, 1)
                                          if right is not None
                                          else run_iris(img, lm.mesh, "right", IRIS_LOOKS))
    return Landmarks(lm.mesh, lm.presence, irises, contours)


def find_landmarks(img: np.ndarray, face: Face | None = None, roi: Roi | None = None, *,
                   iris: bool = True, passes: int = 2, refine: bool = True,
                   stages: Stages | None = None) -> Landmarks | None:
    """Mesh (and irises) of the face found by MTCNN as ``face`` (or inside ``roi``).

    The first pass starts from the detection's box; the second from the first pass's own
    landmarks (as MediaPipe tracks), which centres and levels the face in the model's input.
    With ``refine``, irises near the roll limit are measured again with several looks.
    Returns None when the mesh model does not see a face there.
    """
    if roi is None:
        if face is None:
            raise ValueError("find_landmarks needs a face or an roi")
        roi = roi_from_face(face)
    mesh, presence = run_mesh(img, roi)
    for _ in range(passes - 1):
        if presence < MIN_PRESENCE:
            break
        again = _roi_from_points(mesh, mesh[33], mesh[263])
        moved = math.hypot(again.cx - roi.cx, again.cy - roi.cy) / roi.size
        if moved < 0.02 and abs(again.size / roi.size - 1) < 0.04 and abs(again.angle - roi.angle) < 0.02:
            break  # the face already sits where the model wants it: another pass changes nothing
        roi = again
        mesh, presence = run_mesh(img, roi)
    if presence < MIN_PRESENCE:
        return None
    if not iris:
        return Landmarks(mesh, presence, None, None)
    irises, contours = {}, {}
    # with concurrent stages the image-right eye on another thread (its own interpreter)
    right = (stages.submit(run_iris, img, mesh, "right", ((1.0, 0.0, 0.0),), 1)
             if stages is not None and stages.concurrent else None)
    irises["left"], contours["left"] = run_iris(img, mesh, "left")
    irises["right"], contours["right"] = (result_here(right, run_iris, img, mesh, "right", ((1.0, 0.0, 0.0),), 1)
                                          if right is not None else run_iris(img, mesh, "right"))
    found = Landmarks(mesh, presence, irises, contours)
    if refine and near_roll_limit(found):
        found = refine_irises(img, found, stages)
    return found


def precise_face(face: Face, lm: Landmarks) -> Face:
    """The detection with its five coarse points replaced by the landmark models' (eyes: irises)."""
    from station.checks.detect import Face

    return Face(face.box, face.score, lm.eye_left, lm.eye_right, lm.point(NOSE_TIP),
                lm.point(61), lm.point(291), method="mesh")


@cache
def _blazeface_model() -> _Model:
    return _Model("face_detection_short_range.tflite")


@cache
def _blazeface_anchors():
    """MediaPipe's short-range SSD anchors: 16×16 cells × 2 and 8×8 cells × 6 (centres, 0..1);
    built once (a millisecond of Python per call otherwise), never written to."""
    import numpy as np

    out = []
    for cells, per in ((16, 2), (8, 6)):
        for y in range(cells):
            for x in range(cells):
                out.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * per)
    anchors = np.array(out, np.float32)
    anchors.setflags(write=False)
    return anchors


BLAZEFACE_INPUT = 128


def _square_input(img: np.ndarray, side: int, n: int) -> np.ndarray:
    """RGB n×n: ``img`` padded with black to a ``side`` square (top left), INTER_AREA resized.

    When ``side`` is a whole multiple of n and so are both sides of ``img`` (the 480×640 export
    frame: 5×), every output pixel is the mean of its own k×k block, so only ``img``'s blocks
    are averaged and the padding's are left black: the same pixels without making the square.
    """
    import cv2
    import numpy as np

    h, w = img.shape[:2]
    k = side // n
    if side % n == 0 and h % k == 0 and w % k == 0 and k > 1:
        out = np.zeros((n, n, 3), np.uint8)
        small = cv2.resize(img, (w // k, h // k), interpolation=cv2.INTER_AREA)
        cv2.cvtColor(small, cv2.COLOR_BGR2RGB, dst=out[: h // k, : w // k])
        return out
    square = np.zeros((side, side, 3), np.uint8)
    square[:h, :w] = img
    return cv2.cvtColor(cv2.resize(square, (n, n), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


def blazeface(img: np.ndarray, min_score: float = 0.6) -> list[tuple[float, float, float, float, float]]:
    """Faces (x, y, w, h, score) in ``img`` from BlazeFace short range, after non-maximum suppression.

    A second, independent detector for counting faces in the export frame: MTCNN misses a face
    half hidden behind the student's head, which BlazeFace (trained on close, partial faces) sees.
    """
    import numpy as np

    h, w = img.shape[:2]
    side = max(h, w)
    rgb = _square_input(img, side, BLAZEFACE_INPUT)
    out = _blazeface_model()(((rgb.astype(np.float32) / 127.5) - 1.0)[None])
    raw = out["regressors"].reshape(-1, 16)
    logits = np.clip(out["classificators"].reshape(-1), -80, 80)
    scores = 1.0 / (1.0 + np.exp(-logits))
    anchors = _blazeface_anchors()
    keep = scores >= min_score
    if not keep.any():
        return []
    cx = raw[keep, 0] / 128.0 + anchors[keep, 0]
    cy = raw[keep, 1] / 128.0 + anchors[keep, 1]
    bw, bh = raw[keep, 2] / 128.0, raw[keep, 3] / 128.0
    boxes = np.stack([(cx - bw / 2) * side, (cy - bh / 2) * side, bw * side, bh * side], axis=1)
    order = np.argsort(-scores[keep])
    chosen: list[tuple[float, float, float, float, float]] = []
    for i in order:
        box = boxes[i]
        if all(_iou(box, c[:4]) < 0.3 for c in chosen):
            chosen.append((float(box[0]), float(box[1]), float(box[2]), float(box[3]),
                           float(scores[keep][i])))
    return chosen


def _iou(a, b) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0
