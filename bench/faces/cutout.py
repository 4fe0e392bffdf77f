"""Cut a person out of a photograph: a soft alpha matte, computed offline.

A coarse person mask comes from MediaPipe's selfie segmentation model (Apache-2.0, taken from the
``mediapipe`` wheel at dev time; see ``model_path``), run under LiteRT. GrabCut then snaps it to
the photo's own edges at a working resolution, and a guided filter carries the edge back to full
resolution as a soft matte (hair strands partly transparent). Only the component that holds the
annotated face is kept. The matte is cached per source (keyed by the file's SHA-256 and
``VERSION``) so reruns are fast; nothing here is part of the station.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

VERSION = 2                         # bump when the method changes: cached mattes are redone
MODEL_NAME = "selfie_segmentation.tflite"
MODEL_SHA256 = "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"
MODEL_WHEEL = "mediapipe==0.10.14"  # the wheel that carries it (Apache-2.0)
MODEL_MEMBER = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
WORK_SIDE = 900                     # GrabCut runs at about this long side


def cache_dir() -> Path:
    root = os.environ.get("STATION_BENCH_CACHE") or Path.home() / ".cache" / "capture-station-bench"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def model_path() -> Path:
    return cache_dir() / MODEL_NAME


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_model() -> Path:
    """Take the segmentation model out of the mediapipe wheel (pip download, no install)."""
    target = model_path()
    if target.exists() and _sha256(target) == MODEL_SHA256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                        MODEL_WHEEL], check=True)
        wheel = next(Path(tmp).glob("mediapipe-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MODEL_MEMBER)
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise RuntimeError(f"{MODEL_MEMBER} from {MODEL_WHEEL} has an unexpected SHA-256")
    target.write_bytes(data)
    return target


class MissingModel(RuntimeError):
    pass


def _interpreter():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise MissingModel("the bench needs LiteRT: pip install -e '.[bench]'") from exc
    path = model_path()
    if not path.exists() or _sha256(path) != MODEL_SHA256:
        raise MissingModel(f"segmentation model missing: run `python -m bench faces --fetch-model` "
                           f"(extracts {MODEL_NAME} from the {MODEL_WHEEL} wheel into {path.parent})")
    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    return it


def person_probability(bgr: np.ndarray) -> np.ndarray:
    """Per-pixel person probability (float32, image size) from the selfie segmentation model."""
    import cv2

    it = _interpreter()
    inp = it.get_input_details()[0]
    _, h, w, _ = inp["shape"]
    rgb = cv2.cvtColor(cv2.resize(bgr, (int(w), int(h)), interpolation=cv2.INTER_AREA),
                       cv2.COLOR_BGR2RGB)
    it.set_tensor(inp["index"], (rgb.astype(np.float32) / 255.0)[None])
    it.invoke()
    prob = it.get_tensor(it.get_output_details()[0]["index"])[0, :, :, 0]
    return cv2.resize(prob.astype(np.float32), (bgr.shape[1], bgr.shape[0]),
                      interpolation=cv2.INTER_LINEAR)


def _guided(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter (grey guide): an edge-following upsampling of a matte."""
    import cv2

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1))

    mean_i, mean_p = box(guide), box(src)
    cov = box(guide * src) - mean_i * mean_p
    var = box(guide * guide) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def matte(bgr: np.ndarray, face_xy: tuple[float, float]) -> np.ndarray:
    """Soft alpha (float32 0..1) of the person whose face is at ``face_xy``."""
    import cv2

    h, w = bgr.shape[:2]
    prob = person_probability(bgr)
    k = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(bgr, (int(w * k), int(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else bgr
    p = cv2.resize(prob, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    mask = np.full(p.shape, cv2.GC_PR_BGD, np.uint8)
    mask[p > 0.5] = cv2.GC_PR_FGD
    ker = np.ones((5, 5), np.uint8)
    mask[cv2.erode((p > 0.95).astype(np.uint8), ker, iterations=3) > 0] = cv2.GC_FGD
    mask[cv2.dilate((p > 0.05).astype(np.uint8), ker, iterations=4) == 0] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(7)
    cv2.grabCut(small, mask, None, bgd, fgd, 4, cv2.GC_INIT_WITH_MASK)
    hard = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    hard = _keep_face_component(hard, (face_xy[0] * k, face_xy[1] * k))
    hard = _fill_holes(hard)
    coarse = cv2.resize(hard.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    r = max(2, int(round(2.0 / k)))
    alpha = _guided(grey, coarse, r, 1e-3)
    alpha = np.clip(alpha, 0.0, 1.0)
    # nothing far from the hard mask may come back through the filter
    near = cv2.dilate((coarse > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=r)
    alpha[near == 0] = 0.0
    return alpha.astype(np.float32)


def _keep_face_component(hard: np.ndarray, face_xy: tuple[float, float]) -> np.ndarray:
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(hard)
    if n <= 1:
        return hard
    x = int(min(max(face_xy[0], 0), hard.shape[1] - 1))
    y = int(min(max(face_xy[1], 0), hard.shape[0] - 1))
    label = labels[y, x]
    if label == 0:
        label = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == label).astype(np.uint8)


def _fill_holes(hard: np.ndarray) -> np.ndarray:
    """Background the border cannot reach (between arm and body it can) stays; enclosed holes fill."""
    import cv2

    h, w = hard.shape
    outside = np.zeros((h + 2, w + 2), np.uint8)
    holes = (hard == 0).astype(np.uint8)
    for seed in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
        if holes[seed[1], seed[0]] == 1:
            cv2.floodFill(holes, outside, seed, 2)
    small_holes = holes == 1
    n, labels, stats, _ = cv2.connectedComponentsWithStats(small_holes.astype(np.uint8))
    out = hard.copy()
    limit = 0.002 * h * w
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < limit:
            out[labels == i] = 1
    return out


def cached_matte(bgr: np.ndarray, sha256: str, face_xy: tuple[float, float]) -> np.ndarray:
    import cv2

    path = cache_dir() / f"matte-v{VERSION}-{sha256[:16]}.png"
    if path.exists():
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is not None and img.shape[:2] == bgr.shape[:2]:
            return img.astype(np.float32) / 255.0
    stored = np.round(matte(bgr, face_xy) * 255).astype(np.uint8)
    tmp = path.with_suffix(".tmp.png")
    cv2.imwrite(str(tmp), stored)
    tmp.replace(path)
    # the matte as a later run reads it back: the first run on a machine gives the same figures
    # (it used the unrounded matte, and every case's values moved by up to a pixel or so)
    return stored.astype(np.float32) / 255.0
