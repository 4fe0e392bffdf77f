"""Fixtures of the exports tests: export-sized JPEGs, a station key, hand-made batch records."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def make_photo(seed: int, quality: int = 88, size=(480, 640), progressive: bool = False,
               dpi: int = 300) -> bytes:
    """A 480×640 baseline JPEG at 300 dpi of about 40 KB: a blue backdrop, a 'head', dark clothes."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([100 + (y // 8) % 30, 197 - (x // 10) % 20, 255 + 0 * x], -1).astype(np.float32)
    arr = np.clip(base + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)
    im = Image.fromarray(arr)
    draw = ImageDraw.Draw(im)
    dx = int(rng.integers(-40, 41))
    head = tuple(int(v) for v in rng.integers(120, 240, 3))
    clothes = tuple(int(v) for v in rng.integers(0, 120, 3))
    draw.ellipse((w * 0.29 + dx, h * 0.19, w * 0.71 + dx, h * 0.62), fill=head)
    draw.rectangle((w * 0.12, h * 0.7, w * 0.88, h), fill=clothes)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, dpi=(dpi, dpi), progressive=progressive)
    return buf.getvalue()


class Images(dict):
    """A tiny content-addressed image store: sha256 → bytes."""

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self[sha] = data
        return sha

    def get_bytes(self, sha: str) -> bytes:
        return self[sha]


def valid_id(i: int) -> str:
    import datetime as dt

    from station.domain import idnumber

    born = dt.date(2000, 1, 1) + dt.timedelta(days=i // 50)
    return idnumber.make("530102", born, i % 50, male=bool(i % 2))


@pytest.fixture(name="make_photo")
def make_photo_fixture():
    return make_photo


@pytest.fixture
def station_key(tmp_path):
    from station.keys import ensure_station_key

    return ensure_station_key(tmp_path / "data")


@pytest.fixture
def images():
    return Images()


@pytest.fixture
def make_record(images):
    """``make_record(n)`` → a BatchRecord of n people with real JPEGs in ``images``."""
    from station.export.record import BatchItem, BatchRecord

    def make(n: int = 5, batch_id: str = "01JTESTBATCH0000000000000A", **overrides) -> BatchRecord:
        items = []
        for i in range(n):
            sha = images.put(make_photo(i))
            items.append(BatchItem(capture_id=f"01JCAP{i:020d}", id_number=valid_id(i),
                                   name=["张三", "李四", "王五", "欧阳娜娜", "赵六"][i % 5] + ("" if i < 5 else str(i)),
                                   sha256=sha, student_no=f"2020{i:06d}", department=["物理学院", "化学学院"][i % 2],
                                   gender="male", captured_at="2026-06-01T09:30:00+08:00"))
        fields = dict(batch_id=batch_id, created_ms=1780277400000, profile="chsi", school_code="10673",
                      station_id="st1", items=items)
        fields.update(overrides)
        return BatchRecord(**fields)

    return make


PIN = "2468"


@pytest.fixture
def station(run_station):
    """An initialised station with a supervisor, a technician and a photographer; CLI helpers."""
    env = {"STATION_PIN": PIN}
    r = run_station("init", "--station-id", "st1", "--supervisor", "sup", env=env)
    assert r.returncode == 0, r.stderr
    for name, role in (("tech", "technician"), ("photo", "photographer")):
        r = run_station("--operator", "sup", "operator", "add", name, "--role", role, env=env,
                        stdin=PIN + "\n")
        assert r.returncode == 0, r.stderr

    def as_op(name, *args, **kw):
        return run_station("--operator", name, *args, env={"STATION_PIN": PIN, **kw.pop("env", {})}, **kw)

    run_station.as_op = as_op
    return run_station


@pytest.fixture
def roster_people(station, tmp_path):
    """``roster_people(n)``: n eligible full-time students of the demo roster imported, each with
    an identity file (a card read as JSON) and a rendered portrait on disk, not ingested yet:
    ``[(identity, identity_file, image)]``."""
    def make(n: int) -> list[tuple[dict, Path, Path]]:
        import cv2

        from station.sim.portrait import render
        from station.sim.roster import demo_roster, identity_for, roster_csv

        rows = [r for r in demo_roster()
                if r["学习方式"] != "非全日制" and r["入学年份"] in (2014, 2015, "2014", "2015")][:n]
        (tmp_path / "roster.csv").write_bytes(roster_csv(rows))
        r = station.as_op("sup", "roster", "import", str(tmp_path / "roster.csv"), "--json")
        assert r.returncode == 0, r.stdout + r.stderr
        out = []
        for i, row in enumerate(rows):
            identity = identity_for(row).to_json()
            (tmp_path / f"id{i}.json").write_text(json.dumps(identity, ensure_ascii=False), "utf-8")
            frame, _ = render(1024, 1365, seed=i, shirt=(30 + 20 * i, 40, 60))
            cv2.imwrite(str(tmp_path / f"p{i}.jpg"), frame)
            out.append((identity, tmp_path / f"id{i}.json", tmp_path / f"p{i}.jpg"))
        return out

    return make


def add_people(data_dir, people: list[dict]) -> list[str]:
    """Record roster entries, card reads, captures, payments and decisions through the store API.

    Each person: id_number, name, student_no, department, and optionally on_roster (True),
    verified (True), paid_cents (3000), decisions (["accept"]), seed, capture_code (None).
    """
    from station.domain.identity import Identity
    from station.store import open_store

    capture_ids = []
    with open_store(data_dir) as store:
        for n, p in enumerate(people):
            if p.get("on_roster", True):
                store.insert("roster_entries", {
                    "id_number": p["id_number"], "student_no": p.get("student_no"), "name": p["name"],
                    "gender": p.get("gender", "female"), "department": p.get("department", "物理学院"),
                    "eligible": 1})
            identity = Identity(card_type="resident" if p.get("verified", True) else "manual",
                                name=p["name"], gender="female", birth_date="2000-01-01",
                                id_number=p["id_number"])
            read_id = store.facts.record_card_read(identity, reader="sim", operator="photo")
            if p.get("paid_cents", 3000):
                store.facts.record_payment(p["id_number"], p.get("paid_cents", 3000), "wechat", operator="photo")
            for k, decision in enumerate(p.get("decisions", ["accept"])):
                crop = store.images.put(make_photo(p.get("seed", n) * 10 + k))
                raw = store.images.put(make_photo(p.get("seed", n) * 10 + k + 5000, size=(600, 800)))
                cid = store.facts.record_capture(p["id_number"], raw, "IMG.JPG", {"crop_sha256": crop},
                                                 card_read_id=read_id, operator="photo",
                                                 capture_code=p.get("capture_code"))
                if decision:
                    store.facts.record_acceptance(cid, decision, operator="photo")
                capture_ids.append(cid)
    return capture_ids


def person(i: int, **kw) -> dict:
    base = {"id_number": valid_id(i), "name": f"学生{i:03d}", "student_no": f"2020{i:06d}",
            "department": "物理学院" if i % 2 == 0 else "化学学院", "seed": i}
    base.update(kw)
    return base


@pytest.fixture(name="add_people")
def add_people_fixture():
    return add_people


@pytest.fixture(name="person")
def person_fixture():
    return person


ROOT = Path(__file__).resolve().parents[2]


def spawn_build(station, out: Path, *args: str, **env_extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    env.update(PYTHONPATH=str(ROOT), STATION_DATA_DIR=str(station.data_dir), STATION_PIN="2468",
               STATION_OPERATOR="tech", **env_extra)
    # A suite run as a background job (the landing gate, some CI shells) hands SIGINT down ignored
    # and Python then never raises KeyboardInterrupt: give the export a terminal's disposition.
    return subprocess.Popen([sys.executable, "-m", "station", "export", "build", "--out", str(out), *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the process reached its fault point (it wrote ``path``); fails if it ended first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the export never reached its pause point"
        time.sleep(0.05)


@pytest.fixture(name="spawn_build")
def spawn_build_fixture():
    """``spawn_build(station, out, *args, **env)``: `station export build` as a running process."""
    return spawn_build


@pytest.fixture
def paused_build(tmp_path):
    """``paused_build(station, out, point, *args)``: `station export build` as a running process,
    returned once it waits at the fault point ``point`` (STATION_FAULT_PAUSE) — to be killed or
    interrupted exactly there, never at a moment a busy machine happens to give."""
    def start(station, out: Path, point: str, *args: str) -> subprocess.Popen:
        marker = tmp_path / f"paused-{point}-{out.name}"
        proc = spawn_build(station, out, *args, STATION_FAULT_PAUSE=point, STATION_FAULT_MARKER=str(marker))
        wait_for(marker, proc)
        return proc

    return start
