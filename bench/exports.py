"""Exporting 3,000 photos vs copying the same files with `cp` and hashing them with `sha256sum`.

The store is filled through its API (roster, card read, payment, capture, acceptance per person)
with 3,000 distinct export JPEGs of ~38 KB. Then, in the same run and on the same disk:
  - `station export build` in process (lock, select from the store, write the upload folder and
    its zip, hash, sign, flush, record), ROUNDS times on a fresh copy of the same store;
  - the baseline: `cp` of the 3,000 image files into a folder, then `sha256sum` over them,
    interleaved with the builds (the machine may be busy: medians and paired ratios are compared,
    and the load average is reported);
  - the batch rebuilt by id once, and `station export verify` of it (without the frame checks).
Before each timed step the file system is written back (`sync`, untimed): the build ends with one
flush of its own files (crash safety), which must not also pay for the reference's writes still in
the page cache, nor the reference for the build's. The reference itself never flushes.
Goal: export / baseline ≤ 1.5. Each build's phases are timed from its progress reports: until the
copy starts (lock, snapshot, selection, manifest rows), the photo copy (with the manifest rendered
meanwhile), the zip's tail, the manifest files, the flush with the record, and the report.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from bench._table import Figure

TABLE = [
    Figure("export build (batch of photos, median)", "export_build_s", "s",
           reference="cp_sha256sum_s", reference_name="cp + sha256sum of the same files",
           ratio_at_most=1.5),
    Figure("export rebuild (median)", "export_rebuild_s", "s", reference="cp_sha256sum_s",
           reference_name="cp + sha256sum of the same files", ratio_at_most=1.5),
    Figure("export verify", "verify_s", "s"),
]

N = int(os.environ.get("BENCH_EXPORTS_N", "3000"))
BASES = 40


def _base_photos() -> list[bytes]:
    import numpy as np
    from PIL import Image, ImageDraw

    out = []
    for seed in range(BASES):
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0:640, 0:480]
        base = np.stack([100 + (y // 8) % 30, 197 - (x // 10) % 20, 255 + 0 * x], -1).astype(np.float32)
        im = Image.fromarray(np.clip(base + rng.normal(0, 6, (640, 480, 3)), 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(im)
        draw.ellipse((140, 120, 340, 400), fill=tuple(int(v) for v in rng.integers(120, 240, 3)))
        draw.rectangle((60, 450, 420, 640), fill=tuple(int(v) for v in rng.integers(0, 120, 3)))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=88, dpi=(300, 300))
        out.append(buf.getvalue())
    return out


def _distinct(jpeg: bytes, i: int) -> bytes:
    """The same picture with a JPEG comment naming ``i``: a distinct file, still a valid JPEG."""
    text = f"bench person {i}".encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


def _fill(data_dir: Path) -> list[str]:
    import datetime as dt

    from station.domain import idnumber
    from station.store import open_store

    bases = _base_photos()
    store = open_store(data_dir)
    with store.transaction():
        store.set_meta("station_id", "bench")
        store.set_meta("school_code", "10673")
    shas, roster, reads, payments, captures = [], [], [], [], []
    for i in range(N):
        idn = idnumber.make("530102", dt.date(2000, 1, 1) + dt.timedelta(days=i // 50), i % 50, male=bool(i % 2))
        sha = store.images.put(_distinct(bases[i % BASES], i))
        shas.append(sha)
        roster.append({"id_number": idn, "student_no": f"2020{i:06d}", "name": f"学生{i:04d}",
                       "gender": "male", "department": f"学院{i % 12:02d}", "eligible": 1})
        reads.append({"id_number": idn, "name": f"学生{i:04d}", "reader": "sim", "operator": "bench",
                      "identity": json.dumps({"card_type": "resident", "id_number": idn})})
        payments.append({"id_number": idn, "amount_cents": 3000, "method": "wechat", "operator": "bench"})
    with store.transaction():
        store.insert_many("roster_entries", roster)
        read_ids = store.insert_many("card_reads", reads)
        store.insert_many("payments", payments)
        for i, (r, sha) in enumerate(zip(roster, shas, strict=True)):
            captures.append({"id_number": r["id_number"], "image_sha256": sha, "source_name": f"IMG_{i}.JPG",
                             "camera": json.dumps({"crop_sha256": sha}), "card_read_id": read_ids[i],
                             "operator": "bench"})
        capture_ids = store.insert_many("captures", captures)
        store.insert_many("acceptances", [{"capture_id": c, "id_number": r["id_number"], "decision": "accept",
                                           "operator": "bench"} for c, r in zip(capture_ids, roster, strict=True)])
    store.close()
    return shas


def _settled() -> None:
    """Write back whatever the previous step left dirty, outside the timings (see the module doc)."""
    os.sync()


def _baseline(files: list[Path], target: Path) -> float:
    target.mkdir()
    _settled()
    started = time.perf_counter()
    subprocess.run(["cp", "--target-directory", str(target), *map(str, files)], check=True)
    with open(target.parent / f"{target.name}.sums", "wb") as fh:
        subprocess.run(["sha256sum", *sorted(str(p) for p in target.iterdir())], check=True, stdout=fh)
    return time.perf_counter() - started


ROUNDS = int(os.environ.get("BENCH_EXPORTS_ROUNDS", "5"))


class PhaseClock:
    """The build's phases from its progress reports (stage names of station.export.writer)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.marks: dict[str, float] = {}

    def progress(self, done: int, total: int, stage: str) -> None:
        now = time.perf_counter() - self.start
        if stage == "photos":
            self.marks.setdefault("first_photos", now)
            self.marks["photos"] = now
        else:
            self.marks.setdefault(stage, now)

    def phases(self, end: float) -> dict[str, float]:
        """Seconds per phase: ``select`` runs until the photo copy starts."""
        order = [("select", "first_photos"), ("photos", "photos"), ("zip_tail", "zip"),
                 ("manifest", "manifest"), ("flush_record", "done")]
        out, last = {}, 0.0
        for name, mark in order:
            at = self.marks.get(mark, last)
            out[name] = round(at - last, 3)
            last = at
        out["report"] = round(end - last, 3)
        return out


def _restore(data: Path, saved: Path) -> None:
    """The store as it was before any build: every capture due again."""
    from station.store.core import DB_NAME

    for suffix in ("-wal", "-shm"):
        (data / f"{DB_NAME}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(saved, data / DB_NAME)
    (data / "export.lock").unlink(missing_ok=True)


def main() -> dict:
    from station.export.profile import load_batch_profile
    from station.export.selection import Filters, select
    from station.export.service import build_batch, rebuild_batch
    from station.export.verify import verify_batch
    from station.export.writer import WRITER_THREADS
    from station.keys import ensure_station_key
    from station.store import open_store
    from station.store.core import DB_NAME
    from station.store.people import load_snapshot

    root = Path(tempfile.mkdtemp(prefix="bench-exports-", dir=os.environ.get("BENCH_TMP")))
    try:
        load_before = os.getloadavg()
        started = time.perf_counter()
        data = root / "data"
        shas = _fill(data)
        fill_s = time.perf_counter() - started
        ensure_station_key(data)
        profile = load_batch_profile("chsi")
        saved = root / "saved.sqlite3"
        shutil.copyfile(data / DB_NAME, saved)          # _fill closed the store: no WAL left
        store = open_store(data)
        files = [store.images.path(s) for s in shas]
        for f in files:                       # warm the page cache for both sides alike
            f.read_bytes()
        t0 = time.perf_counter()
        chosen = select(load_snapshot(store), profile, Filters(), image_exists=store.images.exists)
        select_s = time.perf_counter() - t0
        store.close()
        baseline, builds = [], []
        cpu_baseline, cpu_builds = [], []     # CPU seconds (user + system): steadier on a busy machine
        phases = []
        built = None
        for i in range(ROUNDS):       # interleaved, so background load hits both sides alike
            c0 = os.times()
            baseline.append(_baseline(files, root / f"cp{i}"))
            c1 = os.times()
            cpu_baseline.append(c1.children_user + c1.children_system - c0.children_user - c0.children_system)
            _restore(data, saved)
            store = open_store(data)
            _settled()
            c0 = os.times()
            clock = PhaseClock()
            built = build_batch(store, profile, root / f"out{i}", Filters(), operator="bench",
                                progress=clock.progress)
            builds.append(time.perf_counter() - clock.start)
            c1 = os.times()
            phases.append(clock.phases(builds[-1]))
            cpu_builds.append(c1.user + c1.system - c0.user - c0.system)
            store.close()
        assert built is not None and built.written is not None
        store = open_store(data)
        _settled()
        t0 = time.perf_counter()
        rebuild_batch(store, profile, root / "again", built.record.batch_id)
        rebuild_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        checked = verify_batch(built.written.path, trusted_keys=[ensure_station_key(data).public_pem()])
        verify_s = time.perf_counter() - t0
        store.close()
        paired = [b / c for b, c in zip(builds, baseline, strict=True)]
        result = {
            "photos": built.written.photos,
            "selected": len(chosen.items),
            "megabytes": round(built.written.bytes / 1e6, 1),
            "fill_store_s": round(fill_s, 2),
            "select_s": round(select_s, 3),
            "cp_sha256sum_s": [round(b, 3) for b in baseline],
            "export_build_s": [round(b, 3) for b in builds],
            "cpu_cp_sha256sum_s": [round(c, 2) for c in cpu_baseline],
            "cpu_export_build_s": [round(c, 2) for c in cpu_builds],
            "build_phases_s": phases,
            "build_phases_median_s": {k: round(statistics.median(p[k] for p in phases), 3) for k in phases[0]},
            "export_rebuild_s": round(rebuild_s, 3),
            "verify_s": round(verify_s, 3),
            "verify_ok": checked.ok,
            "ratio_build_vs_cp_sha256sum": round(statistics.median(builds) / statistics.median(baseline), 2),
            "ratio_paired_median": round(statistics.median(paired), 2),
            "ratio_best_build_vs_best_cp": round(min(builds) / min(baseline), 2),
            "ratio_cpu_median": round(statistics.median(cpu_builds) / statistics.median(cpu_baseline), 2),
            "writer_threads": WRITER_THREADS,
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
            "goal_ratio": 1.5,
        }
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return result
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
