"""Run the station's checker on every case and score it against the truth the case was built with.

The checker is used as the station uses it (``station.checks.pipeline.analyse`` on the JPEG bytes,
default CHSI profile, no calibration); only its verdicts, its reported geometry and the crop
framing it chose are read. Truth points are mapped into the export frame through that framing, so
"eye error" is where the checker says the eyes are in the exported photo against where they are.
"""

from __future__ import annotations

import math
import numbers
import statistics
import time
from collections import Counter, defaultdict
from typing import Any

from bench.faces.cases import EXPORT, FAMILIES, SECOND, Case

TARGETS = {"false_failure_pct_max": 5.0, "family_catch_pct_min": 95.0, "eye_error_median_px_max": 2.0,
           "cheek_width_error_median_px_max": 8.0, "large_frame_crop_pct_min": 95.0}
PUBLISHED = {"head_top": (50, 110), "eye_line": (200, 300), "face_width": (180, 300)}
CENTRE_LIMIT = 24.0
ROLL_LIMIT = 2.0


def _map(framing: Any, p) -> tuple[float, float]:
    if framing is None:
        return float(p[0]), float(p[1])
    return framing.point(p)


def named_status(rep: Any, named: str | None) -> str | None:
    """The status of the check named for a family; with alternatives ("a|b") the worst of them."""
    if not named:
        return None
    found = [rep.status(n) for n in named.split("|")]
    for status in ("fail", "warn", "pass"):
        if status in found:
            return status
    return None


def score_case(case: Case, data: bytes, truth: dict[str, Any], profile: Any) -> dict[str, Any]:
    from station.checks.pipeline import analyse

    started = time.perf_counter()
    result = analyse(data, profile, None, name=case.id)
    elapsed = (time.perf_counter() - started) * 1000
    rep = result.report
    row: dict[str, Any] = {"id": case.id, "family": case.family, "source": case.source,
                           "frame": case.frame, "named": case.named, "expect": case.expect,
                           "passed": rep.passed, "failed": rep.failed(), "warned": rep.warned(),
                           "named_status": named_status(rep, case.named),
                           "ms": round(elapsed, 1), "params": case.params}
    # every check's status, value and limit, and the raw measures behind them: how close the
    # good photos come to each limit (the margin audit) is read from these
    row["checks"] = {c.name: [c.status, _plain(c.value), _plain(c.limit)] for c in rep.checks}
    if result.measurements is not None:
        row["values"] = {k: _plain(v) for k, v in result.measurements.values.items()
                         if isinstance(v, numbers.Real)}
    if case.named and len(case.named.split("|")) > 1:
        row["named_statuses"] = {n: rep.status(n) for n in case.named.split("|")}
    for check, key in (("facing", "turn_deg"), ("glasses_tint", "under_eye")):
        found = next((c for c in rep.checks if c.name == check), None)
        if found is not None:
            row[key] = found.value
    if case.named and "face_count" in case.named.split("|"):
        row["faces_reported"] = rep.geometry.get("face_count")
    student = truth.get("student")
    g = rep.geometry
    if student and truth.get("faces") and g.get("eye_left") is not None:
        framing = result.framing if case.frame != "export" else None
        t_eyes = sorted([_map(framing, student["eye_left"]), _map(framing, student["eye_right"])])
        r_eyes = sorted([tuple(g["eye_left"]), tuple(g["eye_right"])])
        row["eye_error_px"] = [round(math.dist(a, b), 2) for a, b in zip(t_eyes, r_eyes, strict=True)]
        scale = result.framing.scale if (framing is not None and result.framing) else 1.0
        t_fw = student["face_width"] / scale
        if g.get("face_width") is not None:
            row["cheek_width_error_px"] = round(g["face_width"] - t_fw, 1)
        row["truth_face_width"] = round(t_fw, 1)
        if student.get("head_top_y") is not None:
            t_top = _map(framing, (student["face_centre_x"], student["head_top_y"]))[1]
            row["truth_head_top"] = round(t_top, 1)
            if g.get("head_top_y") is not None:
                row["head_top_error_px"] = round(g["head_top_y"] - t_top, 1)
        t_centre = _map(framing, (student["face_centre_x"], student["eye_mid"][1]))[0] - EXPORT[0] / 2
        centring = next((c for c in rep.checks if c.name == "centring"), None)
        if centring is not None and isinstance(centring.value, (int, float)):
            row["centre_error_px"] = round(float(centring.value) - t_centre, 1)
        (lx, ly), (rx, ry) = t_eyes
        t_roll = math.degrees(math.atan2(ry - ly, rx - lx))
        row["truth_roll_export"] = round(t_roll, 2)
        row["rotated_deg"] = round(t_roll - student["roll_deg"], 2)
        if g.get("roll_deg") is not None:
            row["roll_error_deg"] = round(g["roll_deg"] - student["roll_deg"], 2)
        eye_line = (ly + ry) / 2
        row["truth_compliant_crop"] = bool(
            student.get("head_top_y") is not None
            and PUBLISHED["head_top"][0] <= row.get("truth_head_top", -1) <= PUBLISHED["head_top"][1]
            and PUBLISHED["eye_line"][0] <= eye_line <= PUBLISHED["eye_line"][1]
            and PUBLISHED["face_width"][0] <= t_fw <= PUBLISHED["face_width"][1]
            and abs(t_centre) <= CENTRE_LIMIT and abs(row["rotated_deg"]) < 0.05
            and abs(t_roll) <= ROLL_LIMIT)
    return row


def _plain(value: Any) -> Any:
    """A check's value or limit as JSON holds it (numbers rounded, tuples as lists)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Real):
        return round(float(value), 4)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d else None


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    v = sorted(abs(x) for x in values)
    return {"n": len(v), "median": round(statistics.median(v), 2),
            "p90": round(v[min(len(v) - 1, int(math.ceil(0.9 * len(v))) - 1)], 2), "max": round(v[-1], 2)}


def _false_failures(goods: list[dict[str, Any]]) -> dict[str, Any]:
    fails = [r for r in goods if not r["passed"]]
    by_check = Counter(c for r in fails for c in r["failed"])
    by_frame: dict[str, dict[str, Any]] = {}
    for frame in sorted({r["family"] for r in goods}):
        sel = [r for r in goods if r["family"] == frame]
        bad = [r for r in sel if not r["passed"]]
        by_frame[frame] = {"cases": len(sel), "failed": len(bad), "pct": _pct(len(bad), len(sel))}
    asia = [r for r in goods if r.get("asia")]
    return {"cases": len(goods), "false_failures": len(fails), "pct": _pct(len(fails), len(goods)),
            "east_asian_cases": len(asia),
            "east_asian_false_failures": sum(1 for r in asia if not r["passed"]),
            "east_asian_pct": _pct(sum(1 for r in asia if not r["passed"]), len(asia)),
            "by_check": dict(by_check.most_common()), "by_family": by_frame}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    goods = [r for r in rows if r["family"].startswith("good_") or r["family"] == "tilt_small"]
    fails = [r for r in goods if not r["passed"]]
    second = [r for r in rows if r["family"].startswith(SECOND + "_")]
    out: dict[str, Any] = {"good": _false_failures(goods)}
    if second:
        out["second_set"] = _false_failures(second)
    fam: dict[str, Any] = {}
    for name, (named, _, expect) in FAMILIES.items():
        if expect != "fail":
            continue
        sel = [r for r in rows if r["family"] == name]
        if not sel:
            continue
        caught = sum(1 for r in sel if r["named_status"] == "fail")
        warned = sum(1 for r in sel if r["named_status"] == "warn")
        anyfail = sum(1 for r in sel if not r["passed"])
        fam[name] = {"check": named, "cases": len(sel), "caught": caught, "pct": _pct(caught, len(sel)),
                     "warned_only": warned, "refused_by_any_check": anyfail}
        if named and "|" in named:  # each alternative's own share
            fam[name]["by_check"] = {n: sum(1 for r in sel if r.get("named_statuses", {}).get(n) == "fail")
                                     for n in named.split("|")}
    out["families"] = fam
    geo = [r for r in goods if "eye_error_px" in r]
    out["geometry_good"] = {
        "eye_error_px": _stats([e for r in geo for e in r["eye_error_px"]]),
        "head_top_error_px": _stats([r["head_top_error_px"] for r in geo if "head_top_error_px" in r]),
        "cheek_width_error_px": _stats([r["cheek_width_error_px"] for r in geo if "cheek_width_error_px" in r]),
        "cheek_width_signed_median_px": round(statistics.median(
            [r["cheek_width_error_px"] for r in geo if "cheek_width_error_px" in r] or [0.0]), 1),
        "centre_error_px": _stats([r["centre_error_px"] for r in geo if "centre_error_px" in r]),
        "roll_error_deg": _stats([r["roll_error_deg"] for r in geo if "roll_error_deg" in r]),
    }
    large = [r for r in rows if r["family"] == "good_large"]
    ok = [r for r in large if r["passed"] and r.get("truth_compliant_crop")]
    out["large_frames"] = {"cases": len(large), "passed": sum(1 for r in large if r["passed"]),
                           "compliant_crops": len(ok), "pct": _pct(len(ok), len(large)),
                           "rotated": sum(1 for r in large if abs(r.get("rotated_deg", 0.0)) >= 0.05),
                           "refused_by": dict(Counter(c for r in large for c in r["failed"]).most_common())}
    t = TARGETS
    fam_pcts = [f["pct"] for f in fam.values() if f["pct"] is not None]
    gg = out["geometry_good"]
    out["targets"] = {
        "false_failures_le_5pct": (out["good"]["pct"] or 0) <= t["false_failure_pct_max"],
        "every_family_ge_95pct": bool(fam_pcts) and min(fam_pcts) >= t["family_catch_pct_min"],
        "eye_median_le_2px": gg["eye_error_px"].get("median", 99) <= t["eye_error_median_px_max"],
        "cheek_median_le_8px": gg["cheek_width_error_px"].get("median", 99) <= t["cheek_width_error_median_px_max"],
        "large_crops_ge_95pct": (out["large_frames"]["pct"] or 0) >= t["large_frame_crop_pct_min"],
    }
    per_source: dict[str, list[str]] = defaultdict(list)
    for r in fails:
        per_source[r["source"]].append(f"{r['family']}:{'+'.join(r['failed'])}")
    out["good_failures_by_source"] = dict(sorted(per_source.items()))
    return out
