"""Report and export defects found by the outside audit, pinned through the real command line."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path


def _today() -> str:
    return datetime.now(timezone(timedelta(hours=8))).date().isoformat()


def test_daily_report_csv_neutralises_formula_cells(station, person, tmp_path):
    """A department '@SUM(1+1)' and a missing student '=HYPERLINK(...)' reach the CSV as text."""
    from station.store import open_store

    today = _today()
    evil = '=HYPERLINK("http://evil.example/","点我")'
    with open_store(station.data_dir) as store:
        store.insert("schedule_slots", {"slot_key": "S1", "date": today, "campus": "呈贡", "room": "A101",
                                        "start": "00:00", "end": "23:59", "departments": ["@SUM(1+1)"],
                                        "expected_count": 1})
        store.insert("roster_entries", {"id_number": person(1)["id_number"], "name": evil,
                                        "student_no": "S1", "department": "@SUM(1+1)", "eligible": 1})
    out = tmp_path / "daily.csv"
    r = station.as_op("tech", "report", "daily", "--date", today, "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    cells = [c for row in rows for c in row]
    assert "'@SUM(1+1)" in cells and "'" + evil in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or c.startswith("-") and c != "-"]


def test_manifest_free_text_is_neutralised_the_same_way_the_verifier_reads_it():
    from station.export.layout import csv_cell

    assert csv_cell("override_reason", "=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert csv_cell("override_reason", "-3") == "-3" and csv_cell("name", "张三") == "张三"


def test_a_department_in_two_slots_counts_each_student_in_the_slot_of_their_capture(
        station, add_people, person, tmp_path, monkeypatch):
    """物理学院 at 08:00–09:00 and again at 10:00–11:00: a student photographed at 10:30 counts in
    the second slot (not the first, which showed the second as 0), and the first slot's batch
    does not take them. (A future day: the store's clock never goes back behind `init`.)"""
    from station.store import clock, open_store

    zone = timezone(timedelta(hours=8))
    at = {"早": datetime(2030, 10, 25, 8, 30, tzinfo=zone), "晚": datetime(2030, 10, 25, 10, 30, tzinfo=zone)}
    with open_store(station.data_dir) as store:
        for key, start, end in (("S1", "08:00", "09:00"), ("S2", "10:00", "11:00")):
            store.insert("schedule_slots", {"slot_key": key, "date": "2030-10-25", "campus": "呈贡",
                                            "room": "A101", "start": start, "end": end,
                                            "departments": ["物理学院"], "expected_count": 2})
    early, late, absent = person(0, department="物理学院"), person(2, department="物理学院"), \
        person(4, department="物理学院")
    for who, when in ((early, at["早"]), (late, at["晚"])):
        monkeypatch.setattr(clock, "now_ms", lambda when=when: int(when.timestamp() * 1000))
        add_people(station.data_dir, [who])
    monkeypatch.undo()
    add_people(station.data_dir, [{**absent, "decisions": []}])

    rep = station.as_op("tech", "report", "daily", "--date", "2030-10-25", "--format", "json").json()
    by_slot = {s["slot"]: s["departments"][0] for s in rep["slots"]}
    assert (by_slot["S1"]["expected"], by_slot["S1"]["accepted"]) == (2, 1)
    assert [m["name"] for m in by_slot["S1"]["missing"]] == [absent["name"]]
    assert (by_slot["S2"]["expected"], by_slot["S2"]["accepted"], by_slot["S2"]["missing"]) == (1, 1, [])

    # the captures were stamped by a clock in 2030, the export runs on today's: the store sees
    # its clock behind and writes only once told the clock is right (then it stops asking)
    for (slot, wanted), confirm in zip((("S1", early), ("S2", late)), (["--clock-is-right"], []),
                                       strict=True):
        built = station.as_op("tech", *confirm, "export", "build", "--slot", slot,
                              "--out", str(tmp_path / slot), "--json")
        assert built.returncode == 0, built.stderr
        assert built.json()["photos"] == 1, built.json()
        manifest = (Path(built.json()["path"]) / "manifest.json").read_text("utf-8")
        assert wanted["id_number"] in manifest, (slot, manifest[:400])


def test_daily_report_masks_missing_id_numbers_unless_asked_and_audited(station, person):
    import sqlite3

    from station.privacy import mask_id
    from station.store import open_store

    today = _today()
    idn = person(1)["id_number"]
    with open_store(station.data_dir) as store:
        store.insert("schedule_slots", {"slot_key": "S1", "date": today, "campus": "呈贡", "room": "A101",
                                        "start": "00:00", "end": "23:59", "departments": ["物理学院"],
                                        "expected_count": 1})
        store.insert("roster_entries", {"id_number": idn, "name": "缺席者", "student_no": "S1",
                                        "department": "物理学院", "eligible": 1})
    shown = station.as_op("tech", "report", "daily", "--date", today)
    assert shown.returncode == 0, shown.stderr
    assert idn not in shown.stdout and mask_id(idn) in shown.stdout
    full = station.as_op("tech", "report", "daily", "--date", today, "--full-ids")
    assert full.returncode == 0 and idn in full.stdout
    conn = sqlite3.connect(station.data_dir / "station.sqlite3")
    actions = [a for (a,) in conn.execute("SELECT action FROM audit")]
    assert actions.count("report.full_ids") == 1


def test_batch_report_names_the_field_and_reason_of_an_unsafe_value_never_the_value(
        station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(1, name="=1+1"), person(2)])
    out = tmp_path / "out"
    built = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert built.returncode == 0, built.stderr
    (skipped,) = [s for s in built.json()["not_in_batch"] if s["reason"] == "unsafe"]
    assert skipped["detail"] == "name: formula"
    reports = list(out.rglob("*.report.json"))
    assert reports
    for report in reports:
        text = report.read_text("utf-8")
        assert "=1+1" not in text and "1+1" not in text and "name: formula" in text


def _zip_of_zeros(path: Path, member: str, mib: int) -> Path:
    """A zip whose one member is ``mib`` MiB of zeros: a few KB per 10 MiB on the medium."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(member, "w") as out:
        block = bytes(1 << 20)
        for _ in range(mib):
            out.write(block)
    return path


def test_verify_refuses_a_zip_bomb_before_unpacking_it(station, tmp_path):
    """`export verify` unpacks a zip of a whole batch into temporary space: 64 KB claiming 64 MiB
    of zeros was written out in full (a 300 KB one wrote 300 MB; one of a few hundred MB fills the
    disk the store lives on). It is judged before a byte is unpacked now: exit 1, the member and
    its expansion named, nothing written."""
    import tempfile

    bomb = _zip_of_zeros(tmp_path / "bomb.zip", "b/photos.bin", 64)
    assert bomb.stat().st_size < 200_000
    before = set(Path(tempfile.gettempdir()).glob(".verify-*"))
    r = station("--lang", "en", "export", "verify", str(bomb), "--json")
    assert r.returncode == 1, r.stderr
    (problem,) = r.json()["problems"]
    assert (problem["file"], problem["problem"]) == ("bomb.zip:b/photos.bin", "zip_expansion"), problem
    assert "zip bomb" in problem["message_en"] and "压缩炸弹" in problem["message_zh"]
    assert set(Path(tempfile.gettempdir()).glob(".verify-*")) == before


def test_verify_reports_a_damaged_zip_member_instead_of_crashing(station, tmp_path):
    """A member whose bytes fail their CRC (or are cut short) ended `export verify` with
    "Unexpected error: BadZipFile" (exit 2); it is a problem of the batch now: exit 1, the zip
    and the member named."""
    import zipfile

    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("b/manifest.json", '{"format": "capture-station-batch/1", "pad": "' + "x" * 64 + '"}')
    data = bytearray(damaged.read_bytes())
    data[data.find(b"xxxx")] = ord("y")
    damaged.write_bytes(bytes(data))
    r = station("--lang", "en", "export", "verify", str(damaged), "--json")
    assert r.returncode == 1, r.stderr
    assert "Unexpected" not in r.stdout + r.stderr
    (problem,) = r.json()["problems"]
    assert (problem["file"], problem["problem"]) == ("damaged.zip:b/manifest.json", "bad_zip"), problem
    assert "CRC" in problem["message_en"]


def test_verify_reports_symbolic_links_in_a_batch_and_reads_nothing_behind_them(station, add_people,
                                                                                person, tmp_path):
    """A batch whose photo was swapped for a link to a copy outside it verified as intact: the
    folder no longer held the photo (a copy to the upload medium takes the link; the target can
    change after the check), and verify read whatever the link named. Each link is reported now
    (exit 1) and nothing in the batch is read."""
    import os

    add_people(station.data_dir, [person(i) for i in range(2)])
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json")
    assert r.returncode == 0, r.stderr
    batch = Path(r.json()["path"])
    photo = sorted((batch / "upload").iterdir())[0]
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(photo.read_bytes())
    photo.unlink()
    os.symlink(outside, photo)
    v = station("--lang", "en", "export", "verify", str(batch), "--json", "--no-frame-checks")
    assert v.returncode == 1, v.stderr
    assert [(p["file"], p["problem"]) for p in v.json()["problems"]] == [(f"upload/{photo.name}", "symlink")]
    assert "symbolic link" in v.json()["problems"][0]["message_en"]


def test_verify_unpacks_a_whole_batch_zip_inside_the_data_folder_and_a_killed_one_is_swept(
        station, add_people, person, tmp_path):
    """A zip of a whole batch (ID numbers, names, photos) was unpacked into the system's /tmp: a
    verify killed there left that copy for good, where no purge looks. README: temporary copies
    live only in the data folder's tmp/. It is unpacked there now, and the next command that uses
    the scratch space removes what a killed verify left."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    add_people(station.data_dir, [person(0), person(1)])
    out = tmp_path / "out"
    built = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert built.returncode == 0, built.stderr
    folder = Path(built.json()["path"])
    whole = Path(shutil.make_archive(str(tmp_path / "whole"), "zip", folder.parent, folder.name))
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    marker = tmp_path / "paused"
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    env.update(PYTHONPATH=str(root), STATION_DATA_DIR=str(station.data_dir), TMPDIR=str(system_tmp),
               STATION_FAULT_PAUSE="export.verify.unpacked", STATION_FAULT_MARKER=str(marker))
    proc = subprocess.Popen([sys.executable, "-m", "station", "export", "verify", str(whole), "--no-frame-checks"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert list(system_tmp.iterdir()) == []
        unpacked = [p for p in (station.data_dir / "tmp").iterdir() if p.name.startswith("verify-")]
        assert len(unpacked) == 1 and any(unpacked[0].rglob("manifest.json")), unpacked
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    again = station("export", "verify", str(whole), "--no-frame-checks", env={"TMPDIR": str(system_tmp)})
    assert again.returncode == 0, again.stdout + again.stderr
    assert not [p for p in (station.data_dir / "tmp").iterdir() if p.name.startswith("verify-")]
    assert list(system_tmp.iterdir()) == []


def test_verify_of_a_file_that_is_no_zip_says_so_in_the_readers_language(station, tmp_path):
    """`export verify 名单.csv` (a file, not a batch) said "zip 文件无法读取：File is not a zip file":
    the library's English inside the Chinese message, and no word of what to give instead."""
    stray = tmp_path / "名单.csv"
    stray.write_text("身份证号,姓名\n", "utf-8")
    zh = station("export", "verify", str(stray))
    assert zh.returncode == 1, zh.stdout + zh.stderr
    assert "File is not a zip file" not in zh.stdout and "不是 zip 文件" in zh.stdout and "批次文件夹" in zh.stdout
    en = station("--lang", "en", "export", "verify", str(stray), "--json")
    (problem,) = en.json()["problems"]
    assert problem["problem"] == "not_a_zip" and "nor a zip file" in problem["message_en"], problem
