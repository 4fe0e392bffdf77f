"""Run every benchmark module in this package and write the figures to bench-results/."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

import bench


def main() -> int:
    wanted = set(sys.argv[1:])
    results: dict[str, dict] = {}
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or (wanted and info.name not in wanted):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        print(f"== bench.{info.name}", flush=True)
        started = time.perf_counter()
        results[info.name] = module.main()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
