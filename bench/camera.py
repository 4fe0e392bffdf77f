"""Camera figures: capture-to-file on libgphoto2's virtual camera, live view on the simulator.

* capture_to_file_ms — from ``service.capture()`` being called to the JPEG being safely on disk
  (atomic write with fsync), through the real PTP stack. The virtual camera answers at once, so
  this is the software's share of a real capture (goal ≤ 50 ms); ``capture_call_ms`` is the part
  until ``capture()`` returns the bytes. Deleting the file on the camera and draining its events
  run in the owner thread after the hand-over, before the next capture.
* live view — frames delivered per second to a consumer and the age of each frame when the
  consumer got it (goal ≥ 25 fps with ≤ 1 frame of latency).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench._table import Figure

TABLE = [
    Figure("capture → JPEG on disk, virtual camera (median)", "virtual_capture.capture_to_file_ms.median",
           "ms", at_most=50),
    Figure("capture → JPEG on disk, virtual camera (p95)", "virtual_capture.capture_to_file_ms.p95",
           "ms"),
    Figure("live view delivered, sim camera", "sim_live_view.fps", "fps", at_least=25),
    Figure("live view latency (worst)", "sim_live_view.latency_frames_max", "frames", at_most=1),
]

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = 20

_VIRTUAL = r"""
import json, sys, time
from pathlib import Path
from station.camera import CameraService, open_camera
from station.fsio import atomic_write as write_atomic
out_dir = Path(sys.argv[1])
cam = open_camera("virtual")
svc = CameraService(cam, busy_retries=0).start()
assert svc.wait_connected(10), "virtual camera did not connect"
totals, captures, writes = [], [], []
for i in range(int(sys.argv[2])):
    time.sleep(0.4)  # shots are seconds apart at a station; the last clean-up is done by now
    started = time.perf_counter()
    cap = svc.capture(10)
    got = time.perf_counter()
    write_atomic(out_dir / f"{i:02d}.jpg", cap.data)
    done = time.perf_counter()
    totals.append((done - started) * 1000)
    captures.append((got - started) * 1000)
    writes.append((done - got) * 1000)
svc.stop()
print(json.dumps({"totals": totals, "captures": captures, "writes": writes, "stats": svc.stats,
                  "size": len(cap.data)}))
"""


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 2), "p95": round(p95, 2),
            "max": round(ordered[-1], 2)}


def virtual_capture(captures: int = CAPTURES) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("IOLIBS", "VCAMERADIR")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        env["XDG_CONFIG_HOME"] = tmp  # libgphoto2 keeps the capture target there
        proc = subprocess.run([sys.executable, "-c", _VIRTUAL, tmp, str(captures)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"captures": captures, "jpeg_bytes": data["size"],
            "capture_to_file_ms": _summary(data["totals"]),
            "capture_call_ms": _summary(data["captures"]),
            "atomic_write_ms": _summary(data["writes"]),
            "busy_retries": data["stats"]["busy_retries"],
            "failures": data["stats"]["capture_failures"], "goal_ms": 50}


def sim_live_view(seconds: float = 5.0) -> dict:
    from station.camera import CameraService, open_camera

    cam = open_camera("sim")  # 480×640 portraits, sensor at 30 fps
    service = CameraService(cam, fps=25).start()
    try:
        service.wait_connected(5)
        service.live_view(True)
        first = service.wait_frame(0, 5)
        ages, gaps, behind = [], [], []
        last_seq = first.seq if first else 0
        last_at = time.monotonic()
        end = time.monotonic() + seconds
        count = 0
        while time.monotonic() < end:
            frame = service.wait_frame(last_seq, 1.0)
            now = time.monotonic()
            if frame is None:
                continue
            count += 1
            ages.append((now - frame.captured_at) * 1000)
            behind.append(frame.seq - last_seq - 1)  # frames skipped: newest wins
            gaps.append((now - last_at) * 1000)
            last_seq, last_at = frame.seq, now
            frame.image()  # what a consumer does with it
        elapsed = seconds
    finally:
        service.stop()
    interval_ms = 1000 / 25
    return {"seconds": elapsed, "frames": count, "fps": round(count / elapsed, 2),
            "latency_ms": _summary(ages), "latency_frames_max": round(max(ages) / interval_ms, 3),
            "frames_skipped": sum(behind), "frame_gap_ms": _summary(gaps),
            "threads_after_stop": threading.active_count(), "goal": ">= 25 fps, <= 1 frame"}


def main() -> dict:
    results = {"virtual_capture": virtual_capture(), "sim_live_view": sim_live_view()}
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
