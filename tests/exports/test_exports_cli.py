"""`station export build/verify` end to end: a real store, real processes, real files."""

from __future__ import annotations

import hashlib
import json
import signal
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
    r = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert doc["photos"] == 7 and doc["new"] == 7
    from station.privacy import mask_id, mask_name
    outside = {person(6)["id_number"]: "unpaid", person(7)["id_number"]: "rejected",
               person(8)["id_number"]: "unverified", person(10)["id_number"]: "not_accepted",
               person(11)["id_number"]: "not_captured"}
    reasons = {s["id_number"]: s["reason"] for s in doc["not_in_batch"]}
    assert reasons == {mask_id(k): v for k, v in outside.items()}          # masked on stdout (issue 11)
    assert {s["name"] for s in doc["not_in_batch"]} == {mask_name(person(i)["name"]) for i in (6, 7, 8, 10)} | {"未*者"}
    assert not any(idn in r.stdout for idn in outside)
    batch = Path(doc["path"])
    assert sorted(p.name for p in out.iterdir()) == sorted([batch.name, batch.name + ".report.json"])
    assert Path(doc["zip"]) == batch / f"{batch.name}.zip"
    beside = (out / (batch.name + ".report.json")).read_text("utf-8")
    report = json.loads(beside)
    assert {s["id_number"]: s["reason"] for s in report["not_in_batch"]} == reasons
    assert not any(idn in beside for idn in outside)                  # nothing in full on the medium
    assert not any(person(i)["name"] in beside for i in (6, 7, 8, 10))
    private = Path(doc["private_report"])
    assert private.parent == station.data_dir / "export-reports" and private.stat().st_mode & 0o077 == 0
    full = json.loads(private.read_text("utf-8"))
    assert {s["id_number"]: s["reason"] for s in full["not_in_batch"]} == outside
    # every person of the selection is in the batch or in the report
    manifest = json.loads((batch / "manifest.json").read_text("utf-8"))
    in_batch = {i["id_number"] for i in manifest["items"]}
    assert in_batch | set(outside) == {p["id_number"] for p in people} | {person(11)["id_number"]}
    assert not in_batch & set(outside)

    v = station("export", "verify", str(batch), "--json", "--no-frame-checks")
    assert v.returncode == 0, v.stdout + v.stderr
    assert v.json()["ok"] and v.json()["key_trusted"] and v.json()["photos"] == 7

    # nothing is exported twice by accident
    r2 = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert r2.returncode == 0 and r2.json()["path"] is None
    assert {s["reason"] for s in r2.json()["not_in_batch"]} >= {"already_exported"}

    # rebuilding by id gives the same bytes, zip included
    again = tmp_path / "again"
    r3 = station.as_op("tech", "export", "build", "--out", str(again), "--batch", doc["batch_id"], "--json")
    assert r3.returncode == 0, r3.stderr
    assert _tree(Path(r3.json()["path"])) == _tree(batch)
    assert Path(r3.json()["zip"]).read_bytes() == Path(doc["zip"]).read_bytes()
    assert Path(r3.json()["report"]).read_bytes() == (out / (batch.name + ".report.json")).read_bytes()

    # elsewhere (another data folder, no key of ours) the batch is not trusted: exit 1 ...
    elsewhere = ["--data-dir", str(tmp_path / "elsewhere")]
    v0 = station(*elsewhere, "export", "verify", str(batch), "--json", "--no-frame-checks")
    assert v0.returncode == 1 and not v0.json()["key_trusted"]
    assert [p["problem"] for p in v0.json()["problems"]] == ["untrusted_key"]
    # ... until the receiver names our public key
    k = station("key", "export", "--out", str(tmp_path / "st1.pub"), "--json")
    assert k.returncode == 0, k.stderr
    v2 = station(*elsewhere, "export", "verify", str(batch), "--key", str(tmp_path / "st1.pub"), "--json",
                 "--no-frame-checks")
    assert v2.returncode == 0 and v2.json()["ok"] and v2.json()["key_source"] == "given"


def test_verify_missing_or_malformed_batch_in_words(station, tmp_path):
    missing = station("--lang", "en", "export", "verify", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr and "nope" in missing.stderr
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"format": "capture-station-batch/1", "files": 3}', "utf-8")
    bad = station("--lang", "en", "export", "verify", str(folder), "--json")
    assert bad.returncode == 1, bad.stderr
    assert "Unexpected" not in bad.stdout + bad.stderr
    assert bad.json()["problems"][0]["problem"] == "manifest_field"


def test_photographer_is_refused(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(1)])
    r = station.as_op("photo", "export", "build", "--out", str(tmp_path / "b"))
    assert r.returncode == 2
    assert not (tmp_path / "b").exists()


def test_verify_reports_tampering_precisely(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(i) for i in range(3)])
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json")
    batch = Path(r.json()["path"])
    photo = sorted((batch / "upload").iterdir())[0]
    photo.write_bytes(photo.read_bytes()[:-100] + b"\xff\xd9")
    v = station("--lang", "en", "export", "verify", str(batch), "--no-frame-checks")
    assert v.returncode == 1
    assert f"upload/{photo.name}: checksum mismatch" in v.stdout
    assert "does not match the SHA-256" in v.stdout


@pytest.mark.parametrize("target", ["roster_entries", "captures"])
def test_corrections_after_upload_go_into_the_corrections_list(station, add_people, person, tmp_path, target):
    """A name corrected (on the roster entry, or on the capture from the review screen) and a newer
    photo accepted after upload: both are listed for the pipeline team with the earlier batch,
    neither is a second photo in an upload folder (issue 12.6), and each is listed once."""
    add_people(station.data_dir, [person(i) for i in range(3)])
    first = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json").json()
    from station.store import open_store
    with open_store(station.data_dir) as store:
        entry = store.roster.get(person(1)["id_number"])
        target_id = entry.id if target == "roster_entries" else store.person_state(entry.id_number).accepted_capture_id
        store.facts.record_correction(target, target_id, "name", entry.name, "更正名", reason="typo",
                                      operator="tech")
    add_people(station.data_dir, [person(2, decisions=["accept"], seed=77, on_roster=False, paid_cents=0)])
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json")
    assert r.returncode == 0, r.stderr
    second = r.json()
    assert second["photos"] == 0 and second["corrections"] == 2 and second["zip"] is None
    batch = Path(second["path"])
    assert list((batch / "upload").iterdir()) == []
    doc = json.loads((batch / "manifest.json").read_text("utf-8"))
    assert doc["items"] == []
    fixes = {f["id_number"]: f for f in doc["corrections"]}
    assert set(fixes) == {person(1)["id_number"], person(2)["id_number"]}
    assert all(f["replaces_batch"] == first["batch_id"] for f in fixes.values())
    named = fixes[person(1)["id_number"]]
    assert named["correction"] == "record" and named["name"] == "更正名" and named["file_name"] == ""
    assert named["changes"] == [{"field": "name", "old": person(1)["name"], "new": "更正名"}]
    newer = fixes[person(2)["id_number"]]
    assert newer["correction"] == "photo" and (batch / "corrections" / newer["file_name"]).is_file()
    csv_text = (batch / "corrections.csv").read_bytes().decode("gbk")
    assert "更正信息" in csv_text and "更正照片" in csv_text and first["batch_id"] in csv_text
    assert f"姓名：{person(1)['name']}→更正名" in csv_text
    v = station("export", "verify", str(batch), "--no-frame-checks", "--json")
    assert v.returncode == 0, v.stdout
    third = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json").json()
    assert third["path"] is None                                   # each correction is listed once
    assert {s["reason"] for s in third["not_in_batch"]} == {"already_exported"}


def test_sigkill_leaves_nothing_half_written(station, add_people, person, tmp_path, paused_build):
    add_people(station.data_dir, [person(i) for i in range(40)])
    out = tmp_path / "o"
    proc = paused_build(station, out, "export.photos_written")
    assert len(list(out.glob(".*.partial-*/upload/*.jpg"))) == 40      # every photo written, not recorded
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    visible = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert visible == []                                   # nothing that looks like a batch
    r = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["photos"] == 40
    assert sorted(p.name for p in out.iterdir()) == [Path(r.json()["path"]).name,
                                                     Path(r.json()["path"]).name + ".report.json"]
    assert station("export", "verify", r.json()["path"], "--no-frame-checks").returncode == 0


def test_sigint_cancels_cleanly(station, add_people, person, tmp_path, paused_build):
    """Ctrl-C while the batch is being written: exit 130, no folder, nothing recorded.

    The export pauses at a named point after its photos are on disk (not a race against a
    throttle: this once failed on a busy machine because the export had finished first).
    """
    add_people(station.data_dir, [person(i) for i in range(30)])
    out = tmp_path / "o"
    proc = paused_build(station, out, "export.photos_written")
    assert list(out.glob(".*.partial-*/upload/*.jpg"))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert list(out.iterdir()) == []
    from station.store import open_store
    with open_store(station.data_dir) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM exports").fetchone()[0] == 0
        assert store.exports.pending() == []


def test_verify_trusts_a_station_enrolled_here_for_its_own_id(station, add_people, person, tmp_path):
    """A batch of another station verifies here once a supervisor enrolled that station's key, and
    only for the station id it was enrolled under (issue 11)."""
    import shutil

    from station.export.layout import checksums, parse_checksums
    from station.keys import encode_signature, ensure_station_key

    other = tmp_path / "other"
    env = {"STATION_PIN": "2468"}
    assert station("--data-dir", str(other), "init", "--station-id", "st2", "--supervisor", "sup",
                   env=env).returncode == 0
    add_people(other, [person(i) for i in range(2)])
    built = station("--data-dir", str(other), "--operator", "sup", "export", "build", "--out",
                    str(tmp_path / "o"), "--json", env=env)
    assert built.returncode == 0, built.stderr
    batch = Path(built.json()["path"])
    before = station("export", "verify", str(batch), "--no-frame-checks", "--json")
    assert before.returncode == 1 and before.json()["problems"][0]["problem"] == "untrusted_key"
    assert station("--data-dir", str(other), "key", "export", "--out", str(tmp_path / "st2.pub")).returncode == 0
    assert station.as_op("sup", "trust", "add", str(tmp_path / "st2.pub")).returncode == 0
    after = station("export", "verify", str(batch), "--no-frame-checks", "--json")
    assert after.returncode == 0, after.stdout
    assert after.json()["key_source"] == "enrolled" and after.json()["station_id"] == "st2"

    forged = tmp_path / "forged" / batch.name          # st2's key signing a batch that claims st9
    shutil.copytree(batch, forged)
    doc = json.loads((forged / "manifest.json").read_text("utf-8"))
    doc["station_id"] = "st9"
    raw = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    (forged / "manifest.json").write_bytes(raw)
    (forged / "manifest.json.sig").write_bytes(encode_signature(ensure_station_key(other).sign(raw)))
    sums = parse_checksums((forged / "SHA256SUMS").read_bytes(), "SHA256SUMS")
    for name in ("manifest.json", "manifest.json.sig"):
        sums[name] = hashlib.sha256((forged / name).read_bytes()).hexdigest()
    (forged / "SHA256SUMS").write_bytes(checksums(sums))
    claimed = station("export", "verify", str(forged), "--no-frame-checks", "--json")
    assert claimed.returncode == 1
    assert [p["problem"] for p in claimed.json()["problems"]] == ["station_mismatch"]


def test_a_department_nobody_has_is_a_typo_not_nothing_to_export(station, add_people, person, tmp_path):
    """`export build --department 物理学` (one character short) said "no photos waiting", and
    `print sheets` "nothing to print": the technician went looking for missing photos. Both
    now refuse the option (exit 2) naming the departments there are; a real one still works."""
    add_people(station.data_dir, [person(0), person(1)])          # 物理学院, 化学学院
    out = tmp_path / "out"
    for args in (["export", "build", "--out", str(out)], ["print", "sheets", "--out", str(tmp_path / "s.pdf")]):
        r = station.as_op("tech", *args, "--department", "物理学", "--json")
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        doc = r.json()
        assert doc["error"] == "exports.unknown_department" and doc["file"] == "--department"
        assert "物理学院、化学学院" in doc["message_zh"] or "化学学院、物理学院" in doc["message_zh"]
    assert not out.exists() and not (tmp_path / "s.pdf").exists()
    ok = station.as_op("tech", "export", "build", "--out", str(out), "--department", "物理学院", "--json")
    assert ok.returncode == 0, ok.stderr
    assert ok.json()["photos"] == 1
    sheets = station.as_op("tech", "print", "sheets", "--out", str(tmp_path / "s.pdf"), "--department", "化学学院")
    assert sheets.returncode == 0, sheets.stderr


def test_a_school_code_not_configured_is_a_typo_not_nothing_to_export(station, add_people, person, tmp_path):
    """`export build --school-code 10764` (digits swapped) said "no photos waiting"; like `roster
    import`, export and print sheets now take only the station's school or one under [schools]."""
    add_people(station.data_dir, [person(0)])
    for args in (["export", "build", "--out", str(tmp_path / "out")],
                 ["print", "sheets", "--out", str(tmp_path / "s.pdf")]):
        r = station.as_op("tech", *args, "--school-code", "10764", "--json")
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.json()["error"] == "session.unknown_school" and r.json()["file"] == "--school-code"
        walk_in = station.as_op("tech", *args, "--school-code", "10674", "--json")   # configured
        assert walk_in.returncode != 2 or walk_in.json()["error"] != "session.unknown_school"
    ok = station.as_op("tech", "export", "build", "--out", str(tmp_path / "out"), "--school-code", "10673",
                       "--json")
    assert ok.returncode == 0 and ok.json()["photos"] == 1, ok.stderr


def test_a_rebuild_into_the_batchs_own_folder_says_what_to_do_next(station, add_people, person, tmp_path):
    """`export build --batch ID` into the --out that already holds that batch was refused with
    only "the batch folder already exists": it now says how to check the one there (export
    verify) and how to write another copy (another --out), in both languages."""
    add_people(station.data_dir, [person(0)])
    out = tmp_path / "out"
    first = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert first.returncode == 0, first.stderr
    batch = first.json()["batch_id"]
    for lang, words in (("zh", ("station export verify", "--out")), ("en", ("station export verify", "--out"))):
        again = station.as_op("tech", "--lang", lang, "export", "build", "--out", str(out), "--batch", batch)
        assert again.returncode == 2, again.stdout + again.stderr
        assert first.json()["path"] in again.stderr and all(w in again.stderr for w in words), again.stderr


def test_export_help_names_every_action(station):
    for lang in ("zh", "en"):
        r = station("--lang", lang, "export", "--help")
        summary = r.stdout.split("\n\n")[1]
        assert ("确认" if lang == "zh" else "confirm") in summary, r.stdout
