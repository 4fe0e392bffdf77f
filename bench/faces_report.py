"""Accuracy report on real face photographs (evaluation only; the folder is never committed).

    python -m bench.faces_report --faces /work/shared/faces [--json]

Expects ``single/`` (one real face each), ``multi/`` (two or more) and ``none/`` (no face), and
optionally ``SOURCES.tsv`` whose notes mark plain-background (ID-like) photos. Reports:
- detection rate: exactly one face on single, ≥ 2 on multi, none on none;
- eye-position error: MTCNN eyes against an independent Haar eye detector (share of eye distance);
- crop consistency: every single photo framed and encoded as the export (even if it fails), then
  re-checked as an export photo: head top / eye line / face width re-measured against what the
  capture check said (px), and whether the verdicts agree; how many sources were too tight
  (no room above/around the head, so the framing had to move) and caused head-top failures;
- false failures: on plain-background single photos, with the station calibrated to that photo's
  own backdrop (as calibration would), which checks still fail — as they are, and padded with
  their backdrop colour above and beside (most are crops too tight for CHSI framing).
Run by ``python -m bench`` it reads ``STATION_FACES_DIR`` and skips when that is unset.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from collections import Counter
from pathlib import Path

PLAIN_WORDS = ("plain background", "grey background", "white background", "blue background",
               "blue studio", "blue backdrop", "sky-blue", "id-like", "black background")


def _plain_names(faces: Path) -> set[str]:
    sources = faces / "SOURCES.tsv"
    if not sources.exists():
        return set()
    names = set()
    for line in sources.read_text("utf-8").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) >= 6 and any(w in cols[5].lower() for w in PLAIN_WORDS):
            names.add(cols[0])
    return names


def _haar_eyes(img, face) -> list[tuple[float, float]] | None:
    """Eye centres from OpenCV's eye cascade in the upper half of the MTCNN box."""
    import cv2

    from station.checks.detect import cascade

    x, y, w, h = (int(v) for v in face.box)
    x, y = max(0, x), max(0, y)
    roi = cv2.cvtColor(img[y:y + h // 2 + h // 8, x:x + w], cv2.COLOR_BGR2GRAY)
    if roi.size == 0:
        return None
    found = cascade("haarcascade_eye.xml").detectMultiScale(roi, 1.1, 5, minSize=(max(8, w // 8),) * 2)
    if len(found) < 2:
        return None
    found = sorted(found, key=lambda r: r[2] * r[3], reverse=True)[:2]
    pts = sorted((x + ex + ew / 2, y + ey + eh / 2) for ex, ey, ew, eh in found)
    return pts


def _self_calibration(img, profile):
    """A calibration made from the photo's own upper corners, as a station calibrates its backdrop."""
    import numpy as np

    from station.checks.calibration import Calibration
    from station.checks.framing import to_lab

    h, w = img.shape[:2]
    patch = np.concatenate([img[: h // 6, : w // 8].reshape(-1, 3), img[: h // 6, -w // 8:].reshape(-1, 3)])
    rgb = np.median(patch, axis=0)[::-1]
    lab = np.median(to_lab(patch.reshape(-1, 1, 3)).reshape(-1, 3), axis=0)
    return Calibration(profile.name, tuple(int(c) for c in rgb), tuple(float(c) for c in lab), None, "")


def _padded(img):
    """Extend a tight crop: its backdrop colour above and beside, its last rows below (room to frame)."""
    import cv2
    import numpy as np

    h, w = img.shape[:2]
    patch = np.concatenate([img[: h // 6, : w // 8].reshape(-1, 3), img[: h // 6, -w // 8:].reshape(-1, 3)])
    colour = [int(c) for c in np.median(patch, axis=0)]
    top, side = int(0.5 * h), int(0.4 * w)
    img = cv2.copyMakeBorder(img, 0, int(0.5 * h), 0, 0, cv2.BORDER_REPLICATE)  # clothes go on
    return cv2.copyMakeBorder(img, top, 0, side, side, cv2.BORDER_CONSTANT, value=colour)


def run(faces: Path) -> dict:
    from station.checks import load_profile
    from station.checks.detect import detect_faces
    from station.checks.imageio import encode_jpeg, open_source
    from station.checks.pipeline import analyse

    profile = load_profile("chsi")
    plain = _plain_names(faces)
    out: dict = {"images": {}, "detection": {}, "rows": []}
    eye_err, geo_err = [], {"head_top": [], "eye_line": [], "face_width": []}
    fail_all, fail_plain, fail_padded = Counter(), Counter(), Counter()
    padded_pass = 0
    crops = crops_pass = plain_total = plain_pass = tight = tight_head = 0
    for kind in ("single", "multi", "none"):
        files = sorted(p for p in (faces / kind).glob("*") if p.is_file())
        hits = 0
        for path in files:
            result = analyse(path, profile)
            n = result.report.geometry.get("face_count", 0)
            ok = (n == 1) if kind == "single" else (n >= 2) if kind == "multi" else (n == 0)
            hits += ok
            row = {"image": f"{kind}/{path.name}", "faces": n, "ok": ok, "failed": result.report.failed()}
            if kind == "single" and result.measurements and result.measurements.face:
                src = open_source(path)
                img = src.decode(1)
                found = detect_faces(img, 0.05 * img.shape[1], profile.detector.min_score)
                if found:
                    haar = _haar_eyes(img, found[0])
                    if haar:
                        f = found[0]
                        e = (math.dist(f.eye_left, haar[0]) + math.dist(f.eye_right, haar[1])) / 2 / f.iod
                        eye_err.append(e)
                        row["eye_error_iod"] = round(e, 3)
                for name in result.report.failed():
                    fail_all[name] += 1
                if result.framing is not None and result.framing.clamped:
                    tight += 1  # no room around the head in the source: framing had to move
                    if "head_top" in result.report.failed():
                        tight_head += 1
                if result.frame is not None:
                    # encode even when checks fail: what matters here is re-measuring the geometry
                    data = encode_jpeg(result.frame, profile)
                    report = result.report
                    crops += 1
                    again = analyse(data, profile)
                    same = set(again.report.failed()) - {"resolution"} == set(report.failed()) - {"resolution"}
                    crops_pass += same
                    g0, g1 = report.geometry, again.report.geometry
                    if g1.get("face_count"):
                        ey0 = (g0["eye_left"][1] + g0["eye_right"][1]) / 2
                        ey1 = (g1["eye_left"][1] + g1["eye_right"][1]) / 2
                        geo_err["eye_line"].append(abs(ey1 - ey0))
                        for key, gk in (("head_top", "head_top_y"), ("face_width", "face_width")):
                            if g0.get(gk) is not None and g1.get(gk) is not None:
                                geo_err[key].append(abs(g1[gk] - g0[gk]))
                if f"{kind}/{path.name}" in plain:
                    plain_total += 1
                    cal = _self_calibration(src.decode(1), profile)
                    r2 = analyse(path, profile, cal).report
                    plain_pass += r2.passed
                    row["plain_failed"] = r2.failed()
                    for name in r2.failed():
                        fail_plain[name] += 1
                    # the same photo with room around the head, as a loosely framed station shot
                    r3 = analyse(_padded(src.decode(1)), profile, cal).report
                    padded_pass += r3.passed
                    row["padded_failed"] = r3.failed()
                    for name in r3.failed():
                        fail_padded[name] += 1
            out["rows"].append(row)
        out["images"][kind] = len(files)
        out["detection"][kind] = {"correct": hits, "rate": round(hits / len(files), 3) if files else None}
    out["eye_error_vs_haar_iod"] = _stats(eye_err)
    out["crop"] = {"crops_made": crops, "recheck_same_verdicts": crops_pass,
                   "source_too_tight": tight, "head_top_failures_from_tight_source": tight_head,
                   "recheck_error_px": {k: _stats(v) for k, v in geo_err.items()}}
    out["single_failures_by_check"] = dict(fail_all.most_common())
    out["plain_background"] = {"images": plain_total, "passed_with_own_calibration": plain_pass,
                               "failures_by_check": dict(fail_plain.most_common()),
                               "padded_passed": padded_pass,
                               "padded_failures_by_check": dict(fail_padded.most_common())}
    return out


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    values = sorted(values)
    return {"n": len(values), "median": round(statistics.median(values), 3),
            "p90": round(values[int(0.9 * (len(values) - 1))], 3), "max": round(values[-1], 3)}


def main() -> dict:
    faces = os.environ.get("STATION_FACES_DIR")
    if not faces or not Path(faces).is_dir():
        print("   skipped: set STATION_FACES_DIR to a folder with single/ multi/ none/")
        return {"skipped": "STATION_FACES_DIR not set"}
    result = run(Path(faces))
    result.pop("rows")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, required=True)
    parser.add_argument("--rows", action="store_true", help="also print one row per image")
    ns = parser.parse_args()
    report = run(ns.faces)
    if not ns.rows:
        report.pop("rows")
    json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
