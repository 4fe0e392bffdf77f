"""Run every benchmark module in this package and write the figures to bench-results/.

``python -m bench [module …]``: each module's ``main()`` returns its figures; its ``TABLE`` says
which of them go into bench-results/table.md (and table.json), with their goals. All raw
results go to bench-results/latest.json.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path
from typing import Any

import bench
from bench import _table


def main() -> int:
    args = sys.argv[1:]
    # `python -m bench faces [FOLDER ...] [--options]`: the real-face evaluation, with its own
    # arguments and report (bench-results/faces.json); it takes ~20 minutes, so it runs only
    # when named
    if args and args[0] == "faces":
        from bench.faces import main as faces

        faces(args[1:])
        return 0
    wanted = set(args)
    results: dict[str, Any] = {}
    table: list[dict[str, Any]] = []
    before = _table.machine()
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or (wanted and info.name not in wanted):
            continue
        if info.name == "faces":
            print("== bench.faces: run `python -m bench faces` (real-face evaluation, ~20 min)")
            continue
        module = importlib.import_module(f"bench.{info.name}")
        print(f"== bench.{info.name}", flush=True)
        started = time.perf_counter()
        results[info.name] = module.main()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
        table += _table.rows(info.name, getattr(module, "TABLE", None), results[info.name])
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    md, _js = _table.write(out, table, before, _table.machine())
    print(md.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
