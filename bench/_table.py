"""One table of every benchmark figure: value, goal, and the reference measured in the same run.

Each benchmark module declares what it measured as ``TABLE = [Figure(...), ...]``: where the
figure is in the dict its ``main()`` returns, its unit and its goal. A goal is an absolute bound
(``at_most`` / ``at_least``) or, where the machine's speed would make an absolute number
meaningless, a bound on the ratio to a ``reference`` measured in the same run (``cp`` +
``sha256sum`` for the export writer, ``cv2.imread`` for the checks): the table computes that ratio
itself from both figures. ``python -m bench`` writes the table as Markdown and JSON.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class Figure:
    """One measured figure of a benchmark module's result."""

    name: str                        # what was measured, in words
    path: str                        # dotted path into main()'s result, e.g. "pcsc.software_ms.p95"
    unit: str = ""
    at_most: float | None = None     # goal: value ≤ at_most
    at_least: float | None = None    # goal: value ≥ at_least
    reference: str | None = None     # dotted path of the reference measured in the same run
    reference_name: str = ""         # the reference in words
    ratio_at_most: float | None = None  # goal: value / reference ≤ ratio_at_most


def lookup(data: Any, path: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; a list means its median (runs of one figure)."""
    node = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    if isinstance(node, list) and node and all(isinstance(v, int | float) for v in node):
        ordered = sorted(node)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return node


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def row(area: str, figure: Figure, result: dict[str, Any]) -> dict[str, Any]:
    """The table row of ``figure`` in ``result`` (a module's main() result)."""
    out: dict[str, Any] = {"area": area, "figure": figure.name, "unit": figure.unit,
                           "value": None, "goal": _goal(figure), "reference": None,
                           "reference_name": figure.reference_name, "ratio": None,
                           "verdict": "missing"}
    if "skipped" in result:
        out["verdict"] = f"skipped: {result['skipped']}"
        return out
    value = _number(lookup(result, figure.path))
    if value is None:
        return out
    out["value"] = value
    if figure.reference is not None:
        reference = _number(lookup(result, figure.reference))
        if reference is None or reference == 0:
            out["verdict"] = "missing reference"
            return out
        out["reference"] = reference
        out["ratio"] = round(value / reference, 2)
    checks = []
    if figure.at_most is not None:
        checks.append(value <= figure.at_most)
    if figure.at_least is not None:
        checks.append(value >= figure.at_least)
    if figure.ratio_at_most is not None and out["ratio"] is not None:
        checks.append(out["ratio"] <= figure.ratio_at_most)
    out["verdict"] = ("met" if all(checks) else "NOT MET") if checks else "(no goal)"
    return out


def _goal(figure: Figure) -> str:
    parts = []
    if figure.at_most is not None:
        parts.append(f"≤ {figure.at_most:g} {figure.unit}".rstrip())
    if figure.at_least is not None:
        parts.append(f"≥ {figure.at_least:g} {figure.unit}".rstrip())
    if figure.ratio_at_most is not None:
        parts.append(f"≤ {figure.ratio_at_most:g} × reference")
    return ", ".join(parts)


def rows(area: str, table: list[Figure] | None, result: Any) -> list[dict[str, Any]]:
    if not isinstance(result, dict):
        result = {"skipped": f"main() returned {type(result).__name__}"}
    if table is None:
        return [{"area": area, "figure": "(this module declares no TABLE)", "unit": "",
                 "value": None, "goal": "", "reference": None, "reference_name": "",
                 "ratio": None, "verdict": "missing"}]
    return [row(area, figure, result) for figure in table]


def machine() -> dict[str, Any]:
    """When and where: the figures mean little without the load they were measured under."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except OSError:
        commit = ""
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit,
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "load_average": [round(v, 2) for v in os.getloadavg()]}


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def markdown(table: list[dict[str, Any]], before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = ["# Benchmarks", "",
             f"Run {before['date']} at commit `{before['commit']}` on {before['cpus']} CPUs, "
             f"Python {before['python']}; load average {before['load_average']} before, "
             f"{after['load_average']} after. Ratios compare with a reference measured in the "
             "same run.", "",
             "| area | figure | value | goal | reference (same run) | ratio | verdict |",
             "|---|---|---|---|---|---|---|"]
    for r in table:
        value = f"{_cell(r['value'])} {r['unit']}".strip() if r["value"] is not None else "—"
        ref = (f"{r['reference_name']}: {_cell(r['reference'])} {r['unit']}".strip()
               if r["reference"] is not None else "—")
        lines.append(f"| {r['area']} | {r['figure']} | {value} | {r['goal'] or '—'} | {ref} | "
                     f"{_cell(r['ratio'])} | {r['verdict']} |")
    return "\n".join(lines) + "\n"


def write(out: Path, table: list[dict[str, Any]], before: dict[str, Any],
          after: dict[str, Any]) -> tuple[Path, Path]:
    out.mkdir(exist_ok=True)
    md, js = out / "table.md", out / "table.json"
    md.write_text(markdown(table, before, after), encoding="utf-8")
    js.write_text(json.dumps({"machine": {"before": before, "after": after}, "rows": table},
                             indent=2, ensure_ascii=False), encoding="utf-8")
    return md, js
