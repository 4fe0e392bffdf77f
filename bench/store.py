"""Store benchmarks: a 20,000-row roster import (goal ≤ 2 s) and `station --help` (goal ≤ 0.3 s)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._table import Figure

TABLE = [
    Figure("roster import, 20,000 rows CSV", "import_csv_s", "s", at_most=2.0),
    Figure("roster import, 20,000 rows XLSX", "import_xlsx_s", "s"),
    Figure("station --help (median)", "help_median_s", "s", at_most=0.3,
           reference="python_bare_s", reference_name="python -c pass"),
]

ROOT = Path(__file__).resolve().parent.parent
ROWS = 20_000


def _cli(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "station", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def main() -> dict:
    from station.config import default_settings
    from station.roster.importer import import_roster
    from station.roster.schedule import import_schedule
    from station.sim.roster import SCHEDULE_CSV, bulk_roster, roster_csv, roster_xlsx
    from station.store import open_store

    results: dict[str, float | int] = {"rows": ROWS}
    rows = bulk_roster(ROWS)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        csv_path = tmp_path / "roster.csv"
        csv_path.write_bytes(roster_csv(rows))
        xlsx_path = tmp_path / "roster.xlsx"
        xlsx_path.write_bytes(roster_xlsx(rows))
        for label, path in (("import_csv_s", csv_path), ("import_xlsx_s", xlsx_path)):
            store = open_store(tmp_path / f"data-{label}")
            with store.transaction():
                store.set_meta("station_id", "bench")
            cfg = default_settings().roster
            import_schedule(store, SCHEDULE_CSV, cfg, "bench")
            started, cpu = time.perf_counter(), time.process_time()
            report = import_roster(store, path, cfg, "bench")
            results[label] = round(time.perf_counter() - started, 3)
            results[label.replace("_s", "_cpu_s")] = round(time.process_time() - cpu, 3)
            assert report.added == ROWS
            started = time.perf_counter()
            again = import_roster(store, path, cfg, "bench")
            results[label.replace("import", "reimport_unchanged")] = round(time.perf_counter() - started, 3)
            assert again.unchanged == ROWS
            store.close()

        env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
        env["PYTHONPATH"] = str(ROOT)
        env["STATION_DATA_DIR"] = str(tmp_path / "cli")
        _cli(["--help"], env)  # warm the bytecode cache
        helps = [_cli(["--help"], env) for _ in range(7)]
        bare = []
        for _ in range(7):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bare.append(time.perf_counter() - t0)
        results["help_median_s"] = round(statistics.median(helps), 3)
        results["help_max_s"] = round(max(helps), 3)
        results["python_bare_s"] = round(statistics.median(bare), 3)
        env["STATION_PIN"] = "1234"
        _cli(["init", "--station-id", "bench", "--supervisor", "sup"], env)
        env["STATION_OPERATOR"] = "sup"
        results["cli_import_csv_s"] = round(_cli(["roster", "import", str(csv_path)], env), 3)
    results["load_average_1min"] = os.getloadavg()[0]
    results["goal_import_s"] = 2.0
    results["goal_help_s"] = 0.3
    for key, value in results.items():
        print(f"   {key}: {value}")
    return results


if __name__ == "__main__":
    main()
