"""`station export build/verify` end to end: a real store, real processes, real files."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_build_verify_rebuild_and_nothing_twice(station, add_people, person, tmp_path):
    people = [person(i) for i in range(6)]
    people.append(person(6, paid_cents=0))                       # unpaid
    people.append(person(7, decisions=["reject"]))               # rejected, no retake yet
    people.append(person(8, verified=False))                     # typed identity
    people.append(person(9, decisions=["reject", "accept"]))     # retake accepted
    people.append(person(10, decisions=[None]))                  # not decided
    add_people(station.data_dir, people)
    # and one roster person never captured
    from station.store import open_store
    with open_store(station.data_dir) as store:
        store.insert("roster_entries", {"id_number": person(11)["id_number"], "name": "未到者",
                                        "student_no": "2020000011", "department": "物理学院", "eligible": 1})
    out = tmp_path / "batches"
    r = station.as_op("tech", "export", "build", "--out", str(out), "--zip", "--json")
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert doc["photos"] == 7 and doc["new"] == 7
    reasons = {s["id_number"]: s["reason"] for s in doc["not_in_batch"]}
    assert reasons == {person(6)["id_number"]: "unpaid", person(7)["id_number"]: "rejected",
                       person(8)["id_number"]: "unverified", person(10)["id_number"]: "not_accepted",
                       person(11)["id_number"]: "not_captured"}
    batch = Path(doc["path"])
    assert sorted(p.name for p in out.iterdir()) == sorted([batch.name, batch.name + ".zip",
                                                           batch.name + ".report.json"])
    report = json.loads((out / (batch.name + ".report.json")).read_text("utf-8"))
    assert {s["id_number"]: s["reason"] for s in report["not_in_batch"]} == reasons
    # every person of the selection is in the batch or in the report
    manifest = json.loads((batch / "manifest.json").read_text("utf-8"))
    in_batch = {i["id_number"] for i in manifest["items"]}
    assert in_batch | set(reasons) == {p["id_number"] for p in people} | {person(11)["id_number"]}
    assert not in_batch & set(reasons)

    v = station("export", "verify", str(batch), "--json", "--no-frame-checks")
    assert v.returncode == 0, v.stdout + v.stderr
    assert v.json()["ok"] and v.json()["key_trusted"] and v.json()["photos"] == 7

    # nothing is exported twice by accident
    r2 = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert r2.returncode == 0 and r2.json()["path"] is None
    assert {s["reason"] for s in r2.json()["not_in_batch"]} >= {"already_exported"}

    # rebuilding by id gives the same bytes, zip included
    again = tmp_path / "again"
    r3 = station.as_op("tech", "export", "build", "--out", str(again), "--batch", doc["batch_id"], "--zip", "--json")
    assert r3.returncode == 0, r3.stderr
    assert _tree(Path(r3.json()["path"])) == _tree(batch)
    assert Path(r3.json()["zip"]).read_bytes() == Path(doc["zip"]).read_bytes()
    assert Path(r3.json()["report"]).read_bytes() == (out / (batch.name + ".report.json")).read_bytes()

    # the public key export verifies the batch elsewhere
    k = station("key", "export", "--out", str(tmp_path / "st1.pub"), "--json")
    assert k.returncode == 0, k.stderr
    v2 = station("export", "verify", str(batch), "--key", str(tmp_path / "st1.pub"), "--json", "--no-frame-checks")
    assert v2.json()["ok"]


def test_photographer_is_refused(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(1)])
    r = station.as_op("photo", "export", "build", "--out", str(tmp_path / "b"))
    assert r.returncode == 2
    assert not (tmp_path / "b").exists()


def test_verify_reports_tampering_precisely(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(i) for i in range(3)])
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json")
    batch = Path(r.json()["path"])
    photo = sorted((batch / "photos").iterdir())[0]
    photo.write_bytes(photo.read_bytes()[:-100] + b"\xff\xd9")
    v = station("--lang", "en", "export", "verify", str(batch), "--no-frame-checks")
    assert v.returncode == 1
    assert f"photos/{photo.name}: checksum mismatch" in v.stdout
    assert "does not match the SHA-256" in v.stdout


@pytest.mark.parametrize("target", ["roster_entries", "captures"])
def test_correction_after_export_goes_in_as_replacement(station, add_people, person, tmp_path, target):
    """A name corrected on the roster entry, or on the capture (the review screen), after export."""
    add_people(station.data_dir, [person(i) for i in range(3)])
    first = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json").json()
    from station.store import open_store
    with open_store(station.data_dir) as store:
        entry = store.roster.get(person(1)["id_number"])
        target_id = entry.id if target == "roster_entries" else store.person_state(entry.id_number).accepted_capture_id
        store.facts.record_correction(target, target_id, "name", entry.name, "更正名", reason="typo",
                                      operator="tech")
    add_people(station.data_dir, [person(2, decisions=["accept"], seed=77, on_roster=False, paid_cents=0)])
    second = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json").json()
    items = json.loads((Path(second["path"]) / "manifest.json").read_text("utf-8"))["items"]
    by_id = {i["id_number"]: i for i in items}
    assert set(by_id) == {person(1)["id_number"], person(2)["id_number"]}
    assert by_id[person(1)["id_number"]]["name"] == "更正名"
    assert all(i["kind"] == "replacement" and i["replaces_batch"] == first["batch_id"] for i in items)
    csv_text = (Path(second["path"]) / "manifest.csv").read_bytes().decode("gbk")
    assert "替换" in csv_text and first["batch_id"] in csv_text


def test_sigkill_leaves_nothing_half_written(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(i) for i in range(40)])
    out = tmp_path / "o"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    env.update(PYTHONPATH=str(ROOT), STATION_DATA_DIR=str(station.data_dir), STATION_PIN="2468",
               STATION_OPERATOR="tech", STATION__EXPORTS__THROTTLE_MS="1000")
    proc = subprocess.Popen([sys.executable, "-m", "station", "export", "build", "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partial = [p for p in out.glob(".*.partial-*") if (p / "photos").is_dir()] if out.exists() else []
        if partial and len(list((partial[0] / "photos").iterdir())) >= 5:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    visible = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert visible == []                                   # nothing that looks like a batch
    r = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["photos"] == 40
    assert sorted(p.name for p in out.iterdir()) == [Path(r.json()["path"]).name,
                                                     Path(r.json()["path"]).name + ".report.json"]
    assert station("export", "verify", r.json()["path"], "--no-frame-checks").returncode == 0


def test_sigint_cancels_cleanly(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(i) for i in range(30)])
    out = tmp_path / "o"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    env.update(PYTHONPATH=str(ROOT), STATION_DATA_DIR=str(station.data_dir), STATION_PIN="2468",
               STATION_OPERATOR="tech", STATION__EXPORTS__THROTTLE_MS="1000")
    # A shell running the suite as a background job hands SIGINT down ignored, and Python then never
    # turns it into KeyboardInterrupt: give the export the disposition a terminal would.
    proc = subprocess.Popen([sys.executable, "-m", "station", "export", "build", "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.glob(".*.partial-*/photos/*.jpg")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert list(out.iterdir()) == []
    from station.store import open_store
    with open_store(station.data_dir) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM exports").fetchone()[0] == 0
