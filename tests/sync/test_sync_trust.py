"""Trust boundaries of the merge (issue 11): only bundles signed by an enrolled station's key whose
station id matches the manifest and every row; everything else refused whole, in words, exit 2,
with the master's whole state (every fact row, waiting rows, meta, every file) unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile

import pytest


@pytest.fixture
def world(tmp_path, make_station, idn, enrol):
    """Stations st-a and st-b enrolled at the master, each with a bundle; st-c not enrolled."""
    from station.store import open_store
    from station.sync.bundle import create_bundle

    make_station(tmp_path / "a", "st-a", [(idn(1), "张一"), (idn(2), "张二")], seed=1)
    make_station(tmp_path / "b", "st-b", [(idn(3), "李三")], seed=2)
    make_station(tmp_path / "c", "st-c", [(idn(5), "赵五")], seed=5)
    make_station(tmp_path / "m", "master", [(idn(4), "王四")], seed=3)
    enrol(tmp_path / "m", tmp_path / "a", tmp_path / "b")
    for name in ("a", "b", "c"):
        with open_store(tmp_path / name) as store:
            create_bundle(store, tmp_path / f"{name}.zip")
    return tmp_path


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


def test_trust_add_and_list(world, cli, make_station, kit):
    m = world / "m2"
    make_station(m, "master2", [])
    (world / "a.pub").write_bytes(kit.keyfile(world / "a"))

    # the file station key export writes: PEM + station id; it also verifies batches as --key
    k = cli(world / "b", "key", "export", "--out", world / "b.pub", "--json")
    assert k.returncode == 0, k.stderr
    text = (world / "b.pub").read_text("utf-8")
    assert "station-id: st-b" in text and "-----BEGIN PUBLIC KEY-----" in text
    assert k.json()["station_id"] == "st-b"

    r = cli(m, "trust", "add", world / "a.pub", "--json", op="sup")
    assert r.returncode == 0, r.stderr
    assert r.json()["station_id"] == "st-a" and r.json()["created"]
    again = cli(m, "--lang", "en", "trust", "add", world / "a.pub", op="sup")
    assert again.returncode == 0 and "already enrolled" in again.stdout
    assert cli(m, "trust", "add", world / "b.pub", op="sup").returncode == 0
    listed = cli(m, "trust", "list", "--json", op="tech")
    assert [s["station_id"] for s in listed.json()["stations"]] == ["st-a", "st-b"]
    assert "指纹" in cli(m, "trust", "list", op="tech").stdout

    # refusals in words, exit 2, nothing enrolled
    assert cli(m, "trust", "add", world / "a.pub", op="tech").returncode == 2      # supervisors only
    plain = world / "plain.pem"                  # a bare PEM: no station id
    plain.write_bytes(text[text.index("-----BEGIN"):].encode())
    r = cli(m, "--lang", "en", "trust", "add", plain, op="sup")
    assert r.returncode == 2 and "names no station" in r.stderr and "Unexpected" not in r.stderr
    tampered = world / "tampered.pub"
    tampered.write_text(text.replace("station-id: st-b", "station-id: st-z"), "utf-8")
    tampered_fp = world / "tampered-fp.pub"
    tampered_fp.write_text(text.replace("fingerprint: ", "fingerprint: 0000:"), "utf-8")
    r = cli(m, "--lang", "en", "trust", "add", tampered_fp, op="sup")
    assert r.returncode == 2 and "was altered" in r.stderr
    r = cli(m, "--lang", "en", "trust", "add", tampered, op="sup")       # st-b's key as another station
    assert r.returncode == 2 and "already enrolled as station 'st-b'" in r.stderr
    own = world / "own.pub"
    own.write_bytes(kit.keyfile(m))
    r = cli(m, "trust", "add", own, op="sup")
    assert r.returncode == 2 and "本工作站自己" in r.stderr
    from station.errors import InputError
    from station.keys import parse_keyfile

    for junk in (b"", b"\x00\xff" * 100, b"x" * 100_000, text.replace("MCow", "MCxx").encode(),
                 text.replace("station-id: st-b", "station-id: a\x1bb").encode()):
        with pytest.raises(InputError) as exc:
            parse_keyfile(junk, "junk.pub")
        assert exc.value.messages[0] and exc.value.location.file == "junk.pub"
    assert [s["station_id"] for s in cli(m, "trust", "list", "--json", op="sup").json()["stations"]] == ["st-a", "st-b"]


def test_same_station_id_twice_cannot_be_enrolled_nor_merged(world, cli, make_station, idn, kit, canonical):
    """Two laptops both initialised as st-a: the second is refused at enrolment and at merge, and
    the first one's rows all arrive (none dropped, nothing silently 'unchanged')."""
    from station.store import open_store
    from station.sync.bundle import create_bundle

    make_station(world / "a2", "st-a", [(idn(7), "孙七"), (idn(8), "周八")], seed=7)
    (world / "a2.pub").write_bytes(kit.keyfile(world / "a2"))
    r = cli(world / "m", "--lang", "en", "trust", "add", world / "a2.pub", op="sup")
    assert r.returncode == 2 and "one name, one key" in r.stderr and "under a new name" in r.stderr
    with open_store(world / "a2") as store:
        create_bundle(store, world / "a2.zip")
    before = kit.master_state(world / "m")
    r = cli(world / "m", "merge", world / "a2.zip", "--json", op="sup")
    assert r.returncode == 2 and r.json()["refused"][0]["reason"] == "bad_signature"
    assert kit.master_state(world / "m") == before
    ok = cli(world / "m", "merge", world / "a.zip", "--json", op="sup")
    assert ok.returncode == 0, ok.stderr
    assert canonical(world / "m", {"st-a"}) == {
        t: rows for t, rows in canonical(world / "a", {"st-a"}).items() if t != "operators"} | {"operators": []}

    # the same key on a re-created store (sequence numbers start again): refused, nothing dropped
    shutil.rmtree(world / "a3", ignore_errors=True)
    make_station(world / "a3", "st-a", [(idn(9), "吴九")], seed=9)
    for name in ("station.key", "station.pub"):  # its signing key (its own seal key stays)
        shutil.copy2(world / "a" / "keys" / name, world / "a3" / "keys" / name)
    with open_store(world / "a3") as store:
        create_bundle(store, world / "a3.zip")
    before = kit.master_state(world / "m")
    r = cli(world / "m", "--lang", "en", "merge", world / "a3.zip", "--json", op="sup")
    assert r.returncode == 2          # a new store is a campaign of its own: refused for that first
    assert r.json()["refused"][0]["reason"] == "other_campaign"
    with open_store(world / "a") as store:
        same_campaign = store.meta("campaign")
    with open_store(world / "a3") as store:
        store.set_meta("campaign", same_campaign)        # ... and even within the same campaign
        create_bundle(store, world / "a3.zip")
    r = cli(world / "m", "--lang", "en", "merge", world / "a3.zip", "--json", op="sup")
    assert r.returncode == 2
    refused = r.json()["refused"][0]
    assert refused["reason"] == "sequence_clash" and "re-created" in refused["message_en"]
    assert kit.master_state(world / "m") == before


def test_every_forged_or_damaged_bundle_is_refused_whole(world, cli, kit, make_station, tmp_path):
    """Each bundle below is refused with its own reason, in both languages; the master is unchanged."""
    a, b, m = world / "a.zip", world / "b.zip", world / "m"
    make_station(world / "fresh", "st-a", [])                       # an attacker's freshly made key
    forged = world / "forged"
    forged.mkdir()
    parts = kit.read_bundle(a)
    image = next(n for n in parts if n.startswith("images/"))
    cases = {
        "c.zip": ("not_enrolled", world / "c.zip"),
        "fresh-key.zip": ("bad_signature", kit.forge(
            a, forged / "fresh-key.zip", world / "fresh", tmp_path,
            db_sql=["INSERT INTO payments (id, station_id, seq, hlc, id_number, amount_cents, method) "
                    "SELECT 'forged', 'st-a', 9999, hlc, id_number, 3000, 'wechat' FROM payments LIMIT 1"])),
        "names-b.zip": ("foreign_rows", kit.forge(a, forged / "names-b.zip", world / "b", tmp_path,
                                                  manifest={"station_id": "st-b"})),
        "rows-master.zip": ("foreign_rows", kit.forge(
            b, forged / "rows-master.zip", world / "b", tmp_path,
            db_sql=["UPDATE payments SET station_id = 'master'"])),
        "is-master.zip": ("own_station", kit.forge(b, forged / "is-master.zip", world / "b", tmp_path,
                                                   manifest={"station_id": "master"})),
        "image.zip": ("image_hash", kit.forge(a, forged / "image.zip", world / "a", tmp_path,
                                              members={image: kit.jpeg(999)})),
        "not-sqlite.zip": ("not_sqlite", kit.forge(a, forged / "not-sqlite.zip", world / "a", tmp_path,
                                                   members={"station.sqlite3": os.urandom(8192)})),
        "extra.zip": ("unlisted_member", kit.pack(
            forged / "extra.zip", json.loads(parts["bundle.json"]),
            {**{n: d for n, d in parts.items() if not n.startswith("bundle.json")},
             "images/" + "0" * 64: b"x"}, world / "a", signature=parts["bundle.json.sig"])),
        "evil-name.zip": ("unexpected_member", kit.pack(
            forged / "evil-name.zip", json.loads(parts["bundle.json"]),
            {**{n: d for n, d in parts.items() if not n.startswith("bundle.json")}, "../../evil": b"x"},
            world / "a", signature=parts["bundle.json.sig"])),
        "signature.zip": ("bad_signature", kit.pack(
            forged / "signature.zip", json.loads(parts["bundle.json"]),
            {n: d for n, d in parts.items() if not n.startswith("bundle.json")}, world / "a",
            signature=_flip(parts["bundle.json.sig"], 5))),
        "old.zip": ("old_format", kit.forge(a, forged / "old.zip", world / "a", tmp_path,
                                            manifest={"format": "capture-station-bundle/1"})),
        "list.zip": ("manifest_field", kit.forge(a, forged / "list.zip", world / "a", tmp_path,
                                                 manifest={"rows": [1, 2]})),
    }
    bad_json = forged / "json.zip"
    with zipfile.ZipFile(bad_json, "w") as zf:
        zf.writestr("bundle.json", b"{not json")
        zf.writestr("bundle.json.sig", b"x")
    cases["json.zip"] = ("manifest_json", bad_json)
    raw = a.read_bytes()
    with zipfile.ZipFile(a) as zf:
        info = zf.getinfo("station.sqlite3")
    crc = forged / "crc.zip"                 # one byte of the compressed database flipped
    crc.write_bytes(_flip(raw, info.header_offset + 30 + len(info.filename) + info.compress_size // 2))
    cases["crc.zip"] = ("damaged_member", crc)
    short = forged / "short.zip"
    short.write_bytes(raw[: len(raw) // 2])
    cases["short.zip"] = ("not_a_zip", short)
    empty = forged / "empty.zip"
    empty.write_bytes(b"")
    cases["empty.zip"] = ("not_a_zip", empty)

    before = kit.master_state(m)
    names = sorted(cases)
    r = cli(m, "merge", *(cases[n][1] for n in names), "--json", op="sup")
    assert r.returncode == 2, r.stderr
    got = {os.path.basename(x["bundle"]): x for x in r.json()["refused"]}
    assert {n: got[n]["reason"] for n in names} == {n: cases[n][0] for n in names}
    for n in names:
        assert "refused whole; nothing changed" in got[n]["message_en"], got[n]
        assert "已整体拒绝，未作任何更改" in got[n]["message_zh"]
    # the enrolled key's own signature, flipped: said as altered, not as "another key" that named
    # the same fingerprint twice; a key of its own is still named as not the enrolled one
    flipped, fresh = got["signature.zip"], got["fresh-key.zip"]
    assert "changed after signing" in flipped["message_en"] and "签名后被改动过" in flipped["message_zh"]
    assert "not signed by the key enrolled" in fresh["message_en"]
    assert "changed after signing" not in fresh["message_en"]
    assert r.json()["bundles"] == []
    assert "Unexpected" not in r.stderr and "意外错误" not in r.stderr
    assert kit.master_state(m) == before
    assert not list((m / "tmp").iterdir())

    # the genuine bundles still merge, after all that
    ok = cli(m, "merge", a, b, "--json", op="sup")
    assert ok.returncode == 0, ok.stderr
    assert all(x["added"]["captures"] for x in ok.json()["bundles"])


def test_zip_bomb_is_refused_without_expanding_it(world, cli, kit, tmp_path):
    """A bundle, properly signed by an enrolled station, listing a 1 GiB image that deflates to a
    few MB: refused from its declared size, with the merge's memory staying small."""
    import subprocess
    import sys

    size = 1 << 30
    sha = hashlib.sha256()
    block = bytes(1 << 22)
    for _ in range(size // len(block)):
        sha.update(block)
    name = "images/" + sha.hexdigest()
    parts = kit.read_bundle(world / "a.zip")
    doc = json.loads(parts.pop("bundle.json"))
    parts.pop("bundle.json.sig")
    doc["members"][name] = sha.hexdigest()
    body = (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w") as zf:
        for n, d in parts.items():
            zf.writestr(n, d)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as dst:
            for _ in range(size // len(block)):
                dst.write(block)
        zf.writestr("bundle.json", body)
        zf.writestr("bundle.json.sig", kit.sign_with(world / "a", body))
    assert bomb.stat().st_size < 8 << 20
    before = kit.master_state(world / "m")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
    env.update(STATION_DATA_DIR=str(world / "m"), STATION_PIN="2468", PYTHONPATH=str(os.getcwd()))
    probe = ("import resource, subprocess, sys; p = subprocess.run([sys.executable, '-m', 'station', "
             "'--operator', 'sup', 'merge', sys.argv[1], '--json'], capture_output=True, text=True); "
             "print(p.returncode); print(p.stdout); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", probe, str(bomb)], env=env, capture_output=True,
                          text=True, timeout=300)
    code, out = proc.stdout.split("\n", 1)
    assert code == "2", proc.stdout
    refused = json.loads(out)["refused"][0]
    assert refused["reason"] in ("member_too_large", "expansion") and refused["field"] == name
    peak_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
    assert peak_mb < 400, peak_mb              # the station process alone, never the 1 GiB
    assert kit.master_state(world / "m") == before


def test_limits_stop_a_member_that_lies_about_its_size(world, kit, tmp_path):
    """Declared sizes within limits but a member expanding far beyond its compressed size, or beyond
    the limit while streaming: refused, counting as it reads."""
    from station.store import open_store
    from station.sync.archive import Limits
    from station.sync.errors import BundleRefused
    from station.sync.merge import merge_bundle

    with open_store(world / "m") as store:
        before = kit.master_state(world / "m")
        with pytest.raises(BundleRefused) as exc:
            merge_bundle(store, world / "a.zip", limits=Limits(database_bytes=4096))
        assert exc.value.reason == "member_too_large"
        with pytest.raises(BundleRefused) as exc:
            merge_bundle(store, world / "a.zip", limits=Limits(max_ratio=1, ratio_floor=1000))
        assert exc.value.reason == "expansion"
        with pytest.raises(BundleRefused) as exc:
            merge_bundle(store, world / "a.zip", limits=Limits(members=3))
        assert exc.value.reason == "too_many_members"
        with pytest.raises(BundleRefused) as exc:
            merge_bundle(store, world / "a.zip", limits=Limits(free_margin=1 << 60))
        assert exc.value.reason == "no_room"
    assert kit.master_state(world / "m") == before


def test_verify_rows_is_reusable_on_any_row_source(world):
    """The hub (issue 15) checks pushed rows with the same function: rows of another station, a
    changed row or a missing row are refused; the signed rows pass."""
    from station.store import union
    from station.sync.errors import BundleRefused
    from station.sync.manifest import Manifest
    from station.sync.verify import verify_rows

    parts = zipfile.ZipFile(world / "a.zip")
    manifest = Manifest.parse(parts.read("bundle.json"), "a.zip")
    db = world / "a-db.sqlite3"
    db.write_bytes(parts.read("station.sqlite3"))
    source = union.SqliteRows(db)

    class Edited:
        def __init__(self, change):
            self.change = change

        def schema_version(self):
            return source.schema_version()

        def tables(self):
            return source.tables()

        def columns(self, table):
            return source.columns(table)

        def rows(self, table):
            return self.change(table, [list(r) for r in source.rows(table)])

    verify_rows(manifest, source, "a")
    cases = {
        "foreign_rows": lambda t, rows: [[r[0], "st-b", *r[2:]] if t == "payments" else r for r in rows],
        "row_digest": lambda t, rows: [[*r[:-1], "changed"] if t == "payments" else r for r in rows],
        "row_count": lambda t, rows: rows[1:] if t == "captures" else rows,
    }
    for reason, change in cases.items():
        with pytest.raises(BundleRefused) as exc:
            verify_rows(manifest, Edited(change), "a")
        assert exc.value.reason == reason
    source.close()


def test_devices_folders_and_pipes_are_refused_before_reading(tmp_path, make_station, cli, kit):
    """`merge /dev/zero` or a FIFO would be read for ever; a folder is not a bundle: each is refused
    at once, in words, and the master is unchanged (issue 11: inputs that run away)."""
    import os

    make_station(tmp_path / "m", "master", [])
    fifo = tmp_path / "pipe.zip"
    os.mkfifo(fifo)
    before = kit.master_state(tmp_path / "m")
    r = cli(tmp_path / "m", "merge", "/dev/zero", tmp_path, fifo, "--json", op="sup")
    assert r.returncode == 2, r.stderr
    assert [x["reason"] for x in r.json()["refused"]] == ["not_a_file"] * 3
    assert "不是一个普通文件" in r.stderr
    assert kit.master_state(tmp_path / "m") == before
    for bad in ("/dev/zero", fifo, tmp_path):
        t = cli(tmp_path / "m", "--lang", "en", "trust", "add", bad, op="sup")
        assert t.returncode == 2 and "Not a regular file" in t.stderr, t.stderr
    assert kit.master_state(tmp_path / "m") == before
