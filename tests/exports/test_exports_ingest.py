"""Batches from a store filled the way the desk fills it: `station roster import` + `station ingest`
with rendered portraits, then export, verify (frame checks included), tamper, rebuild."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def ingested(station, roster_people):
    """Five people on the roster ingested: 3 complete, 1 unpaid, 1 with a typed identity (the
    others' identity files are card reads a supervisor vouches for)."""
    people = []
    for i, (identity, id_file, image) in enumerate(roster_people(5)):
        if i == 4:
            identity["card_type"] = "manual"
            id_file.write_text(json.dumps(identity, ensure_ascii=False), "utf-8")
        args = ["ingest", "--identity", str(id_file), "--image", str(image), "--json"]
        if i != 3:
            args.append("--paid")
        # a file's identity counts as a card read only when a supervisor vouches for it
        r = station.as_op("sup", *args, "--vouch") if i != 4 else station.as_op("photo", *args)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.json()["accepted"]
        people.append(identity)
    return people


def test_batch_from_ingested_captures(station, ingested, tmp_path):
    out = tmp_path / "batches"
    unknown = station.as_op("tech", "--lang", "en", "export", "build", "--out", str(out), "--slot",
                            "NOPE")
    assert unknown.returncode == 2 and "NOPE" in unknown.stderr, unknown.stderr  # not "none due"
    assert not out.exists() or not any(out.iterdir())
    r = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert doc["photos"] == 3
    from station.privacy import mask_id
    assert {s["id_number"]: s["reason"] for s in doc["not_in_batch"]} == {
        mask_id(ingested[3]["id_number"]): "unpaid", mask_id(ingested[4]["id_number"]): "unverified"}
    batch = Path(doc["path"])
    manifest = json.loads((batch / "manifest.json").read_text("utf-8"))
    assert sorted(i["id_number"] for i in manifest["items"]) == sorted(p["id_number"] for p in ingested[:3])
    assert all(i["name"] and i["student_no"] and i["department"] for i in manifest["items"])

    v = station("export", "verify", str(batch), "--json")          # frame checks included
    assert v.returncode == 0, v.stdout
    assert v.json()["ok"] and v.json()["frame_checks"] and v.json()["photos"] == 3

    # tamper with one photo, one manifest line, the signature: each is found
    cases = {}
    for what in ("photo", "line", "signature"):
        copy = tmp_path / f"tampered-{what}" / batch.name
        shutil.copytree(batch, copy)
        if what == "photo":
            photo = sorted((copy / "upload").iterdir())[0]
            data = bytearray(photo.read_bytes())
            data[-300] ^= 0x55
            photo.write_bytes(bytes(data))
        elif what == "line":
            text = (copy / "manifest.csv").read_bytes().decode("gbk").split("\r\n")
            text[1] = text[1].replace(manifest["items"][0]["id_number"], manifest["items"][0]["id_number"][:-1] + "0")
            (copy / "manifest.csv").write_bytes("\r\n".join(text).encode("gbk"))
        else:
            sig = copy / "manifest.json.sig"
            raw = bytearray(base64.b64decode(sig.read_bytes()))
            raw[10] ^= 0x01
            sig.write_bytes(base64.b64encode(bytes(raw)) + b"\n")
        res = station("export", "verify", str(copy), "--json", "--no-frame-checks")
        assert res.returncode == 1
        cases[what] = {(p["file"], p["problem"]) for p in res.json()["problems"]}
    photo_name = sorted((batch / "upload").iterdir())[0].name
    assert (f"upload/{photo_name}", "checksum") in cases["photo"]
    assert ("manifest.csv", "csv_line") in cases["line"] and ("manifest.csv", "checksum") in cases["line"]
    assert ("manifest.json.sig", "bad_signature") in cases["signature"]

    # a later payment brings the unpaid person into the next batch; the first is not repeated
    from station.store import open_store
    with open_store(station.data_dir) as store:
        store.facts.record_payment(ingested[3]["id_number"], 3000, "wechat", operator="photo")
    r2 = station.as_op("tech", "export", "build", "--out", str(out), "--json").json()
    assert r2["photos"] == 1
    # rebuilding the first batch by id gives the same bytes
    r3 = station.as_op("tech", "export", "build", "--out", str(tmp_path / "again"), "--batch", doc["batch_id"], "--json")
    assert r3.returncode == 0, r3.stderr
    assert _tree(Path(r3.json()["path"])) == _tree(batch)


def test_a_photo_accepted_over_failed_checks_is_marked_in_the_batch_and_reported_by_verify(
        station, roster_people, tmp_path):
    """A supervisor's override travels in the signed manifest: build names it, verify reports it
    (exit 0) instead of failing the batch on the checks the supervisor overrode; a batch
    without overrides has no override fields at all."""
    import cv2

    from station.sim.portrait import render

    (identity, id_file, _), (_, id_file2, image2) = roster_people(2)
    soft = tmp_path / "soft.jpg"
    cv2.imwrite(str(soft), render(1200, 1600, blur=5.0)[0])
    r = station.as_op("sup", "ingest", "--identity", str(id_file), "--image", str(soft), "--paid",
                      "--vouch", "--force", "--reason", "focus judged fine on the print", "--json")
    assert r.returncode == 0 and r.json()["override_by"] == "sup", r.stderr
    out = tmp_path / "batches"
    built = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert built.returncode == 0, built.stderr
    doc = built.json()
    assert doc["photos"] == 1
    assert [(o["override_by"], o["reason"]) for o in doc["accepted_over_checks"]] == [
        ("sup", "focus judged fine on the print")]
    assert identity["id_number"] not in built.stdout          # masked
    batch = Path(doc["path"])
    items = json.loads((batch / "manifest.json").read_text("utf-8"))["items"]
    assert items[0]["override_by"] == "sup"
    verified = station.as_op("tech", "--lang", "en", "export", "verify", str(batch), "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    notes = verified.json()["accepted_over_checks"]
    assert notes and all("sharpness" in n["message_en"] and "sup" in n["message_en"] for n in notes)

    r = station.as_op("sup", "ingest", "--identity", str(id_file2), "--image", str(image2), "--paid",
                      "--vouch", "--json")
    assert r.returncode == 0 and "override_by" not in r.json(), r.stderr
    plain = station.as_op("tech", "export", "build", "--out", str(tmp_path / "b2"), "--json").json()
    assert plain["photos"] == 1 and plain["accepted_over_checks"] == []
    items = json.loads((Path(plain["path"]) / "manifest.json").read_text("utf-8"))["items"]
    assert not {"override_by", "override_reason"} & set(items[0])


def test_a_reference_without_paid_is_refused_not_dropped(station, roster_people):
    """`ingest --reference 4200001` without --paid stored the photo as unpaid and dropped the
    number: the student was never exported. Now bad usage (exit 2), nothing stored."""
    import sqlite3

    ((identity, id_file, image),) = roster_people(1)
    r = station.as_op("sup", "--lang", "en", "ingest", "--identity", str(id_file), "--image", str(image),
                      "--reference", "4200001", "--vouch")
    assert r.returncode == 2 and "--reference" in r.stderr and "--paid" in r.stderr, r.stderr
    conn = sqlite3.connect(station.data_dir / "station.sqlite3")
    assert conn.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 0
    conn.close()
    ok = station.as_op("sup", "ingest", "--identity", str(id_file), "--image", str(image),
                       "--reference", "4200001", "--paid", "--vouch", "--json")
    assert ok.returncode in (0, 1), ok.stderr


@pytest.mark.parametrize("option,value", [("--reference", "42\x1b[2J"), ("--reason", "x" * 501)])
def test_a_bad_option_value_names_the_option_once(station, roster_people, option, value):
    """"ingest, 字段 --reference: …" named the command as if it were a file, and the option as a
    field: the location is the option the user typed, once."""
    import sqlite3

    ((identity, id_file, image),) = roster_people(1)
    extra = ["--force"] if option == "--reason" else []
    for lang in ("zh", "en"):
        r = station.as_op("sup", "--lang", lang, "ingest", "--identity", str(id_file), "--image",
                          str(image), "--paid", option, value, *extra)
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith(f"{option}: "), r.stderr
        assert "ingest" not in r.stderr.split(":")[0] and r.stderr.split(":")[0] == option, r.stderr
    j = station.as_op("sup", "ingest", "--identity", str(id_file), "--image", str(image), "--paid",
                      option, value, *extra, "--json")
    doc = j.json()
    assert (doc["file"], doc["line"], doc["field"]) == (option, None, None), doc
    conn = sqlite3.connect(station.data_dir / "station.sqlite3")
    assert conn.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 0
    conn.close()
