"""Bundle hygiene under SIGKILL (issue 11 items 6-8): a killed `bundle create` leaves no copy of the
database beside the bundle (only a private partial that the next run removes), a killed merge
leaves nothing that keeps fsck warning, and both complete cleanly when run again."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.faultkit import kill_at_marker

ROOT = Path(__file__).resolve().parents[2]


def _killed(data_dir, point: str, *args: str, op: str, tmp: Path) -> None:
    """Run `station ARGS` until it reaches fault point ``point``, then SIGKILL it."""
    marker = tmp / f"marker-{point}"
    marker.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    env.update(PYTHONPATH=str(ROOT), STATION_DATA_DIR=str(data_dir), STATION_PIN="2468",
               STATION_FAULT_PAUSE=point, STATION_FAULT_MARKER=str(marker))
    proc = subprocess.Popen([sys.executable, "-m", "station", "--operator", op, *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kill_at_marker(proc, marker, point)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _fsck_clean(data_dir) -> list[str]:
    """fsck's findings, with orphans judged by every image the facts refer to (export crops too,
    which fsck itself does not know yet: the store helper's item)."""
    from station.store import open_store
    from station.store.fsck import fsck
    from station.store.union import image_references

    with open_store(data_dir) as store:
        referenced = image_references(store.conn)
        out = [f"{f.code} {f.params}" for f in fsck(store)
               if not (f.code == "orphan_image" and f.params.get("sha") in referenced)]
        out += [f"missing {sha}" for sha in referenced if not store.images.verify(sha)]
    return out


def test_killed_bundle_create_leaves_no_database_copy_and_reruns_clean(tmp_path, make_station, idn, cli,
                                                                      enrol):
    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    usb = tmp_path / "usb"
    usb.mkdir()
    for point in ("bundle.snapshot", "bundle.publish"):
        _killed(tmp_path / "a", point, "bundle", "create", "--out", str(usb / "a.zip"), op="tech", tmp=tmp_path)
        beside = sorted(p.name for p in usb.iterdir())
        assert not [n for n in beside if n.endswith(".sqlite3") or n == "a.zip"], beside
        for p in usb.iterdir():                       # at most our own private partial bundle
            assert p.name.startswith(".a.zip.partial-") and _mode(p) == 0o600
        scratch = tmp_path / "a" / "tmp"
        left = [p for p in scratch.rglob("*")]
        assert left, "the killed run's scratch folder is where the copy was"
        assert all(_mode(p) == (0o700 if p.is_dir() else 0o600) for p in left)
    r = cli(tmp_path / "a", "bundle", "create", "--out", usb / "a.zip", op="tech")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in usb.iterdir()) == ["a.zip"] and _mode(usb / "a.zip") == 0o600
    assert list((tmp_path / "a" / "tmp").iterdir()) == []
    make_station(tmp_path / "m", "master", [])
    enrol(tmp_path / "m", tmp_path / "a")
    assert cli(tmp_path / "m", "merge", usb / "a.zip", op="sup").returncode == 0


def test_killed_merges_leave_nothing_behind_and_rerun_clean(tmp_path, make_station, idn, cli, enrol,
                                                           canonical):
    from station.store import open_store
    from station.sync.bundle import create_bundle

    make_station(tmp_path / "a", "st-a", [(idn(1), "张一"), (idn(2), "张二")], seed=1)
    with open_store(tmp_path / "a") as store:
        create_bundle(store, tmp_path / "a.zip")
    make_station(tmp_path / "ref", "master", [])
    enrol(tmp_path / "ref", tmp_path / "a")
    assert cli(tmp_path / "ref", "merge", tmp_path / "a.zip", op="sup").returncode == 0
    expected = canonical(tmp_path / "ref", {"st-a"})
    for point in ("merge.staged", "merge.adopted", "merge.applied"):
        m = tmp_path / point
        make_station(m, "master", [])
        enrol(m, tmp_path / "a")
        _killed(m, point, "merge", str(tmp_path / "a.zip"), op="sup", tmp=tmp_path)
        assert canonical(m, {"st-a"})["captures"] == []            # nothing half-merged
        r = cli(m, "merge", tmp_path / "a.zip", "--json", op="sup")
        assert r.returncode == 0, r.stderr
        assert not r.json()["bundles"][0]["already_imported"]
        assert canonical(m, {"st-a"}) == expected
        assert list((m / "tmp").iterdir()) == []
        assert _fsck_clean(m) == [], point
        assert not list((m / "images").rglob("*.tmp")) and not list(m.glob(".merge-*"))
