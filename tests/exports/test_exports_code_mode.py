"""Code mode (issue 12.5): `station ingest --capture-code` stores the 图像采集码 with the capture,
the batch names photos `<code>.jpg`, its upload zip holds only those JPEGs and verify checks the
manifest beside it; codes of the wrong form, codes of someone else and codes in card mode are
refused in words."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("station.roster.importer")

CODE_MODE = {"STATION__SESSION__MODE": "code"}
CODES = ["Xq7mA2kP9zR4tB1c", "Lw3nE8vH5yU6oI0d", "Kj2bN7xS4fG9hQ1e"]


@pytest.fixture
def people(roster_people):
    """Three roster students with identity files and rendered portraits (not ingested yet)."""
    return roster_people(3)


def _ingest(station, identity_file: Path, image: Path, *extra: str, env: dict | None = None):
    return station.as_op("photo", "ingest", "--identity", str(identity_file), "--image", str(image), "--paid",
                         "--json", *extra, env=env if env is not None else CODE_MODE)


def test_code_mode_end_to_end(station, people, tmp_path):
    for (_identity, id_file, image), code in zip(people[:2], CODES, strict=False):
        r = _ingest(station, id_file, image, "--capture-code", code)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.json()["capture_code"] == code
    # the identity JSON's capture_code is taken when no --capture-code is given
    identity, id_file, image = people[2]
    id_file.write_text(json.dumps({**identity, "capture_code": CODES[2]}, ensure_ascii=False), "utf-8")
    assert _ingest(station, id_file, image).returncode == 0
    from station.store import open_store
    with open_store(station.data_dir) as store:
        stored = dict(store.conn.execute("SELECT id_number, capture_code FROM captures").fetchall())
    assert stored == {p[0]["id_number"]: c for p, c in zip(people, CODES, strict=True)}

    out = tmp_path / "batches"
    r = station.as_op("tech", "export", "build", "--out", str(out), "--json", env=CODE_MODE)
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert doc["photos"] == 3
    batch, upload_zip = Path(doc["path"]), Path(doc["zip"])
    assert sorted(p.name for p in (batch / "upload").iterdir()) == sorted(f"{c}.jpg" for c in CODES)
    listing = subprocess.run(["unzip", "-Z1", str(upload_zip)], capture_output=True, text=True, check=True)
    assert sorted(listing.stdout.split()) == sorted(f"{c}.jpg" for c in CODES)      # only the JPEGs
    # the ID number is not written on the medium in code mode: the pipeline keys by the code
    for path in batch.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json"):
            text = path.read_bytes().decode("gbk" if path.suffix == ".csv" else "utf-8")
            assert not any(p[0]["id_number"] in text for p in people), path
    assert "图像采集码" in (batch / "manifest.csv").read_bytes().decode("gbk")
    for target in (batch, upload_zip):         # the zip is verified with the manifest beside it
        v = station("export", "verify", str(target), "--json", "--no-frame-checks")
        assert v.returncode == 0, v.stdout
        assert v.json()["photos"] == 3
    # a photo swapped inside the zip is caught through the manifest beside it
    import zipfile
    with zipfile.ZipFile(upload_zip, "a") as zf:
        zf.writestr("notes.txt", b"not a photo")
    bad = station("export", "verify", str(upload_zip), "--json", "--no-frame-checks")
    assert bad.returncode == 1
    assert {p["problem"] for p in bad.json()["problems"]} >= {"zip_not_photo", "zip_hash"}


@pytest.mark.parametrize("code,words", [
    ("short", "wrong form"),
    ("has space in it", "wrong form"),
    ("../../etc/passwd", "wrong form"),
])
def test_a_code_of_the_wrong_form_is_refused(station, people, code, words):
    identity, id_file, image = people[0]
    r = station.as_op("photo", "--lang", "en", "ingest", "--identity", str(id_file), "--image", str(image),
                      "--paid", "--capture-code", code, env=CODE_MODE)
    assert r.returncode == 2
    assert words in r.stderr and "--capture-code" in r.stderr
    from station.store import open_store
    with open_store(station.data_dir) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 0


def test_a_bad_code_names_the_option_or_the_file_field_it_came_from(station, people, tmp_path):
    """The location read "capture_code, 字段 capture_code": it names the option typed, once, or
    the identity file and its field when the code came from there."""
    identity, id_file, image = people[0]
    for lang, field_word in (("zh", "字段"), ("en", "field")):
        r = station.as_op("photo", "--lang", lang, "ingest", "--identity", str(id_file), "--image",
                          str(image), "--paid", "--capture-code", "short", env=CODE_MODE)
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith("--capture-code: "), r.stderr
        where = r.stderr.split(": ")[0]
        assert where == "--capture-code" and field_word not in where, r.stderr
    j = _ingest(station, id_file, image, "--capture-code", "short")
    assert j.returncode == 2
    doc = j.json()
    assert (doc["error"], doc["file"], doc["line"], doc["field"]) == (
        "exports.bad_capture_code", "--capture-code", None, None)
    in_file = tmp_path / "with-code.json"
    in_file.write_text(json.dumps({**identity, "capture_code": "short"}, ensure_ascii=False), "utf-8")
    j = _ingest(station, in_file, image)
    assert j.returncode == 2
    doc = j.json()
    assert (doc["file"], doc["field"]) == (str(in_file), "capture_code"), doc
    from station.store import open_store
    with open_store(station.data_dir) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 0


def test_another_students_code_is_refused(station, people):
    assert _ingest(station, people[0][1], people[0][2], "--capture-code", CODES[0]).returncode == 0
    r = station.as_op("photo", "--lang", "en", "ingest", "--identity", str(people[1][1]), "--image",
                      str(people[1][2]), "--paid", "--capture-code", CODES[0], env=CODE_MODE)
    assert r.returncode == 2
    assert "already belongs to another student" in r.stderr
    assert people[0][0]["id_number"] not in r.stderr                  # masked


def test_code_mode_needs_a_code_and_card_mode_takes_none(station, people):
    identity, id_file, image = people[0]
    r = station.as_op("photo", "--lang", "en", "ingest", "--identity", str(id_file), "--image", str(image),
                      "--paid", env=CODE_MODE)
    assert r.returncode == 2 and "--capture-code" in r.stderr
    from station.store import open_store
    with open_store(station.data_dir) as store:     # refused before anything: no fee taken
        for table in ("card_reads", "payments", "captures"):
            assert store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table
    r = station.as_op("photo", "--lang", "en", "ingest", "--identity", str(id_file), "--image", str(image),
                      "--paid", "--capture-code", CODES[0])
    assert r.returncode == 2 and "card mode" in r.stderr


def test_one_code_on_two_students_goes_out_for_neither(station, add_people, person, tmp_path):
    """Stations check a code against their own records only: merged, one 图像采集码 may name two
    students (or equal one already uploaded for someone else, but for case). Named by the code,
    one photo would overwrite the other at the pipeline: neither goes out, both are named in the
    report, and the rest of the day's batch is not held up."""
    from station.privacy import mask_id

    codes = ["Xq7mA2kP9zR4tB1c", "xQ7Ma2Kp9Zr4Tb1C", "Lw3nE8vH5yU6oI0d", "Kj2bN7xS4fG9hQ1e"]
    add_people(station.data_dir, [person(i, capture_code=code) for i, code in enumerate(codes)])
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json", env=CODE_MODE)
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert doc["photos"] == 2
    assert sorted(p.name for p in (Path(doc["path"]) / "upload").iterdir()) == ["Kj2bN7xS4fG9hQ1e.jpg",
                                                                               "Lw3nE8vH5yU6oI0d.jpg"]
    reasons = {s["id_number"]: s["reason"] for s in doc["not_in_batch"]}
    assert reasons == {mask_id(person(0)["id_number"]): "code_clash", mask_id(person(1)["id_number"]): "code_clash"}
    assert "Xq7mA2kP9zR4tB1c" not in r.stdout                     # the code is not echoed
    # a later capture of a code already uploaded for someone else does not go out either
    add_people(station.data_dir, [person(5, capture_code="KJ2BN7XS4FG9HQ1E", seed=50)])
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json", env=CODE_MODE)
    assert r.returncode == 0, r.stderr
    assert r.json()["photos"] == 0
    reasons = {s["id_number"]: s["reason"] for s in r.json()["not_in_batch"]}
    assert reasons[mask_id(person(5)["id_number"])] == "code_clash"


def _blank(tmp_path: Path) -> Path:
    """A frame of bare backdrop: no face, its checks fail (the capture is recorded, rejected)."""
    from PIL import Image

    path = tmp_path / "blank.jpg"
    Image.new("RGB", (1024, 1365), (100, 197, 255)).save(path)
    return path


def test_a_code_its_student_no_longer_holds_is_free_for_its_owner(station, roster_people, tmp_path):
    """A code only blocks others while it is a student's: on their current or pending photo, or
    uploaded under them. Scanned with a photo that failed its checks (rejected) and the student
    sent off, or replaced by the student's own code on a newer accepted photo, it named that
    student forever: its real owner was refused at every desk of the station ("already belongs
    to another student"), and no command could release it."""
    people = roster_people(4)
    mistaken, owner = "Wr0ngPhone00A1", "Wr0ngPhone00B2"
    # the first student holds up someone else's phone; the photo fails its checks (rejected)
    r = _ingest(station, people[0][1], _blank(tmp_path), "--capture-code", mistaken)
    assert r.returncode == 1 and r.json()["accepted"] is False, r.stdout + r.stderr
    # the second student is photographed under a wrong code, then again under their own
    assert _ingest(station, people[1][1], people[1][2], "--capture-code", owner).returncode == 0
    assert _ingest(station, people[1][1], people[1][2], "--capture-code", CODES[1]).returncode == 0
    # the codes' real owners come to the desk
    for (_identity, id_file, image), code in ((people[2], mistaken), (people[3], owner)):
        r = _ingest(station, id_file, image, "--capture-code", code)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.json()["capture_code"] == code
    out = tmp_path / "batches"
    r = station.as_op("tech", "export", "build", "--out", str(out), "--json", env=CODE_MODE)
    assert r.returncode == 0, r.stderr
    assert r.json()["photos"] == 3
    assert sorted(p.name for p in (Path(r.json()["path"]) / "upload").iterdir()) == sorted(
        f"{c}.jpg" for c in (CODES[1], mistaken, owner))
    assert "code_clash" not in {s["reason"] for s in r.json()["not_in_batch"]}


def test_a_code_stays_with_the_student_it_was_uploaded_or_is_pending_for(station, roster_people, tmp_path):
    """What still holds a code: an accepted photo uploaded under it (a newer code of the same
    student does not free it: the pipeline has it), and the student's current accepted photo."""
    people = roster_people(3)
    assert _ingest(station, people[0][1], people[0][2], "--capture-code", CODES[0]).returncode == 0
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json", env=CODE_MODE)
    assert r.returncode == 0 and r.json()["photos"] == 1, r.stderr
    assert _ingest(station, people[0][1], people[0][2], "--capture-code", CODES[1]).returncode == 0
    for code in (CODES[0], CODES[1].upper()):
        r = station.as_op("photo", "--lang", "en", "ingest", "--identity", str(people[1][1]), "--image",
                          str(people[1][2]), "--paid", "--capture-code", code, env=CODE_MODE)
        assert r.returncode == 2 and "already belongs to another student" in r.stderr, (code, r.stderr)


def test_a_code_typed_in_full_width_is_kept_as_ascii(station, people):
    """A scanner types the QR code's text as keystrokes: under a Chinese input method in full-width
    mode every character arrives as its full-width form (Ｘｑ７…). The code was refused as of the
    wrong form, "scan again" — which types it the same way. Full-width ASCII is kept as ASCII (as
    student numbers are); anything else stays refused."""
    full = "".join(chr(ord(c) + 0xFEE0) for c in CODES[0])
    r = _ingest(station, people[0][1], people[0][2], "--capture-code", full)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.json()["capture_code"] == CODES[0]
    r = station.as_op("photo", "--lang", "en", "ingest", "--identity", str(people[1][1]), "--image",
                      str(people[1][2]), "--paid", "--capture-code", CODES[0].lower(), env=CODE_MODE)
    assert r.returncode == 2 and "already belongs to another student" in r.stderr
    r = _ingest(station, people[1][1], people[1][2], "--capture-code", "Ｌｗ３ｎ／Ｅ８ｖＨ５ｙ")
    assert r.returncode == 2 and r.json()["error"] == "exports.bad_capture_code"


def test_an_empty_capture_code_in_the_identity_file_is_no_code(station, people, tmp_path):
    """A tool that writes identity files may leave ``"capture_code": ""`` for a student with none
    yet. It was refused as "an invalid value ''''" (quoted twice, naming nothing to do); it is no
    code: code mode asks for one (--capture-code), card mode takes the file."""
    identity, _id_file, image = people[0]
    blank = tmp_path / "blank-code.json"
    blank.write_text(json.dumps({**identity, "capture_code": "  "}, ensure_ascii=False), "utf-8")
    r = station.as_op("photo", "--lang", "en", "ingest", "--identity", str(blank), "--image", str(image),
                      "--paid", env=CODE_MODE)
    assert r.returncode == 2 and "--capture-code" in r.stderr and "''" not in r.stderr, r.stderr
    r = station.as_op("photo", "ingest", "--identity", str(blank), "--image", str(image), "--paid", "--json",
                      env=CODE_MODE | {"STATION__SESSION__MODE": "card"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "capture_code" not in r.json() or r.json()["capture_code"] is None
