"""Dev tool for the hand annotations in ``annotations.json`` (never run by the bench itself).

    python -m bench.faces.annotate propose [ROOT ...]    # proposals for unannotated files
    python -m bench.faces.annotate sheet NAME [OUT.png]  # zoomed eyes/cheeks with a pixel grid
    python -m bench.faces.annotate set NAME eyes=x,y,x,y cheeks=x,y,x,y [chin=x,y] [verified=1]

Proposals come from ``propose.py`` (not from the checker); a person looks at each sheet and
corrects the points. The sheet draws the points on crops enlarged so one source pixel is several
screen pixels, with a labelled grid, so a correction can be read off to a pixel or better.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from bench.faces.sources import default_roots, discover, load_annotations, save_annotations

PROJECT = Path(__file__).resolve().parents[2]


def propose(roots: list[Path]) -> None:
    import cv2

    from bench.faces.propose import blazeface, refine_iris, skin_edges

    notes = load_annotations()
    for src in discover(roots, strict=False):
        if src.kind != "single" or src.name in notes:
            continue
        img = src.bgr()
        faces = blazeface(img)
        entry: dict = {"sha256": src.sha256, "set": src.set, "role": "unannotated",
                       "verified": False}
        if faces:
            grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
            eyes = faces[0]["eyes"]
            iod = math.dist(*eyes)
            eyes = [refine_iris(grey, e, iod) for e in eyes]
            entry["eyes"] = [[round(x, 1), round(y, 1)] for x, y in eyes]
            entry["cheeks"] = [[round(x, 1), round(y, 1)] for x, y in skin_edges(img, eyes)]
        notes[src.name] = entry
        print(src.name, entry.get("eyes"), entry.get("cheeks"), flush=True)
        save_annotations(notes)


def _zoom(img: np.ndarray, centre: tuple[float, float], half: int, k: int,
          points: list[tuple[float, float]], grid: int, hline: float | None = None) -> np.ndarray:
    import cv2

    x0, y0 = int(round(centre[0])) - half, int(round(centre[1])) - half
    pad = cv2.copyMakeBorder(img, half, half, half, half, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    crop = pad[y0 + half:y0 + 3 * half, x0 + half:x0 + 3 * half]
    big = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
    for g in range((x0 // grid) * grid, x0 + 2 * half + 1, grid):
        if g >= x0:
            X = int((g - x0) * k)
            cv2.line(big, (X, 0), (X, big.shape[0]), (0, 255, 255) if g % (grid * 5) == 0 else (0, 160, 0), 1)
            cv2.putText(big, str(g), (X + 2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 255), 1)
    for g in range((y0 // grid) * grid, y0 + 2 * half + 1, grid):
        if g >= y0:
            Y = int((g - y0) * k)
            cv2.line(big, (0, Y), (big.shape[1], Y), (0, 255, 255) if g % (grid * 5) == 0 else (0, 160, 0), 1)
            cv2.putText(big, str(g), (2, Y - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 255), 1)
    if hline is not None:
        Y = int((hline - y0 + 0.5) * k)
        cv2.line(big, (0, Y), (big.shape[1], Y), (255, 0, 255), 1)
    for px, py in points:
        X, Y = int((px - x0 + 0.5) * k), int((py - y0 + 0.5) * k)
        cv2.circle(big, (X, Y), 3, (0, 0, 255), -1)
        cv2.circle(big, (X, Y), 9, (0, 0, 255), 1)
    return big


def _face_panel(img: np.ndarray, src, height: int = 620) -> np.ndarray:
    """The face from brow to chin, enlarged, with the cheekbone row and an x grid every 5 px."""
    import cv2

    iod = src.iod
    mx, my = src.eye_mid
    row_y = my + 0.5 * iod
    x0, x1 = int(mx - 1.45 * iod), int(mx + 1.45 * iod)
    y0, y1 = int(my - 0.9 * iod), int(my + 1.7 * iod)
    pad = max(0, -x0, -y0, x1 - img.shape[1], y1 - img.shape[0]) + 1
    padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    crop = padded[y0 + pad:y1 + pad, x0 + pad:x1 + pad]
    k = height / crop.shape[0]
    big = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
    Y = int((row_y - y0 + 0.5) * k)
    step = 2 if iod < 70 else 5 if iod < 180 else 10
    for g in range((x0 // step) * step, x1 + 1, step):
        if g < x0:
            continue
        X = int((g - x0 + 0.5) * k)
        strong = g % (step * 2) == 0
        cv2.line(big, (X, Y - (12 if strong else 6)), (X, Y + (12 if strong else 6)),
                 (0, 255, 255) if strong else (0, 200, 0), 1)
        if g % (step * 4) == 0:
            cv2.putText(big, str(g), (X - 10, Y - 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
    ya, yb = _row_y(src.eyes, x0), _row_y(src.eyes, x1)
    cv2.line(big, (0, int((ya - y0 + 0.5) * k)), (big.shape[1], int((yb - y0 + 0.5) * k)), (255, 0, 255), 1)
    for px, py in src.cheeks:
        X, Yc = int((px - x0 + 0.5) * k), int((py - y0 + 0.5) * k)
        cv2.line(big, (X, Yc + 4), (X, Yc + 30), (0, 0, 255), 2)
    if src.chin:
        cv2.circle(big, (int((src.chin[0] - x0 + 0.5) * k), int((src.chin[1] - y0 + 0.5) * k)), 4,
                   (0, 0, 255), -1)
    for g in range((y0 // (step * 4)) * step * 4, y1 + 1, step * 4):
        if g >= y0:
            yy = int((g - y0 + 0.5) * k)
            cv2.line(big, (0, yy), (8, yy), (0, 255, 255), 1)
            cv2.putText(big, str(g), (10, yy + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 255), 1)
    return big


def sheet(name: str, out: Path) -> Path:
    import cv2

    src = next(s for s in discover(default_roots(PROJECT), strict=False) if s.name == name)
    img = src.bgr()
    iod = src.iod
    half = max(8, int(0.16 * iod))
    zk = max(2, int(300 / (2 * half)))
    grid = 1 if half <= 12 else 2 if half <= 30 else 5
    eyes = [_zoom(img, e, half, zk, [e], grid) for e in src.eyes]
    right = np.vstack([cv2.copyMakeBorder(e, 0, 4, 0, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255))
                       for e in eyes])
    face = _face_panel(img, src, max(620, right.shape[0]))
    H = max(face.shape[0], right.shape[0])
    panels = [cv2.copyMakeBorder(p, 0, H - p.shape[0], 0, 6, cv2.BORDER_CONSTANT, value=(255, 255, 255))
              for p in (face, right)]
    cv2.imwrite(str(out), np.hstack(panels))
    return out


def _row_y(eyes, x: float) -> float:
    """y of the cheekbone line at ``x``: parallel to the eye line, half an eye distance below it."""
    (lx, ly), (rx, ry) = eyes
    d = math.dist((lx, ly), (rx, ry))
    ux, uy = (rx - lx) / d, (ry - ly) / d
    px, py = (lx + rx) / 2 - 0.5 * d * uy, (ly + ry) / 2 + 0.5 * d * ux
    return round(py + (x - px) * uy / ux, 1)


def set_points(name: str, args: list[str]) -> None:
    notes = load_annotations()
    entry = notes[name]
    for arg in args:
        key, _, value = arg.partition("=")
        if key == "eyes":
            v = [float(x) for x in value.split(",")]
            entry[key] = [[v[0], v[1]], [v[2], v[3]]]
        elif key == "cheeks":  # x_left,x_right on the cheekbone row (or four numbers)
            v = [float(x) for x in value.split(",")]
            if len(v) == 2:
                v = [v[0], _row_y(entry["eyes"], v[0]), v[1], _row_y(entry["eyes"], v[1])]
            entry[key] = [[v[0], v[1]], [v[2], v[3]]]
        elif key == "chin":
            v = [float(x) for x in value.split(",")]
            entry[key] = [v[0], v[1]]
        elif key == "verified":
            entry[key] = value not in ("0", "false", "")
        else:
            entry[key] = value
    notes[name] = entry
    save_annotations(notes)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "propose":
        propose([Path(r) for r in rest] or default_roots(PROJECT))
    elif cmd == "sheet":
        print(sheet(rest[0], Path(rest[1]) if len(rest) > 1 else Path(f"/tmp/sheet-{rest[0]}.png")))
    elif cmd == "set":
        set_points(rest[0], rest[1:])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
