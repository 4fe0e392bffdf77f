"""One export at a time (issue 11.3): concurrent builds, a writer that skips the lock, a batch killed
after its recording, a build that will not wait."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]



def _exported_captures(data_dir: Path) -> Counter:
    from station.store import open_store

    with open_store(data_dir) as store:      # the batches' sealed lists, and the index beside them
        listed = Counter(r[0] for r in store.conn.execute(
            "SELECT j.value FROM exports e, json_each(e.capture_ids) j"))
        indexed = Counter(r[0] for r in store.conn.execute("SELECT capture_id FROM export_index"))
    assert listed == indexed
    return listed


def _manifest_captures(batch: str | None) -> list[str]:
    if batch is None:
        return []
    doc = json.loads((Path(batch) / "manifest.json").read_text("utf-8"))
    return [i["capture_id"] for i in doc["items"]]


def test_two_concurrent_builds_export_each_capture_exactly_once(station, add_people, person, tmp_path,
                                                                spawn_build):
    captures = add_people(station.data_dir, [person(i) for i in range(24)])
    procs = [spawn_build(station, tmp_path / f"out{k}", "--json", STATION__EXPORTS__THROTTLE_MS="20")
             for k in range(2)]
    docs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        docs.append(json.loads(stdout))
    in_batches = _manifest_captures(docs[0]["path"]) + _manifest_captures(docs[1]["path"])
    assert sorted(in_batches) == sorted(captures)                 # every capture, once in all
    counts = _exported_captures(station.data_dir)
    assert set(counts) == set(captures) and set(counts.values()) == {1}
    assert sorted(d["photos"] for d in docs) == [0, 24]          # the second waited, then found nothing


def test_second_build_waits_in_words_then_finds_nothing_new(station, add_people, person, tmp_path, spawn_build,
                                                            paused_build):
    add_people(station.data_dir, [person(i) for i in range(6)])
    first = paused_build(station, tmp_path / "a", "export.photos_written", "--json")
    refused = station.as_op("tech", "--lang", "en", "export", "build", "--out", str(tmp_path / "b"), "--wait", "0")
    assert refused.returncode == 2
    assert f"Another export is running (process {first.pid}" in refused.stderr
    assert not (tmp_path / "b").exists() or list((tmp_path / "b").iterdir()) == []
    second = spawn_build(station, tmp_path / "b", "--json")
    deadline = time.monotonic() + 60
    while second.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert second.poll() is None                      # still waiting for the first
    first.send_signal(signal.SIGINT)                  # the first is cancelled: nothing recorded
    first.communicate(timeout=60)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "等待它结束" in err                          # it said why it waited
    assert json.loads(out)["photos"] == 6


def test_a_writer_that_skipped_the_lock_cannot_record_a_stale_selection(station, add_people, person,
                                                                          tmp_path, monkeypatch):
    """Two selections made at the same time (the lock bypassed): the second to record is refused
    and leaves no folder; every capture is exported once."""
    import contextlib

    from station.export import service
    from station.export.profile import load_batch_profile
    from station.export.selection import Filters
    from station.store import open_store
    from station.store.exports import ExportRaced

    captures = add_people(station.data_dir, [person(i) for i in range(5)])
    monkeypatch.setattr(service, "export_lock", lambda *a, **k: contextlib.nullcontext())
    profile = load_batch_profile("chsi")
    inner: dict = {}

    def progress(done: int, total: int, stage: str) -> None:
        if not inner:                       # while the outer batch writes its photos
            with open_store(station.data_dir) as other:
                inner["result"] = service.build_batch(other, profile, tmp_path / "inner", Filters(),
                                                      operator="tech")

    with open_store(station.data_dir) as store:
        try:
            service.build_batch(store, profile, tmp_path / "outer", Filters(), operator="tech", progress=progress)
        except ExportRaced as exc:
            assert inner["result"].record.batch_id in exc.message
        else:
            raise AssertionError("the stale selection was recorded")
    assert list((tmp_path / "outer").iterdir()) == []
    assert sorted(_manifest_captures(str(inner["result"].written.path))) == sorted(captures)
    assert set(_exported_captures(station.data_dir).values()) == {1}


def test_batch_killed_after_recording_is_finished_by_the_next_build(station, add_people, person, tmp_path,
                                                                    paused_build):
    add_people(station.data_dir, [person(i) for i in range(8)])
    out = tmp_path / "o"
    proc = paused_build(station, out, "export.recorded")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == []   # recorded, not in place
    add_people(station.data_dir, [person(20)])            # and one more person is due meanwhile
    r = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert len(doc["completed"]) == 1 and doc["completed"][0]["photos"] == 8
    done = Path(doc["completed"][0]["path"])
    assert done.is_dir() and Path(doc["completed"][0]["zip"]).is_file()
    assert Path(doc["completed"][0]["report"]).is_file()
    assert doc["photos"] == 1                              # the new batch holds only the new person
    assert station("export", "verify", str(done), "--no-frame-checks").returncode == 0
    assert set(_exported_captures(station.data_dir).values()) == {1}
    from station.store import open_store
    with open_store(station.data_dir) as store:
        assert store.exports.pending() == []


def test_batch_killed_after_recording_is_finished_by_batch_id(station, add_people, person, tmp_path, paused_build):
    add_people(station.data_dir, [person(i) for i in range(4)])
    out = tmp_path / "o"
    proc = paused_build(station, out, "export.recorded", "--json")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    from station.store import open_store
    with open_store(station.data_dir) as store:
        (pending,) = store.exports.pending()
    r = station.as_op("tech", "export", "build", "--out", str(out), "--batch", pending.batch_id, "--json")
    assert r.returncode == 0, r.stderr
    assert Path(r.json()["path"]).is_dir() and Path(r.json()["report"]).is_file()
    assert station("export", "verify", r.json()["path"], "--no-frame-checks").returncode == 0
    with open_store(station.data_dir) as store:
        assert store.exports.pending() == []


def test_lock_is_released_when_its_holder_dies(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(1)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    env["PYTHONPATH"] = str(ROOT)
    code = ("import sys, time; from pathlib import Path; from station.export.lock import export_lock\n"
            "with export_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(station.data_dir)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    busy = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--wait", "0")
    assert busy.returncode == 2 and str(holder.pid) in busy.stderr
    holder.kill()
    holder.wait()
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--wait", "0", "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["photos"] == 1


def test_the_database_refuses_a_capture_in_a_second_batch_of_ours(station, add_people, person):
    """Below the lock and the selection watermark: SQLite itself (export_index's partial UNIQUE
    index, filled from the batch's one sealed row) refuses to record a capture this station
    already exported; a batch merged from another station that lists it is indexed beside it."""
    import pytest

    from station.store import open_store
    from station.store.exports import ExportRaced

    captures = add_people(station.data_dir, [person(i) for i in range(3)])
    with open_store(station.data_dir) as store:
        ledger = store.exports
        kw = {"profile": "chsi", "operator": "tech", "record": {}, "folder": "f", "out_dir": Path("/nowhere"),
              "make_zip": False}
        ledger.record("B1", captures[:2], selected_at=ledger.watermark(), **kw)
        with pytest.raises(ExportRaced):
            ledger.record("B2", captures[1:], selected_at=ledger.watermark(), **kw)
        assert [r[0] for r in store.conn.execute("SELECT batch_id FROM exports")] == ["B1"]
        assert store.exports.pending()[0].batch_id == "B1"
        with store.transaction():            # as a merge inserts another station's batch row
            store.conn.execute(
                "INSERT INTO exports (id, station_id, seq, hlc, batch_id, capture_ids) VALUES (?, ?, ?, ?, ?, ?)",
                ("01JOTHERSTATIONBATCH000000", "S2", 1, "0000000000001-0000-S2", "X1", json.dumps(captures[1:])))
            store.seals.seal("exports", ["01JOTHERSTATIONBATCH000000"])
        indexed = Counter(r[0] for r in store.conn.execute("SELECT capture_id FROM export_index"))
    assert indexed == Counter({captures[0]: 1, captures[1]: 2, captures[2]: 1})
    assert _exported_captures(station.data_dir) == indexed


def test_fsck_catches_an_export_dropped_from_the_index_or_edited_in_its_batch(station, add_people, person,
                                                                             tmp_path):
    """Exported captures are listed once, in the batch's sealed row: deleting one from the index
    (it would be exported again) or editing the batch's list is found by fsck (exit 1)."""
    import sqlite3

    captures = add_people(station.data_dir, [person(i) for i in range(3)])
    assert station.as_op("tech", "export", "build", "--out", str(tmp_path / "out")).returncode == 0
    assert station("fsck").returncode == 0
    db = station.data_dir / "station.sqlite3"

    def fsck_codes() -> set[str]:
        r = station("fsck", "--json")
        assert r.returncode == 1, r.stdout
        return {f["code"] for f in r.json()["problems"]}

    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM export_index WHERE capture_id = ?", (captures[0],))
    assert "export_unindexed" in fsck_codes()
    with conn:
        conn.execute("INSERT INTO export_index (capture_id, export_id, own) "
                     "SELECT ?, id, 1 FROM exports", (captures[0],))
    assert station("fsck").returncode == 0
    with conn:                               # the batch's own list edited: its seal no longer matches
        conn.execute("UPDATE exports SET capture_ids = ?", (json.dumps(captures[1:]),))
    assert {"row_altered", "export_index_stray"} <= fsck_codes()
    conn.close()
