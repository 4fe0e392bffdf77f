"""Batch writer and verifier on real files: layout, determinism, tampering, unsafe names."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
import zipfile

import pytest

from station.errors import InputError
from station.export.profile import load_batch_profile
from station.export.verify import verify_batch
from station.export.writer import ExportCancelled, recover_partials, write_batch


def _tree(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _problems(result):
    return sorted((p.file, p.key) for p in result.problems)


def test_batch_layout_and_verify(tmp_path, make_record, images, station_key):
    profile = load_batch_profile("chsi")
    record = make_record(5)
    res = write_batch(record, profile, tmp_path / "out", images.get_bytes, station_key)
    assert res.path.name == "10673_20260601_01JTESTBATCH0000000000000A"
    files = sorted(p.relative_to(res.path).as_posix() for p in res.path.rglob("*") if p.is_file())
    photos = sorted(f"{i.id_number}.jpg" for i in record.items)
    zip_name = "10673_20260601_01JTESTBATCH0000000000000A.zip"
    assert files == sorted(["SHA256SUMS", "manifest.csv", "manifest.json", "manifest.json.sig", "station.pub",
                            zip_name] + [f"upload/{p}" for p in photos])
    assert res.zip_path == res.path / zip_name
    # the upload folder and its zip hold the photos and nothing else (issue 12.6)
    assert sorted(p.name for p in (res.path / "upload").iterdir()) == photos
    listing = subprocess.run(["unzip", "-Z1", str(res.zip_path)], capture_output=True, text=True, check=True)
    assert sorted(listing.stdout.split()) == photos
    assert subprocess.run(["unzip", "-tq", str(res.zip_path)], capture_output=True).returncode == 0
    with zipfile.ZipFile(res.zip_path) as zf:
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x08
            assert zf.read(info) == (res.path / "upload" / info.filename).read_bytes()
    csv_text = (res.path / "manifest.csv").read_bytes().decode("gbk")
    assert csv_text.startswith("序号,学校代码,身份证号,姓名,学号")
    assert "欧阳娜娜" in csv_text and "\r\n" in csv_text
    doc = json.loads((res.path / "manifest.json").read_text("utf-8"))
    assert doc["counts"]["photos"] == 5 and doc["school_code"] == "10673"
    assert [i["id_number"] for i in doc["items"]] == sorted(i.id_number for i in record.items)
    result = verify_batch(res.path, trusted_keys=[station_key.public_pem()])
    assert result.ok, [p.to_json() for p in result.problems]
    assert result.photos == 5 and result.key_trusted
    # sha256sum -c reads our SHA256SUMS, which covers the upload folder, the zip and the manifest
    assert {line.split("  ")[1] for line in (res.path / "SHA256SUMS").read_text().splitlines()} == \
        set(files) - {"SHA256SUMS"}
    check = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=res.path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_manifest_rendered_during_the_copy_is_the_one_rendered_after(tmp_path, make_record, images, station_key):
    """The writer renders the CSV and the manifest's items while the photos are copied; a profile
    with a file-size column waits for the sizes. Both give the manifest of the rows as written."""
    import dataclasses

    from station.export import layout
    from station.export.profile import Column

    profile = load_batch_profile("chsi")
    record = make_record(6)
    res = write_batch(record, profile, tmp_path / "early", images.get_bytes, station_key)
    doc = json.loads((res.path / "manifest.json").read_text("utf-8"))
    rows = layout.manifest_rows(record, profile)
    assert layout.manifest_items(rows, profile) == layout.render_list(doc["items"])
    assert (res.path / "manifest.csv").read_bytes() == layout.manifest_csv(rows, profile)

    sized = dataclasses.replace(profile, columns=(*profile.columns, Column("文件大小", "bytes")))
    res = write_batch(record, sized, tmp_path / "late", images.get_bytes, station_key)
    doc = json.loads((res.path / "manifest.json").read_text("utf-8"))
    sizes = {i["file_name"]: i["bytes"] for i in doc["items"]}
    assert sizes == {p.name: p.stat().st_size for p in (res.path / "upload").iterdir()}
    csv_lines = (res.path / "manifest.csv").read_bytes().decode("gbk").splitlines()
    assert csv_lines[0].endswith(",文件大小")
    assert sorted(int(line.rsplit(",", 1)[1]) for line in csv_lines[1:]) == sorted(sizes.values())
    result = verify_batch(res.path, trusted_keys=[station_key.public_pem()])
    assert result.ok, [p.to_json() for p in result.problems]


def test_rebuild_is_byte_identical_zip_included(tmp_path, make_record, images, station_key):
    profile = load_batch_profile("chsi")
    record = make_record(6)
    a = write_batch(record, profile, tmp_path / "a", images.get_bytes, station_key)
    record.items.reverse()          # order of selection must not matter
    b = write_batch(record, profile, tmp_path / "b", images.get_bytes, station_key)
    assert _tree(a.path) == _tree(b.path)
    assert a.zip_path.read_bytes() == b.zip_path.read_bytes()
    assert [p.stat().st_mtime for p in sorted(a.path.rglob("*"))] == [p.stat().st_mtime for p in sorted(b.path.rglob("*"))]
    with zipfile.ZipFile(a.zip_path) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == sorted(f"{i.id_number}.jpg" for i in record.items)


@pytest.mark.parametrize("what", ["photo", "manifest_line", "signature", "extra_file", "missing_photo",
                                  "upload_not_photo", "zip_member", "zip_photo"])
def test_tampering_is_detected(tmp_path, make_record, images, station_key, make_photo, what):
    profile = load_batch_profile("chsi")
    res = write_batch(make_record(4), profile, tmp_path / "out", images.get_bytes, station_key)
    folder = res.path
    photo = sorted((folder / "upload").iterdir())[1]
    zip_name = res.zip_path.name
    if what == "photo":
        data = bytearray(photo.read_bytes())
        data[len(data) // 2] ^= 0xFF
        photo.write_bytes(bytes(data))
        expected = {(f"upload/{photo.name}", "checksum"), (f"upload/{photo.name}", "photo_hash")}
    elif what == "upload_not_photo":
        (folder / "upload" / "manifest.csv").write_bytes(b"x")
        expected = {("upload/manifest.csv", "unlisted_file"), ("upload/manifest.csv", "upload_not_photo")}
    elif what in ("zip_member", "zip_photo"):
        with zipfile.ZipFile(res.zip_path, "a") as zf:
            if what == "zip_member":
                zf.writestr("SHA256SUMS", b"x")
            else:
                zf.writestr("530102200001011234.jpg", make_photo(99))
        member = "SHA256SUMS" if what == "zip_member" else "530102200001011234.jpg"
        expected = {(zip_name, "checksum"), (zip_name, "zip_hash"),
                    (f"{zip_name}:{member}", "zip_not_photo" if what == "zip_member" else "zip_extra_member")}
    elif what == "manifest_line":
        lines = (folder / "manifest.csv").read_bytes().decode("gbk").split("\r\n")
        lines[2] = lines[2].replace("李四", "李斯")
        (folder / "manifest.csv").write_bytes("\r\n".join(lines).encode("gbk"))
        expected = {("manifest.csv", "checksum"), ("manifest.csv", "csv_hash"), ("manifest.csv", "csv_line")}
    elif what == "signature":
        sig = folder / "manifest.json.sig"
        import base64
        raw = bytearray(base64.b64decode(sig.read_bytes()))
        raw[0] ^= 1
        sig.write_bytes(base64.b64encode(bytes(raw)) + b"\n")
        expected = {("manifest.json.sig", "checksum"), ("manifest.json.sig", "bad_signature")}
    elif what == "extra_file":
        (folder / "upload" / "530102200001011234.jpg").write_bytes(make_photo(99))
        expected = {("upload/530102200001011234.jpg", "unlisted_file"),
                    ("upload/530102200001011234.jpg", "photo_not_in_manifest")}
    else:
        photo.unlink()
        expected = {(f"upload/{photo.name}", "missing_file"), (f"upload/{photo.name}", "missing_photo")}
    result = verify_batch(folder, trusted_keys=[station_key.public_pem()])
    assert not result.ok
    assert set(_problems(result)) == expected


def test_resigned_manifest_with_other_key_is_not_trusted(tmp_path, make_record, images, station_key):
    """A forged batch re-signed with a fresh key is intact and carries that key: it still fails,
    with or without keys of our own to compare with (issue 11: it passed on another machine)."""
    from station.keys import ensure_station_key, fingerprint

    profile = load_batch_profile("chsi")
    other = ensure_station_key(tmp_path / "other")
    res = write_batch(make_record(2), profile, tmp_path / "out", images.get_bytes, other)
    for trusted in (None, [station_key.public_pem()]):
        result = verify_batch(res.path, trusted_keys=trusted)
        assert _problems(result) == [("manifest.json.sig", "untrusted_key")]
        assert result.problems[0].params["fingerprint"] == fingerprint(other.public_pem())
        assert not result.key_trusted
    given = verify_batch(res.path, trusted_keys=[station_key.public_pem(), other.public_pem()])
    assert given.ok and given.key_trusted and given.key_fingerprint == fingerprint(other.public_pem())


def test_enrolled_key_must_match_the_station_the_batch_names(tmp_path, make_record, images, station_key):
    from station.export.verify import TrustedKey

    profile = load_batch_profile("chsi")
    res = write_batch(make_record(2), profile, tmp_path / "out", images.get_bytes, station_key)
    pem = station_key.public_pem()
    assert verify_batch(res.path, trusted_keys=[TrustedKey(pem, "enrolled", "st1")]).ok
    wrong = verify_batch(res.path, trusted_keys=[TrustedKey(pem, "enrolled", "st9")])
    assert _problems(wrong) == [("manifest.json.sig", "station_mismatch")]


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d.update(files=[]), "files"),
    (lambda d: d.update(items={"a": 1}), "items"),
    (lambda d: d["items"].__setitem__(0, "x"), "items[1]"),
    (lambda d: d["items"][1].update(file_name=None), "items[2].file_name"),
    (lambda d: d["files"].update(csv="../../etc/passwd"), "files.csv"),
    (lambda d: d["files"].update(photos="../.."), "files.photos"),
    (lambda d: d["photo_spec"].update(width="480"), "photo_spec.width"),
    (lambda d: d.pop("batch_id"), "batch_id"),
])
def test_malformed_manifest_is_named_not_a_crash(tmp_path, make_record, images, station_key, mutate, field):
    profile = load_batch_profile("chsi")
    res = write_batch(make_record(3), profile, tmp_path / "out", images.get_bytes, station_key)
    path = res.path / "manifest.json"
    doc = json.loads(path.read_text("utf-8"))
    mutate(doc)
    path.write_text(json.dumps(doc), "utf-8")
    result = verify_batch(res.path, trusted_keys=[station_key.public_pem()])
    assert [(p.file, p.key, p.params) for p in result.problems] == [
        ("manifest.json", "manifest_field", {"field": field})]


@pytest.mark.parametrize("content,error", [
    (b"{not json", "Expecting property name"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[1, 2]", "format is not"),
])
def test_unreadable_manifest_is_named(tmp_path, make_record, images, station_key, content, error):
    profile = load_batch_profile("chsi")
    res = write_batch(make_record(2), profile, tmp_path / "out", images.get_bytes, station_key)
    (res.path / "manifest.json").write_bytes(content)
    result = verify_batch(res.path, trusted_keys=[station_key.public_pem()])
    assert [(p.file, p.key) for p in result.problems] == [("manifest.json", "bad_manifest")]
    assert error in result.problems[0].params["error"]
    assert result.problems[0].to_json()["message_en"].startswith("the batch manifest cannot be read")


@pytest.mark.parametrize("spec_change,key", [
    (dict(size=(500, 640)), "photo.size"),
    (dict(progressive=True), "photo.not_baseline"),
    (dict(dpi=72), "photo.dpi"),
    (dict(quality=40), "photo.quality"),
])
def test_off_spec_photo_is_reported(tmp_path, make_record, images, station_key, make_photo, spec_change, key):
    profile = load_batch_profile("chsi")
    record = make_record(2)
    record.items[0].sha256 = images.put(make_photo(7, **spec_change))
    res = write_batch(record, profile, tmp_path / "out", images.get_bytes, station_key)
    keys = {p.key for p in verify_batch(res.path).problems}
    assert key in keys


@pytest.mark.parametrize("field,value,reason", [
    ("id_number", "../../etc/passwd", "separator"),
    ("id_number", "..", "dots"),
    ("id_number", "5301/0220000101123X", "separator"),
    ("id_number", "53010220000101\n123", "control"),
    ("id_number", "53010220000101\x00123", "control"),
    ("id_number", "", "empty"),
    ("id_number", "CON", "characters"),
    ("id_number", "5301 0220", "characters"),
    ("student_no", "..\\..\\x", "separator"),
    ("name", "张三\r\n李四", "control"),
    ("name", "=cmd|' /C calc'!A0", "formula"),
    ("department", "物理\x1b[31m", "control"),
])
def test_names_that_could_escape_are_refused(tmp_path, make_record, images, station_key, field, value, reason):
    profile = load_batch_profile("chsi")
    if field == "student_no":
        from dataclasses import replace
        profile = replace(profile, photo_name="{student_no}.jpg")
    record = make_record(2)
    setattr(record.items[1], field, value)
    with pytest.raises(InputError) as err:
        write_batch(record, profile, tmp_path / "out", images.get_bytes, station_key)
    assert err.value.key == f"exports.unsafe_name.{reason}"
    assert field in err.value.message and record.items[1].capture_id in err.value.message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_unsafe_names_property(tmp_path, make_record, images, station_key):
    """Whatever the ID field holds, a batch either refuses it or keeps every file inside."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    profile = load_batch_profile("chsi")
    record = make_record(1)
    out = tmp_path / "prop"

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.sampled_from(list("0123456789X./\\\x00\n\r\t :*?<>|") + ["..", "é", "张", "\u202e"]),
                    max_size=24).map("".join))
    def check(value):
        from station.export.layout import item_file_name

        record.items[0].id_number = value
        try:
            name = item_file_name(record.items[0], profile)
        except InputError as exc:
            assert exc.key.startswith("exports.unsafe_name.")
            return
        target = (out / profile.photos_folder / name).resolve()
        assert target.parent == (out / profile.photos_folder).resolve()
        assert all(ch.isalnum() or ch in "-_." for ch in name)

    check()


def test_cancel_leaves_nothing(tmp_path, make_record, images, station_key):
    profile = load_batch_profile("chsi")
    cancel = threading.Event()
    seen = []

    def progress(done, total, stage):
        seen.append((done, stage))
        cancel.set()

    record = make_record(30)
    with pytest.raises(ExportCancelled):
        write_batch(record, profile, tmp_path / "out", images.get_bytes, station_key, progress=progress,
                    cancel=cancel)
    assert seen and list((tmp_path / "out").iterdir()) == []


def test_partial_left_by_a_killed_export_is_cleaned(tmp_path, make_record, images, station_key):
    profile = load_batch_profile("chsi")
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".10673_20260601_X.partial-999999"
    (stale / "photos").mkdir(parents=True)
    (stale / "photos" / "a.jpg").write_bytes(b"half")
    res = write_batch(make_record(2), profile, out, images.get_bytes, station_key)
    assert sorted(p.name for p in out.iterdir()) == [res.path.name]


def test_partial_of_a_live_export_is_left_alone_but_not_one_of_a_reused_pid(tmp_path, make_record, images,
                                                                             station_key):
    """Partial folders carry their writer's pid and start time: another live export's folder is
    never touched; a folder whose pid now belongs to another process (started later) is a
    leftover and goes."""
    from station.fsio import owner_token

    profile = load_batch_profile("chsi")
    out = tmp_path / "out"
    out.mkdir()
    other = subprocess.Popen(["sleep", "60"])
    try:
        live = out / f".10673_20260601_L.partial-{owner_token(other.pid)}"
        reused = out / f".10673_20260601_R.partial-{other.pid}_1"
        for folder in (live, reused):
            (folder / "upload").mkdir(parents=True)
            (folder / "upload" / "a.jpg").write_bytes(b"half")
        res = write_batch(make_record(2), profile, out, images.get_bytes, station_key)
        assert sorted(p.name for p in out.iterdir()) == sorted([res.path.name, live.name])
    finally:
        other.kill()
        other.wait()


def test_recorded_partial_is_completed(tmp_path, make_record, images, station_key):
    """Killed after the store recorded the batch but before the rename: the next run completes it."""
    profile = load_batch_profile("chsi")
    out = tmp_path / "out"
    record = make_record(3)

    class Killed(BaseException):
        pass

    def on_commit(final, flushed):
        raise Killed()

    with pytest.raises(Killed):
        write_batch(record, profile, out, images.get_bytes, station_key, on_commit=on_commit)
    assert list(out.iterdir()) == []        # the store did not record it: nothing is left
    recorded = set()
    import os

    real_rename = os.rename

    def commit(final, flushed):
        flushed()
        recorded.add(record.batch_id)
        os.rename = lambda *a: (_ for _ in ()).throw(Killed())

    try:
        with pytest.raises(Killed):
            write_batch(record, profile, out, images.get_bytes, station_key, on_commit=commit)
    finally:
        os.rename = real_rename
    done = recover_partials(out, lambda b: b in recorded)
    assert done["completed"] == ["10673_20260601_01JTESTBATCH0000000000000A"]
    assert verify_batch(out / done["completed"][0], trusted_keys=[station_key.public_pem()]).ok


def test_record_is_prepared_while_the_flush_runs_and_commits_after_it(tmp_path, make_record, images,
                                                                     station_key, monkeypatch):
    """The batch's one flush runs on its own thread while the store prepares the record; the
    record's ``flushed()`` returns only once the flush is done."""
    import threading

    from station.export import writer

    started, release, synced = threading.Event(), threading.Event(), threading.Event()

    def slow_sync(path):
        started.set()
        release.wait(timeout=60)
        synced.set()

    monkeypatch.setattr(writer, "sync_filesystem", slow_sync)
    seen: dict = {}

    def commit(final, flushed):
        seen["flush_running"] = started.wait(timeout=60) and not synced.is_set()
        release.set()
        flushed()
        seen["synced_before_commit"] = synced.is_set()

    res = writer.write_batch(make_record(3), load_batch_profile("chsi"), tmp_path / "out", images.get_bytes,
                             station_key, on_commit=commit)
    assert seen == {"flush_running": True, "synced_before_commit": True}
    assert res.path.is_dir()


def test_failed_flush_records_nothing_and_leaves_no_folder(station, add_people, person, tmp_path, monkeypatch):
    """The disk refuses the flush (an I/O error): the store's record is rolled back and the
    half-made folder is removed; the captures are due again."""
    import errno

    from station.export import service, writer
    from station.export.selection import Filters
    from station.store import open_store

    add_people(station.data_dir, [person(i) for i in range(3)])

    def broken_sync(path):
        raise OSError(errno.EIO, "Input/output error")

    real_sync = writer.sync_filesystem
    monkeypatch.setattr(writer, "sync_filesystem", broken_sync)
    out = tmp_path / "out"
    with open_store(station.data_dir) as store:
        with pytest.raises(OSError):
            service.build_batch(store, load_batch_profile("chsi"), out, Filters(), operator="tech")
        assert store.conn.execute("SELECT COUNT(*) FROM exports").fetchone()[0] == 0
        assert store.conn.execute("SELECT COUNT(*) FROM export_index").fetchone()[0] == 0
        assert store.exports.pending() == []
    assert list(out.iterdir()) == []
    monkeypatch.setattr(writer, "sync_filesystem", real_sync)
    with open_store(station.data_dir) as store:
        again = service.build_batch(store, load_batch_profile("chsi"), out, Filters(), operator="tech")
    assert again.written is not None and again.written.photos == 3


def test_verify_runs_the_frame_checks(tmp_path, make_record, images, station_key):
    """A file that meets the size/dpi/baseline rules but shows no proper portrait is still caught."""
    import io

    import cv2
    from PIL import Image

    from station.checks import crop_image
    from station.cli.exports import _frame_checker
    from station.sim.portrait import render

    profile = load_batch_profile("chsi")
    record = make_record(2)
    frame, _ = render(1024, 1365)
    ok, encoded = cv2.imencode(".jpg", frame)
    export = crop_image(encoded.tobytes(), "chsi")
    assert Image.open(io.BytesIO(export)).size == (480, 640)
    record.items[0].sha256 = images.put(export)
    res = write_batch(record, profile, tmp_path / "out", images.get_bytes, station_key)
    result = verify_batch(res.path, trusted_keys=[station_key.public_pem()], frame_checker=_frame_checker("chsi"))
    assert result.frame_checks
    framed = {p.file for p in result.problems if p.key == "photo.frame"}
    assert framed == {f"upload/{record.items[1].id_number}.jpg"}, [p.to_json() for p in result.problems]


def test_verify_the_upload_zip_with_the_manifest_beside_it(tmp_path, make_record, images, station_key):
    from station.export.verify import verify_zip

    profile = load_batch_profile("chsi")
    res = write_batch(make_record(3), profile, tmp_path / "out", images.get_bytes, station_key)
    ok = verify_zip(res.zip_path, trusted_keys=[station_key.public_pem()])
    assert ok.ok and ok.photos == 3 and ok.batch_id == "01JTESTBATCH0000000000000A"
    alone = tmp_path / "alone.zip"                    # the zip away from its manifest proves nothing
    alone.write_bytes(res.zip_path.read_bytes())
    lonely = verify_zip(alone, trusted_keys=[station_key.public_pem()])
    assert [(p.file, p.key) for p in lonely.problems] == [("alone.zip", "zip_no_manifest")]


def test_verify_a_zip_of_a_whole_batch_folder(tmp_path, make_record, images, station_key):
    from station.export.verify import verify_zip

    profile = load_batch_profile("chsi")
    res = write_batch(make_record(3), profile, tmp_path / "out", images.get_bytes, station_key)
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w") as zf:
        for path in sorted(res.path.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if path.name == "manifest.csv":
                    data = data.replace("王五".encode("gbk"), "王吴".encode("gbk"))
                zf.writestr(f"{res.path.name}/{path.relative_to(res.path).as_posix()}", data)
        zf.writestr("../escape.txt", b"x")
    problems = {(p.file, p.key) for p in verify_zip(whole, trusted_keys=[station_key.public_pem()]).problems}
    assert ("manifest.csv", "checksum") in problems and ("manifest.csv", "csv_line") in problems
    assert ("../escape.txt", "unsafe_name") in problems
    assert not (tmp_path / "escape.txt").exists()


def test_verify_refuses_a_photo_profile_it_cannot_load_instead_of_skipping_the_checks():
    from station.cli.exports import _frame_checker
    from station.errors import StationError

    with pytest.raises(StationError) as info:
        _frame_checker("no-such-profile")
    assert "no-such-profile" in info.value.message and info.value.exit_code == 2


def test_verify_never_crashes_on_a_hostile_manifest(tmp_path, make_record, images, station_key):
    """Any JSON in place of a field of the manifest: verify reports problems, never raises."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    profile = load_batch_profile("chsi")
    res = write_batch(make_record(2), profile, tmp_path / "out", images.get_bytes, station_key)
    original = json.loads((res.path / "manifest.json").read_text("utf-8"))
    leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
    values = st.recursive(leaves, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
                          max_leaves=8)
    paths = st.sampled_from([("batch_id",), ("files",), ("files", "csv"), ("files", "photos"), ("items",),
                             ("items", 0), ("items", 0, "file_name"), ("items", 1, "sha256"), ("photo_spec",),
                             ("photo_spec", "width"), ("signing_key",), ("station_id",), ("format",)])

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(path=paths, value=values)
    def check(path, value):
        doc = json.loads(json.dumps(original))
        target = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        (res.path / "manifest.json").write_text(json.dumps(doc), "utf-8")
        result = verify_batch(res.path, trusted_keys=[station_key.public_pem()])
        for problem in result.problems:
            problem.to_json()                  # every problem has words
        assert not result.ok                   # re-serialised: at least the signature no longer holds

    check()


def test_a_bad_photo_mid_batch_stops_the_zip_without_hanging(tmp_path, make_record, images, station_key,
                                                             monkeypatch):
    """A photo whose bytes no longer match its hash, while the zip thread waits for it and the
    copy threads wait for the zip: the export stops with the reason and leaves nothing."""
    from station.errors import IntegrityError
    from station.export import writer

    monkeypatch.setattr(writer.ZipFeeder, "WINDOW", 1)
    profile = load_batch_profile("chsi")
    record = make_record(12)
    bad = record.sorted_items()[1].sha256

    def read(sha):
        data = images.get_bytes(sha)
        return data[:-10] + b"\x00" * 8 + data[-2:] if sha == bad else data

    done = threading.Event()
    caught = []

    def run():
        try:
            write_batch(record, profile, tmp_path / "out", read, station_key)
        except IntegrityError as exc:
            caught.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(60), "the export hung"
    assert caught and caught[0].key == "exports.image_hash"
    assert list((tmp_path / "out").iterdir()) == []


def test_read_bytes_reads_whole_files(tmp_path):
    """The copy threads' reader (one open, fstat, read, close) gives a file's exact bytes."""
    import os

    from station.fsio import read_bytes

    for size in (0, 1, 38_000, 3 * 1024 * 1024 + 7):
        path = tmp_path / f"f{size}"
        data = os.urandom(size)
        path.write_bytes(data)
        assert read_bytes(path) == data
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "missing")


def test_two_photos_whose_names_differ_only_in_case_are_refused(tmp_path, make_record, images, station_key):
    """Two records merged from two stations may carry codes equal but for case: written as
    two files they are one on the pipeline's Windows side (and in an unpacked zip)."""
    import dataclasses

    from station.export import layout

    profile = load_batch_profile("chsi-code")
    record = make_record(2)
    record.items[0] = dataclasses.replace(record.items[0], capture_code="Xq7mA2kP9zR4tB1c")
    record.items[1] = dataclasses.replace(record.items[1], capture_code="xQ7Ma2Kp9Zr4Tb1C")
    with pytest.raises(InputError) as info:
        layout.manifest_rows(record, profile)
    assert info.value.key == "exports.duplicate_file"
