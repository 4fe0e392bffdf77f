"""Proposals for the hand annotations: eye centres and cheek edges, never taken as truth unchecked.

Eyes: MediaPipe's BlazeFace (short range; Apache-2.0, from the same wheel as the segmentation
model) gives coarse eye points; each is then refined to the iris centre by a circular edge search
(Daugman's integro-differential operator on the iris's side arcs, which eyelids rarely cover).
Cheeks: at the cheekbone row (half an eye distance below the eye line), the first pixel outward
from each eye whose colour leaves the face's own skin colour model. A person checks every proposal
on a zoomed sheet (``python -m bench.faces.annotate sheet NAME``) and corrects it in
``annotations.json``; the checker under test is never consulted.
"""

from __future__ import annotations

import math

import numpy as np

DETECTOR_NAME = "face_detection_short_range.tflite"
DETECTOR_SHA256 = "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"
DETECTOR_MEMBER = "mediapipe/modules/face_detection/face_detection_short_range.tflite"


def _anchors() -> np.ndarray:
    out = []
    for stride, per in ((8, 2), (16, 6)):
        n = 128 // stride
        for y in range(n):
            for x in range(n):
                out.extend([((x + 0.5) / n, (y + 0.5) / n)] * per)
    return np.array(out, np.float32)


def blazeface(bgr: np.ndarray) -> list[dict]:
    """Faces as {score, box (x, y, w, h), eyes ((x, y) image-left first)} in image pixels."""
    import cv2
    from ai_edge_litert.interpreter import Interpreter

    from bench.faces.cutout import cache_dir

    h, w = bgr.shape[:2]
    side = max(h, w)
    square = np.zeros((side, side, 3), np.uint8)
    square[:h, :w] = bgr
    rgb = cv2.cvtColor(cv2.resize(square, (128, 128), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    it = Interpreter(model_path=str(cache_dir() / DETECTOR_NAME), num_threads=1)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    it.set_tensor(inp["index"], (rgb.astype(np.float32) / 127.5 - 1.0)[None])
    it.invoke()
    outs = {d["shape"][-1]: it.get_tensor(d["index"])[0] for d in it.get_output_details()}
    reg, cls = outs[16], outs[1][:, 0]
    score = 1 / (1 + np.exp(-np.clip(cls, -100, 100)))
    anchors = _anchors()
    faces = []
    for i in np.argsort(-score):
        if score[i] < 0.5:
            break
        ax, ay = anchors[i]
        cx, cy = reg[i, 0] / 128 + ax, reg[i, 1] / 128 + ay
        bw, bh = reg[i, 2] / 128, reg[i, 3] / 128
        if any(abs(cx - f["c"][0]) < bw / 2 and abs(cy - f["c"][1]) < bh / 2 for f in faces):
            continue
        eyes = sorted(((reg[i, 4 + 2 * k] / 128 + ax) * side, (reg[i, 5 + 2 * k] / 128 + ay) * side)
                      for k in range(2))
        faces.append({"c": (cx, cy), "score": float(score[i]),
                      "box": ((cx - bw / 2) * side, (cy - bh / 2) * side, bw * side, bh * side),
                      "eyes": [tuple(map(float, e)) for e in eyes]})
    return faces


def refine_iris(grey: np.ndarray, guess: tuple[float, float], iod: float) -> tuple[float, float]:
    """Iris centre near ``guess``: the circle whose side arcs show the strongest dark→light step."""
    import cv2

    r_lo, r_hi = 0.06 * iod, 0.13 * iod
    reach = 0.12 * iod
    k = max(1.0, 12.0 / r_lo)           # work with an iris radius of at least ~12 px
    pad = int(r_hi + reach + 4)
    x0, y0 = int(guess[0]) - pad, int(guess[1]) - pad
    crop = grey[max(0, y0):y0 + 2 * pad, max(0, x0):x0 + 2 * pad].astype(np.float32)
    if crop.shape[0] < 2 * pad or crop.shape[1] < 2 * pad:
        return guess
    crop = cv2.GaussianBlur(crop, (0, 0), max(0.6, 0.01 * iod))
    if k > 1:
        crop = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
    angles = np.deg2rad(np.concatenate([np.linspace(-50, 40, 19), np.linspace(140, 230, 19)]))
    radii = np.arange(r_lo, r_hi, 0.5 / k) * k
    best = (-1e9, 0.0, 0.0)
    step = 0.5
    for dy in np.arange(-reach, reach + 1e-6, step):
        for dx in np.arange(-reach, reach + 1e-6, step):
            cx = (guess[0] - x0 + dx) * k
            cy = (guess[1] - y0 + dy) * k
            xs = cx + np.outer(radii, np.cos(angles))
            ys = cy + np.outer(radii, np.sin(angles))
            ring = cv2.remap(crop, xs.astype(np.float32), ys.astype(np.float32), cv2.INTER_LINEAR)
            prof = ring.mean(axis=1)
            d = np.diff(prof)
            j = int(np.argmax(d))
            if d[j] > best[0]:
                best = (float(d[j]), float(dx), float(dy))
    return guess[0] + best[1], guess[1] + best[2]


def skin_edges(bgr: np.ndarray, eyes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Cheek edges at the cheekbone row: where colour leaves the skin sampled under the eyes."""
    import cv2

    (lx, ly), (rx, ry) = eyes
    iod = math.dist(eyes[0], eyes[1])
    my = (ly + ry) / 2
    y = int(round(my + 0.5 * iod))
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab).astype(np.float32)
    samples = []
    for ex in (lx, rx):
        ys = slice(int(my + 0.3 * iod), int(my + 0.55 * iod))
        xs = slice(int(ex - 0.1 * iod), int(ex + 0.1 * iod))
        samples.append(lab[ys, xs].reshape(-1, 3))
    s = np.concatenate(samples)
    mean, std = s.mean(axis=0), s.std(axis=0) + 4.0
    row = lab[max(0, y - 1):y + 2].mean(axis=0)
    z = np.sqrt((((row - mean) / std) ** 2).sum(axis=1))
    out = []
    for start, direction in ((lx, -1), (rx, 1)):
        x = int(start)
        run = 0
        while 0 < x < row.shape[0] - 1 and abs(x - start) < 1.2 * iod:
            run = run + 1 if z[x] > 4.0 else 0
            if run >= 3:
                x -= direction * 2
                break
            x += direction
        out.append((float(x), float(y)))
    return out
