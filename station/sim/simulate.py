"""`station simulate`: N students end to end through the real session, devices and checks, with
an automated operator; reports where the software's time goes.

Per student: tap → read card → identify → pay → live view until the live checks pass (or a few
frames) → capture → full checks + crop + store → accept (or retake once) → next. Device waits
(card read, shutter and download) are timed apart from the software's own work.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from station.errors import StationError

if TYPE_CHECKING:
    from station.devices import DeskDevices
    from station.domain.identity import Identity
    from station.session.service import CaptureService
    from station.store.operators import Operator

T = TypeVar("T")
DEVICE_STAGES = ("card_read", "camera_capture")
MAX_LIVE_FRAMES = 8
MAX_RETAKES = 2


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"median": 0.0, "p95": 0.0, "max": 0.0}
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"median": round(statistics.median(ordered), 2), "p95": round(p95, 2),
            "max": round(ordered[-1], 2)}


class _Timer:
    def __init__(self) -> None:
        self.stages: dict[str, float] = defaultdict(float)

    def run(self, stage: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.stages[stage] += (time.perf_counter() - started) * 1000


def simulate(data_dir: Path, students: int, camera: str = "sim", reader: str = "sim",
             progress: Callable[[int, int], object] | None = None) -> dict[str, Any]:
    """Run ``students`` people through a fresh demo store in ``data_dir``; the cli.md JSON."""
    from station.devices import DeskDevices
    from station.session.service import CaptureService
    from station.sim import demo

    setup = demo.prepare(data_dir, people=students)
    people = [p for p in setup.people]
    store = demo.init_store(data_dir)
    devices = DeskDevices(camera, reader)
    per_student: list[float] = []
    totals: list[float] = []
    stage_values: dict[str, list[float]] = defaultdict(list)
    outcomes: dict[str, int] = defaultdict(int)
    try:
        devices.open()
        op = store.operators.authenticate(demo.DEMO_PHOTOGRAPHER, demo.DEMO_PHOTOGRAPHER_PIN)
        sup = store.operators.authenticate(demo.DEMO_SUPERVISOR, demo.DEMO_SUPERVISOR_PIN)
        service = CaptureService(store, op, clock=demo.demo_clock())
        for i in range(students):
            identity = people[i % len(people)]
            timer = _Timer()
            started = time.perf_counter()
            outcome = _one_student(service, devices, identity, sup, timer)
            outcomes[outcome] += 1
            totals.append((time.perf_counter() - started) * 1000)
            software = sum(v for k, v in timer.stages.items() if k not in DEVICE_STAGES)
            per_student.append(software)
            for stage, ms in timer.stages.items():
                stage_values[stage].append(ms)
            if progress:
                progress(i + 1, students)
    finally:
        devices.live_view(False)
        devices.close()
        store.close()
    median_total = statistics.median(totals) if totals else 0.0
    return {
        "students": students,
        "per_student_software_ms": _summary(per_student),
        "stages_ms": {k: _summary(v) for k, v in sorted(stage_values.items())},
        "students_per_hour": round(3_600_000 / median_total, 1) if median_total else 0.0,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "outcomes": dict(outcomes),
        "camera": camera,
        "reader": reader,
    }


def _one_student(service: CaptureService, devices: DeskDevices, identity: Identity,
                 sup: Operator, timer: _Timer) -> str:
    """One person through the desk; returns accepted / override / skipped / refused."""
    devices.tap(identity)
    card = timer.run("card_read", devices.read_card, 5.0)
    if card is None:
        return "no_card"
    person = timer.run("identify", service.identify, card.identity)
    if person.match.blocking:
        timer.run("skip", service.skip, "not eligible")
        return "refused"
    if not person.paid:
        timer.run("pay", service.pay, None)
    for attempt in range(MAX_RETAKES + 1):
        devices.live_view(True)
        _frame_until_steady(devices, timer)
        shot = timer.run("camera_capture", devices.capture, 15.0)
        devices.live_view(False)
        result = timer.run("check_store", service.capture, shot.data, file_name=shot.file_name)
        if result.passed:
            timer.run("accept", service.accept)
            timer.run("next", service.next)
            return "accepted"
        if attempt < MAX_RETAKES:
            timer.run("retake", service.retake, "checks failed")
    try:
        timer.run("accept", service.accept, override_by=sup, reason="simulation: judged fine")
        timer.run("next", service.next)
        return "override"
    except StationError:
        timer.run("skip", service.skip, "no usable photo")
        return "skipped"


def _frame_until_steady(devices: DeskDevices, timer: _Timer) -> None:
    """Analyse new live frames until every live check passes, at most a few frames."""
    last_seq, seen, deadline = -1, 0, time.monotonic() + 3.0
    while seen < MAX_LIVE_FRAMES and time.monotonic() < deadline:
        frame = devices.latest_frame()
        if frame is None or frame.seq == last_seq:
            time.sleep(0.005)
            continue
        last_seq, seen = frame.seq, seen + 1
        report = timer.run("live_check", devices.analyse, frame)
        if report.checks and all(c.status == "pass" for c in report.checks):
            return
