"""Real-face evaluation of the frame checks: `python -m bench faces [FOLDER ...] [options]`.

Builds labelled cases from the shared photo sets (``../shared/faces-asia`` and ``../shared/faces``
beside the project unless folders are given): people cut out of good photos and composited onto
the CHSI backdrop with known eye centres, head top and cheek width; defect families made from
them; camera frames up to 24 MP. Prints false failures on good photos, the catch rate of each
defect family by the check named for it, geometry errors against the truth, crop success on large
frames, their capture speed against ``cv2.imread`` of the same file (``speed``) and a per-case
table; writes everything to ``bench-results/faces.json``.
``--conditions`` makes the same cases another way (a hard-edged cut-out, JPEG quality 75, more
noise, white balance off, uneven light, the exposure ±0.5 EV, another light blue, a soft lens)
so the figures can be checked against the bench's own choices.
Photos never enter the repository; the annotations (``annotations.json``) are our measurements.
Needs the dev extra: ``pip install -e '.[bench]'`` and ``python -m bench faces --fetch-model``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.faces.conditions import CONDITIONS, DEFAULT

PROJECT = Path(__file__).resolve().parents[2]
LARGE_FAMILIES = ("good_large", "second_large")  # the 24 MP frames, also timed (``speed``)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench faces", description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="*", type=Path,
                   help="photo sets with single/ multi/ none/ (default: ../shared/faces-asia "
                        "and ../shared/faces beside the project)")
    p.add_argument("--family", action="append", help="only these case families (repeatable)")
    p.add_argument("--quick", action="store_true", help="a small sample of every family")
    p.add_argument("--conditions", default="default", choices=sorted(CONDITIONS),
                   help="make the cases another way (bench/faces/conditions.py): a hard-edged "
                        "cut-out, JPEG quality 75, more sensor noise, white balance off, light "
                        "falling off, exposure ±0.5 EV, another light blue, a soft lens")
    p.add_argument("--rows", action="store_true", help="print every case, not only the failures")
    p.add_argument("--out", type=Path, default=PROJECT / "bench-results" / "faces.json")
    p.add_argument("--fetch-model", action="store_true",
                   help="extract the segmentation and detection models from the mediapipe wheel")
    p.add_argument("--dump", type=Path, help="also write every case's image into this folder")
    p.add_argument("--speed-rounds", type=int, default=3,
                   help="rounds of imread and capture timed on each large frame (0: none)")
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ns = _parser().parse_args(sys.argv[2:] if argv is None else argv)
    from bench.faces.cutout import MissingModel, fetch_model

    if ns.fetch_model:
        print(f"   model: {fetch_model()}")
        return {"fetched": True}
    roots = ns.folders or _default_roots()
    missing = [str(r) for r in roots if not (r / "single").is_dir()]
    if missing:
        msg = (f"photo sets not found: {', '.join(missing)} (give the folders as arguments, "
               f"each with single/ multi/ none/)")
        print(f"   skipped: {msg}")
        return {"skipped": msg}
    try:
        return run(roots, ns)
    except MissingModel as exc:
        print(f"   skipped: {exc}")
        return {"skipped": str(exc)}


def _default_roots() -> list[Path]:
    from bench.faces.sources import default_roots

    return default_roots(PROJECT)


def run(roots: list[Path], ns: argparse.Namespace) -> dict[str, Any]:
    from bench.faces.cases import build_cases
    from bench.faces.compose import Person
    from bench.faces.cutout import cached_matte
    from bench.faces.evaluate import summarise
    from bench.faces.sources import discover
    from bench.faces.speed import large_frame_speed
    from station.checks import load_profile

    sources = discover(roots)
    conditions = CONDITIONS[ns.conditions]
    cache: dict[str, Person] = {}

    def people(s):
        if s.name not in cache:
            img = s.bgr()
            cache[s.name] = Person(s, img, conditions.matte(cached_matte(img, s.sha256, s.eye_mid)))
        return cache[s.name]

    started = time.perf_counter()
    cases, skipped = build_cases(sources, people, set(ns.family) if ns.family else None, ns.quick,
                                 conditions)
    made = "" if conditions is DEFAULT else f" made under the conditions '{conditions.name}'"
    print(f"   {len(sources)} photos, {len(cases)} cases{made}; left out of the good set:")
    for line in skipped:
        print(f"     - {line}")
    profile = load_profile("chsi")
    asia = {s.name for s in sources if s.asia}
    with tempfile.TemporaryDirectory(prefix="bench-large-") as large_dir:
        rows, large = _score_cases(cases, profile, asia, ns, Path(large_dir), started)
        summary = summarise(rows)
        if large and ns.speed_rounds > 0:
            print(f"   timing {len(large)} large frames …", flush=True)
            speed = summary["large_frame_speed"] = large_frame_speed(large, profile, ns.speed_rounds)
            summary["targets"]["large_frame_speed_median_le_0_7"] = speed["median"] <= speed["goal"]
    summary["photos"] = len(sources)
    summary["conditions"] = conditions.name
    summary["annotated_verified"] = sum(1 for s in sources if s.verified)
    summary["excluded"] = skipped
    summary["seconds"] = round(time.perf_counter() - started, 1)
    _print(summary, rows, ns.rows)
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    ns.out.write_text(json.dumps({"summary": summary, "cases": rows}, indent=1, ensure_ascii=False))
    print(f"   written: {ns.out}")
    return summary


def _score_cases(cases: list[Any], profile: Any, asia: set[str], ns: argparse.Namespace,
                 large_dir: Path, started: float) -> tuple[list[dict[str, Any]], list[tuple[str, Path]]]:
    """Every case scored; the large frames' JPEGs are kept in ``large_dir`` to be timed after."""
    from bench.faces.evaluate import score_case

    rows = []
    large: list[tuple[str, Path]] = []
    for i, case in enumerate(cases):
        data, truth = case.build()
        if case.family in LARGE_FAMILIES:
            path = large_dir / f"{len(large)}.jpg"
            path.write_bytes(data)
            large.append((case.id, path))
        if ns.dump:
            ns.dump.mkdir(parents=True, exist_ok=True)
            (ns.dump / (case.id.replace("/", "__") + ".jpg")).write_bytes(data)
        row = score_case(case, data, truth, profile)
        row["asia"] = case.source in asia
        rows.append(row)
        if (i + 1) % 50 == 0:
            print(f"   … {i + 1}/{len(cases)} cases ({time.perf_counter() - started:.0f} s)", flush=True)
    return rows, large


def _print(s: dict[str, Any], rows: list[dict[str, Any]], all_rows: bool) -> None:
    g = s["good"]
    print(f"\n   GOOD PHOTOS: {g['false_failures']}/{g['cases']} fail ({g['pct']} %), "
          f"East Asian {g['east_asian_false_failures']}/{g['east_asian_cases']} ({g['east_asian_pct']} %)")
    for fam, v in g["by_family"].items():
        print(f"     {fam:<14} {v['failed']:>3}/{v['cases']:<3} fail")
    print("     failing checks: " + ", ".join(f"{k} {v}" for k, v in g["by_check"].items()))
    if "second_set" in s:
        g2 = s["second_set"]
        print(f"   SECOND SET (the same sources placed with other seeds): {g2['false_failures']}/"
              f"{g2['cases']} fail ({g2['pct']} %), East Asian {g2['east_asian_false_failures']}/"
              f"{g2['east_asian_cases']} ({g2['east_asian_pct']} %)")
        for fam, v in g2["by_family"].items():
            print(f"     {fam:<18} {v['failed']:>3}/{v['cases']:<3} fail")
        print("     failing checks: " + ", ".join(f"{k} {v}" for k, v in g2["by_check"].items()))
    print("\n   DEFECT FAMILIES (caught by the check named for it)")
    for fam, v in s["families"].items():
        print(f"     {fam:<16} {v['check']:<18} {v['caught']:>3}/{v['cases']:<3} {v['pct']:>5} %"
              f"   (warn only {v['warned_only']}, refused by any check {v['refused_by_any_check']})")
        if "by_check" in v:
            print("       " + ", ".join(f"{k} alone {n}/{v['cases']}" for k, n in v["by_check"].items()))
    print("\n   GEOMETRY ON GOOD PHOTOS (export-frame px; |error| median / p90 / max)")
    for k, v in s["geometry_good"].items():
        if isinstance(v, dict) and v.get("n"):
            print(f"     {k:<22} {v['median']:>6} / {v['p90']:>6} / {v['max']:>6}   (n={v['n']})")
    print(f"     cheek width signed median: {s['geometry_good']['cheek_width_signed_median_px']} px")
    lf = s["large_frames"]
    print(f"\n   LARGE FRAMES: {lf['compliant_crops']}/{lf['cases']} compliant crops ({lf['pct']} %), "
          f"passed {lf['passed']}, rotated {lf['rotated']}; refused by {lf['refused_by']}")
    sp = s.get("large_frame_speed")
    if sp and sp.get("frames"):
        print(f"\n   SPEED ON LARGE FRAMES (check + crop + encode / cv2.imread of the same file, "
              f"median of {sp['rounds']} rounds per frame; load average {sp['load_average']})")
        for kind, v in [("all", sp), *sp["by_kind"].items()]:
            print(f"     {kind:<38} {v['frames']:>3} frames: median {v['median']:.3f}, "
                  f"p90 {v['p90']:.3f}, at most {sp['goal']}: {v['share_at_most_goal']:.0%}")
    print("\n   TARGETS: " + ", ".join(f"{k} {'OK' if v else 'NO'}" for k, v in s["targets"].items()))
    print("\n   CASES" + ("" if all_rows else " (wrong verdicts only)"))
    for r in rows:
        wrong = (r["expect"] == "pass" and not r["passed"]) or \
                (r["expect"] == "fail" and r["named_status"] != "fail")
        if all_rows or wrong:
            geo = " ".join(f"{k}={r[k]}" for k in ("eye_error_px", "cheek_width_error_px",
                                                 "head_top_error_px", "centre_error_px") if k in r)
            print(f"     {'WRONG' if wrong else 'ok   '} {r['id']:<48} failed={','.join(r['failed']) or '-'} {geo}")
