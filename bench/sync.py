"""A station's day carried to the supervisor: `bundle create` and `merge`, against copying the bundle.

One station is filled through the store API: a 20,000-row roster, then per person a card read,
a payment, a camera frame (distinct JPEGs of ~0.5 MB), a check report, its export crop and an
acceptance. Then, interleaved in each of three rounds (a busy machine hits every side alike):
  - `bundle create` in process (snapshot, prune, compact, zip the images while verifying them,
    sign, publish with fsync);
  - the reference: `cp` of the finished bundle and `sha256sum` of the copy — the least any
    verified hand-over of the same bytes costs;
  - `merge` of that bundle into a fresh master that enrolled the station (every check of
    ``station.sync.merge``: signature, members, hashes, rows, then the union);
  - the same merge again (already imported: must cost next to nothing);
  - the master's list of items to decide (what the merge report and `conflicts list` read).
No issue sets these goals; TABLE says how they follow from the work each side must do.
"""

from __future__ import annotations

import io
import os
import shutil
import statistics
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._table import Figure

REFERENCE = "cp + sha256sum of the bundle"
# Goals from the work each side must do: bundle create reads, hashes and zips every image and then
# publishes a copy of the zip (≈ 2 × the reference) plus the database work; merge hashes the file,
# streams every member out while hashing it (≈ 2 ×) plus the row checks and the union; a repeated
# merge only hashes the file.
TABLE = [
    Figure("bundle create (station day, median)", "bundle_create_s", "s", reference="cp_sha256sum_s",
           reference_name=REFERENCE, ratio_at_most=3.0),
    Figure("merge of that bundle into a master (median)", "merge_s", "s", reference="cp_sha256sum_s",
           reference_name=REFERENCE, ratio_at_most=3.0),
    Figure("merge again (already imported, median)", "remerge_s", "s", reference="cp_sha256sum_s",
           reference_name=REFERENCE, ratio_at_most=0.5),
    Figure("items to decide on the master (median)", "conflict_items_ms", "ms", at_most=100),
]

ROSTER = int(os.environ.get("BENCH_SYNC_ROSTER", "20000"))
PEOPLE = int(os.environ.get("BENCH_SYNC_PEOPLE", "300"))
ROUNDS = 3


def _frame() -> bytes:
    """A camera-like frame: a blue backdrop with a figure and sensor noise, ~0.5 MB as JPEG."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(7)
    h, w = 1200, 900
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([60 + (y // 12) % 20, 120 - (x // 15) % 20, 230 + 0 * x], -1).astype(np.float32)
    im = Image.fromarray(np.clip(base + rng.normal(0, 9, (h, w, 3)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    draw.ellipse((300, 200, 600, 620), fill=(205, 170, 140))
    draw.rectangle((150, 800, 750, 1200), fill=(40, 40, 45))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _distinct(jpeg: bytes, label: str) -> bytes:
    """The same picture with a JPEG comment naming it: a distinct file, still a valid JPEG."""
    text = label.encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


def _fill(data_dir: Path) -> int:
    """The station's day; returns the bytes of images it holds."""
    import datetime as dt

    from station.domain import idnumber
    from station.domain.identity import Identity
    from station.keys import ensure_station_key
    from station.store import open_store

    frame = _frame()
    store = open_store(data_dir)
    with store.transaction():
        store.set_meta("station_id", "bench-a")
        store.set_meta("school_code", "10673")
    ensure_station_key(data_dir)
    people = [idnumber.make("530102", dt.date(1998, 1, 1) + dt.timedelta(days=i // 50), i % 50,
                            male=bool(i % 2)) for i in range(ROSTER)]
    with store.transaction():
        store.insert_many("roster_entries", [
            {"id_number": idn, "student_no": f"2020{i:06d}", "name": f"学生{i:05d}",
             "gender": "male" if i % 2 else "female", "department": f"学院{i % 12:02d}", "eligible": 1}
            for i, idn in enumerate(people)])
    image_bytes = 0
    for i, idn in enumerate(people[:PEOPLE]):
        ident = Identity(card_type="resident", name=f"学生{i:05d}", gender="male" if i % 2 else "female",
                         birth_date="1998-01-01", id_number=idn)
        read = store.facts.record_card_read(ident, reader="sim", operator="bench")
        store.facts.record_payment(idn, 3000, "wechat", operator="bench")
        raw = _distinct(frame, f"frame {i}")
        crop = _distinct(frame[: 38_000] + b"\xff\xd9", f"crop {i}")
        image_bytes += len(raw) + len(crop)
        raw_sha, crop_sha = store.images.put(raw), store.images.put(crop)
        capture = store.facts.record_capture(idn, raw_sha, f"IMG_{i:04d}.JPG", {"crop_sha256": crop_sha},
                                             card_read_id=read, operator="bench")
        store.facts.record_check(capture, {"checks": []}, True, operator="bench")
        store.facts.record_acceptance(capture, "accept", operator="bench")
    store.close()
    return image_bytes


def _master(root: Path, station_dir: Path, name: str) -> Path:
    from station.keys import ensure_station_key, parse_keyfile, render_keyfile
    from station.store import campaign, open_store
    from station.sync.trust import TrustService

    with open_store(station_dir) as station:  # its key file as `station key export` writes it
        current = campaign.current(station)
    master = root / name
    with open_store(master) as store:
        with store.transaction():
            store.set_meta("station_id", "master")
        keyfile = render_keyfile("bench-a", ensure_station_key(station_dir).public_pem(), current)
        TrustService(store).add(parse_keyfile(keyfile, "bench-a.pem"), "bench")
    return master


def _reference(bundle: Path, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["cp", str(bundle), str(target)], check=True)
    subprocess.run(["sha256sum", str(target)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> dict[str, Any]:
    from station.store import open_store
    from station.sync.bundle import create_bundle
    from station.sync.conflicts import ConflictService
    from station.sync.merge import merge_bundle

    root = Path(tempfile.mkdtemp(prefix="bench-sync-", dir=os.environ.get("BENCH_TMP")))
    try:
        started = time.perf_counter()
        station = root / "station"
        image_bytes = _fill(station)
        results: dict[str, Any] = {"roster": ROSTER, "people": PEOPLE, "image_mb": round(image_bytes / 1e6, 1),
                                   "fill_s": round(time.perf_counter() - started, 1), "bundle_create_s": [],
                                   "cp_sha256sum_s": [], "merge_s": [], "remerge_s": [],
                                   "conflict_items_ms": [], "load_average": []}
        for n in range(ROUNDS):
            results["load_average"].append(round(os.getloadavg()[0], 1))
            out = root / f"bundle{n}.zip"
            with open_store(station) as store:
                t0 = time.perf_counter()
                made = create_bundle(store, out, operator="bench")
                results["bundle_create_s"].append(round(time.perf_counter() - t0, 3))
            results["bundle_mb"] = round(out.stat().st_size / 1e6, 1)
            results["rows"] = sum(made.rows.values())
            results["cp_sha256sum_s"].append(round(_reference(out, root / f"copy{n}.zip"), 3))
            (root / f"copy{n}.zip").unlink()
            with open_store(_master(root, station, f"master{n}")) as master:
                t0 = time.perf_counter()
                merged = merge_bundle(master, out, operator="bench")
                results["merge_s"].append(round(time.perf_counter() - t0, 3))
                assert merged.images_added == 2 * PEOPLE and not merged.already_imported, merged
                t0 = time.perf_counter()
                again = merge_bundle(master, out, operator="bench")
                results["remerge_s"].append(round(time.perf_counter() - t0, 3))
                assert again.already_imported
                t0 = time.perf_counter()
                ConflictService(master).items()
                results["conflict_items_ms"].append(round((time.perf_counter() - t0) * 1000, 1))
            shutil.rmtree(root / f"master{n}")
            out.unlink()
        ratios = [b / r for b, r in zip(results["bundle_create_s"], results["cp_sha256sum_s"], strict=True)]
        results["bundle_create_paired_ratio_median"] = round(statistics.median(ratios), 2)
        ratios = [m / r for m, r in zip(results["merge_s"], results["cp_sha256sum_s"], strict=True)]
        results["merge_paired_ratio_median"] = round(statistics.median(ratios), 2)
        return results
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
