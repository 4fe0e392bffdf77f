"""A full disk and read-only folders, for real (tmpfs mounts): words naming the folder, exit 3,
nothing lost, no traceback; reading commands go on working on a read-only store."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_station_cmd
from tests.faultkit import fill, mount_problem, remount, tmpfs

_PROBLEM = mount_problem()
pytestmark = pytest.mark.skipif(_PROBLEM is not None, reason=_PROBLEM or "")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A demo station (roster + schedule), identity files of three people and a portrait."""
    import cv2

    from station.sim import demo
    from station.sim.portrait import render

    base = tmp_path_factory.mktemp("media")
    setup = demo.prepare(base / "data", people=4)
    shutil.rmtree(base / "data" / "demo-input", ignore_errors=True)
    for i, person in enumerate(setup.eligible[:3]):
        (base / f"id{i}.json").write_text(json.dumps(person.to_json(), ensure_ascii=False), "utf-8")
        cv2.imwrite(str(base / f"p{i}.jpg"), render(1024, 1365, seed=i)[0])
    return base, setup


class Station:
    """The CLI on a data folder, acting as the demo supervisor."""

    def __init__(self, data: Path, base: Path) -> None:
        self.data, self.base = data, base

    def __call__(self, *args: str):
        from station.sim import demo

        env = {"STATION_OPERATOR": demo.DEMO_SUPERVISOR, "STATION_PIN": demo.DEMO_SUPERVISOR_PIN}
        return run_station_cmd(["--lang", "en", *args], data_dir=self.data, env=env)

    def ingest(self, i: int):
        return self("ingest", "--identity", str(self.base / f"id{i}.json"),
                    "--image", str(self.base / f"p{i}.jpg"), "--paid", "--vouch", "--json")

    def facts(self) -> dict[str, int]:
        conn = sqlite3.connect(f"file:{self.data / 'station.sqlite3'}?mode=ro", uri=True)
        try:
            return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                    for t in ("roster_entries", "card_reads", "captures", "payments",
                              "acceptances", "export_index", "audit")}
        finally:
            conn.close()


def _in_words(result, *needles: str) -> None:
    text = result.stderr
    assert "Traceback" not in text and "Unexpected" not in text, text
    for needle in needles:
        assert needle in text, text


@pytest.fixture
def on_tmpfs(prepared, tmp_path):
    """The demo station copied onto its own 24 MB tmpfs."""
    base, _ = prepared
    with tmpfs(tmp_path / "disk", "24m") as disk:
        data = disk / "data"
        shutil.copytree(base / "data", data)
        yield Station(data, base)


def test_full_data_disk_is_said_in_words_and_loses_nothing(on_tmpfs):
    station = on_tmpfs
    assert station.ingest(0).returncode == 0
    before = station.facts()
    filler = fill(station.data.parent, leave_bytes=16 * 1024)
    full = station.ingest(1)
    assert full.returncode == 3, full.stdout + full.stderr
    _in_words(full, "disk is full", str(station.data))
    assert station.facts() == before                       # nothing half-written
    check = station("fsck", "--json")                      # reading still works on a full disk
    assert check.returncode == 0, check.stdout
    filler.unlink()
    again = station.ingest(1)
    assert again.returncode == 0, again.stderr
    after = station.facts()
    assert after["captures"] == before["captures"] + 1
    assert all(after[t] >= before[t] for t in before)
    assert station("fsck").returncode == 0


def test_full_usb_stick_for_an_export(on_tmpfs, tmp_path):
    station = on_tmpfs
    for i in range(3):
        assert station.ingest(i).returncode == 0
    with tmpfs(tmp_path / "usb", "96k") as usb:
        full = station("export", "build", "--out", str(usb))
        assert full.returncode == 3, full.stdout + full.stderr
        _in_words(full, "disk is full", str(usb))
    assert station.facts()["export_index"] == 0            # nothing recorded as exported
    with tmpfs(tmp_path / "usb2", "8m") as usb:
        done = station("export", "build", "--out", str(usb), "--json")
        assert done.returncode == 0, done.stderr
        assert done.json()["photos"] == 3
    assert station.facts()["export_index"] == 3
    assert station("fsck").returncode == 0


def test_read_only_data_folder(on_tmpfs, tmp_path):
    station = on_tmpfs
    assert station.ingest(0).returncode == 0
    out = tmp_path / "out"
    built = station("export", "build", "--out", str(out), "--json")
    assert built.returncode == 0, built.stderr
    before = station.facts()
    remount(station.data.parent, read_only=True)
    try:
        for args in (("fsck", "--json"), ("operator", "list", "--json"),
                     ("report", "daily", "--format", "json"),
                     ("export", "verify", built.json()["path"], "--json")):
            r = station(*args)
            assert r.returncode == 0, (args, r.stdout, r.stderr)
            _in_words(r)
        refused = station.ingest(1)
        assert refused.returncode == 3
        _in_words(refused, "read-only", str(station.data))
        export = station("export", "build", "--out", str(tmp_path / "out2"))
        assert export.returncode == 3
        _in_words(export, "read-only")
    finally:
        remount(station.data.parent, read_only=False)
    assert station.facts() == before
    assert station.ingest(1).returncode == 0


def test_read_only_export_target(on_tmpfs, tmp_path):
    station = on_tmpfs
    assert station.ingest(0).returncode == 0
    with tmpfs(tmp_path / "usb", "8m") as usb:
        remount(usb, read_only=True)
        r = station("export", "build", "--out", str(usb))
        assert r.returncode == 3
        _in_words(r, "read-only", str(usb))
    assert station.facts()["export_index"] == 0


def test_camera_capture_onto_a_read_only_stick_is_a_medium_fault(tmp_path):
    # as for every other output (export, report, crop, bundle): exit 3 with the medium's words,
    # said before the shutter fires — not "no permission", exit 2
    with tmpfs(tmp_path / "usb", "1m") as usb:
        remount(usb, read_only=True)
        r = run_station_cmd(["--lang", "en", "camera", "capture", "--camera", "sim",
                             "--out", str(usb / "a.jpg"), "--json"], tmp_path / "d")
        assert r.returncode == 3, (r.stdout, r.stderr)
        assert r.json()["error"] == "media.read_only"
        _in_words(r, "read-only", str(usb))
