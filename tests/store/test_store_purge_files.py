"""`station purge` and what the station wrote outside its data folder (station.store.written):
batch folders and the reports beside them, print sheets and bundles it recorded are removed once
everyone they hold is purged; files it did not write, symlinks, changed files and paths that now
lead elsewhere are left and reported; an unmounted stick is tried again; a killed purge carries on."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.exports.conftest import add_people, person
from tests.faultkit import kill_at_marker

from .conftest import PIN, SUPERVISOR

ROOT = Path(__file__).resolve().parents[2]


def _export(run, out: Path) -> tuple[str, Path]:
    r = run("export", "build", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    doc = r.json()
    return doc["batch_id"], Path(doc["path"])


def _two_confirmed_batches(run, data: Path, out: Path) -> tuple[Path, Path]:
    """Person 0 exported in one batch, person 1 in the next, both confirmed: their folders."""
    add_people(data, [person(0)])
    first, folder1 = _export(run, out)
    add_people(data, [person(1)])
    second, folder2 = _export(run, out)
    assert run("export", "confirm", first, second).returncode == 0
    return folder1, folder2


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def _audit(data: Path, action: str) -> list[dict]:
    conn = sqlite3.connect(data / "station.sqlite3")
    try:
        return [json.loads(r[0]) for r in conn.execute(
            "SELECT details FROM audit WHERE action = ? ORDER BY seq", (action,))]
    finally:
        conn.close()


def test_purge_removes_what_the_station_wrote_and_nothing_else(station_cli, tmp_path):
    run, data = station_cli, station_cli.data_dir
    people = [person(0), person(1)]
    add_people(data, people)
    out = tmp_path / "usb"
    out.mkdir()
    (out / "notes.txt").write_text("the operator's own file")             # not the station's
    batch, folder = _export(run, out)
    report = folder.with_name(folder.name + ".report.json")
    assert report.is_file() and (folder / "manifest.json").is_file()
    (folder / "readme-by-hand.txt").write_text("dropped in by someone")      # not the station's
    sheets = out / "sheets.pdf"
    printed = run("print", "sheets", "--out", str(sheets))
    assert printed.returncode == 0, printed.stderr
    bundle = tmp_path / "stick" / "st-a.zip"
    assert run("bundle", "create", "--out", str(bundle)).returncode == 0
    assert run("export", "confirm", batch).returncode == 0
    dry = run("purge", "--dry-run", "--json")
    assert dry.returncode == 0 and dry.json()["plan"]["people"] == 2
    assert folder.is_dir() and bundle.is_file()                             # a dry run changes nothing
    r = run("--lang", "en", "purge", "--json")
    assert r.returncode == 0, r.stderr
    outcomes = {o["kind"]: o for o in r.json()["result"]["files"]}
    assert {k: o["status"] for k, o in outcomes.items()} == {
        "batch": "foreign", "batch_report": "removed", "print_sheets": "removed", "bundle": "removed"}
    assert outcomes["batch"]["left"] == ["readme-by-hand.txt"]
    assert _files(folder) == {"readme-by-hand.txt"}                      # only what it did not write
    assert not report.exists() and not bundle.exists() and not sheets.exists()
    assert (out / "notes.txt").read_text() == "the operator's own file"
    blob = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "data" not in p.parts)
    for p in people:
        assert p["id_number"].encode() not in blob and p["name"].encode() not in blob
    [audited] = _audit(data, "purge.files")
    assert audited["removed"] == 4 and audited["left"] == 0
    assert _audit(data, "print.sheets")[0]["photos"] == 2
    again = run("--lang", "en", "purge", "--json")                       # idempotent: nothing to do
    assert again.returncode == 0 and "files" not in again.json()
    assert len(_audit(data, "purge.files")) == 1


def test_a_daily_report_written_out_is_removed_once_everyone_is_purged(station_cli, tmp_path):
    """`report daily --out` puts the missing students' names and student numbers (with
    `--full-ids` their ID numbers) on the stick, next to the batches; the purge removed the
    batches and print sheets and left the reports."""
    run, data = station_cli, station_cli.data_dir
    add_people(data, [person(0)])
    usb = tmp_path / "usb"
    usb.mkdir()
    batch, _folder = _export(run, usb)
    reports = [usb / "日报.csv", usb / "日报.json"]
    for path in reports:
        r = run("report", "daily", "--full-ids", "--out", str(path))
        assert r.returncode == 0 and path.is_file(), r.stderr
    assert run("export", "confirm", batch).returncode == 0
    r = run("--lang", "en", "purge", "--json")
    assert r.returncode == 0, r.stderr
    outcomes = [(Path(o["path"]).name, o["kind"], o["status"]) for o in r.json()["result"]["files"]]
    assert ("日报.csv", "daily_report", "removed") in outcomes and ("日报.json", "daily_report", "removed") in outcomes
    assert not any(p.exists() for p in reports)


def test_a_batch_of_people_not_purged_stays(station_cli, tmp_path):
    """`--until` purges the earlier people: a batch holding a later one stays, whole."""
    run, data = station_cli, station_cli.data_dir
    folder1, folder2 = _two_confirmed_batches(run, data, tmp_path / "out")
    from station.store import open_store
    from station.store import purge as purging

    with open_store(data) as store:
        the_plan = purging.plan(store)
        the_plan.people = [person(0)["id_number"]]            # only the first person
        the_plan.persons = 1
        the_plan.images = []
        result = purging.purge(store, the_plan, SUPERVISOR)
    assert [(o["kind"], o["status"]) for o in result.files] == [("batch", "removed"),
                                                                ("batch_report", "removed")]
    assert not folder1.exists() and (folder2 / "manifest.json").is_file()


def test_symlinks_changed_files_and_unmounted_sticks_are_left_and_reported(station_cli, tmp_path):
    run, data = station_cli, station_cli.data_dir
    add_people(data, [person(0)])
    a, folder_a = _export(run, tmp_path / "a")
    add_people(data, [person(1)])
    b, folder_b = _export(run, tmp_path / "b")
    add_people(data, [person(2)])
    c, folder_c = _export(run, tmp_path / "stick")
    assert run("export", "confirm", a, b, c).returncode == 0
    # a: the batch folder replaced by a symlink to someone else's folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "manifest.json").write_text("not the station's")
    moved = tmp_path / "moved-away"
    folder_a.rename(moved)
    folder_a.symlink_to(elsewhere, target_is_directory=True)
    # b: one photo replaced after the export
    photo = sorted((folder_b / "upload").iterdir())[0]
    photo.write_bytes(b"another picture")
    # c: the stick is not mounted
    unmounted = tmp_path / "stick-unplugged"
    (tmp_path / "stick").rename(unmounted)
    r = run("--lang", "en", "purge", "--json")
    assert r.returncode == 0, r.stderr
    status = {Path(o["path"]).name: o for o in r.json()["result"]["files"]}
    assert status[folder_a.name]["status"] == "symlink"
    assert status[folder_b.name]["status"] == "changed"
    from station.privacy import scrub

    assert status[folder_b.name]["left"] == [scrub(f"upload/{photo.name}")]
    assert person(1)["id_number"] not in r.stdout               # photos are named by ID number
    assert status[folder_c.name]["status"] == "unreachable"
    assert (elsewhere / "manifest.json").read_text() == "not the station's"
    assert _files(folder_b) == {"upload", f"upload/{photo.name}"}           # the rest went
    assert (unmounted / folder_c.name / "manifest.json").is_file()
    # words for the operator, both languages
    shown = run("--lang", "en", "purge")
    assert "USB stick not mounted" in shown.stdout and "symbolic link" in shown.stdout
    assert "changed or replaced" in shown.stdout
    zh = run("purge")
    assert "U 盘未插入" in zh.stdout and "符号链接" in zh.stdout
    # the stick is back: the next purge finishes the job
    unmounted.rename(tmp_path / "stick")
    done = run("purge", "--json")
    assert done.returncode == 0
    assert {Path(o["path"]).name: o["status"] for o in done.json()["files"]}[folder_c.name] == "removed"
    assert not folder_c.exists()


def test_a_purge_killed_while_removing_files_carries_on(station_cli, tmp_path):
    run, data = station_cli, station_cli.data_dir
    folder_a, folder_b = _two_confirmed_batches(run, data, tmp_path / "out")
    marker = tmp_path / "paused"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    env.update(PYTHONPATH=str(ROOT), STATION_DATA_DIR=str(data), STATION_OPERATOR=SUPERVISOR,
               STATION_PIN=PIN, STATION_FAULT_PAUSE="purge.file_removed", STATION_FAULT_MARKER=str(marker))
    proc = subprocess.Popen([sys.executable, "-m", "station", "purge"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kill_at_marker(proc, marker, "purge.file_removed")
    conn = sqlite3.connect(data / "station.sqlite3")
    ids = [r[0] for r in conn.execute("SELECT DISTINCT id_number FROM captures")]
    marked = conn.execute("SELECT COUNT(*) FROM written_paths WHERE purge_id IS NOT NULL "
                          "AND removed_ms IS NULL").fetchone()[0]
    conn.close()
    assert all("#" in i for i in ids)                   # the store's part is whole
    assert marked == 4                                   # the intent is recorded, none finished
    r = run("--lang", "en", "purge", "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["plan"]["people"] == 0
    assert {o["status"] for o in r.json()["files"]} == {"removed"} and len(r.json()["files"]) == 4
    assert not folder_a.exists() and not folder_b.exists()
    assert list((tmp_path / "out").iterdir()) == []
    assert run("fsck", "--json", operator=None).returncode == 0
