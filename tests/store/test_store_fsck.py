import os
import sqlite3
import time

from station.domain.identity import Identity
from station.store import open_store
from station.store.fsck import fsck

IDN = "53010219920101123X"


def _codes(store):
    return sorted(f.code for f in fsck(store))


def _populate(store):
    read = store.facts.record_card_read(Identity("resident", "王五", "male", "1992-01-01", IDN))
    sha = store.images.put(b"\xff\xd8 photo bytes")
    cap = store.facts.record_capture(IDN, sha, "IMG_1.JPG", card_read_id=read)
    store.facts.record_acceptance(cap, "accept")
    return sha


def test_clean_store_has_no_findings(store):
    _populate(store)
    assert fsck(store) == []


def test_tampered_audit_row_is_found(store, tmp_path):
    _populate(store)
    path = store.path
    store.close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE audit SET subject = 'someone else' WHERE action = 'capture'")
    raw.commit()
    raw.close()
    s = open_store(path.parent)
    assert "audit_altered" in _codes(s)
    s.close()


def test_deleted_audit_rows_are_found(store):
    _populate(store)
    path = store.path
    store.close()
    raw = sqlite3.connect(path)
    raw.execute("DELETE FROM audit WHERE action = 'card.read'")   # a middle row
    raw.commit()
    s = open_store(path.parent)
    assert "audit_broken_link" in _codes(s)
    s.close()
    raw.execute("DELETE FROM audit WHERE seq >= (SELECT MAX(seq) - 1 FROM audit)")  # the tail
    raw.commit()
    raw.close()
    s = open_store(path.parent)
    assert "audit_missing_tail" in _codes(s)
    s.close()


def test_missing_altered_and_orphan_images(store):
    sha = _populate(store)
    store.images.path(sha).write_bytes(b"edited")
    assert "image_altered" in _codes(store)
    store.images.path(sha).unlink()
    assert "image_missing" in _codes(store)
    orphan = store.images.put(b"never recorded")
    findings = fsck(store)   # just stored: may be a capture being recorded right now
    assert any(f.code == "image_in_flight" and f.params["sha"] == orphan and not f.fails
               for f in findings)
    hours_ago = time.time() - 2 * 3600
    os.utime(store.images.path(orphan), (hours_ago, hours_ago))
    findings = fsck(store)
    assert any(f.code == "orphan_image" and f.params["sha"] == orphan and f.fails
               for f in findings)


def test_fsck_cli_exit_codes(station_cli):
    ok = station_cli("fsck", "--json", operator=None)
    assert ok.returncode == 0 and ok.json()["ok"] is True
    path = station_cli.data_dir / "station.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute("UPDATE audit SET details = '{\"role\":\"photographer\"}' WHERE action = 'operator.add'")
    raw.commit()
    raw.close()
    bad = station_cli("fsck", "--json", operator=None)
    assert bad.returncode == 1
    problems = bad.json()["problems"]
    # the keyed seal and the plain audit chain both see it
    assert sorted(p["code"] for p in problems) == ["audit_altered", "row_altered"]
    audit = next(p for p in problems if p["code"] == "audit_altered")
    assert audit["message_en"].startswith("Audit record altered")
    human = station_cli("--lang", "en", "fsck", operator=None)
    assert human.returncode == 1 and "Audit record altered" in human.stdout
