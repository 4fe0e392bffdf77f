import re

import pytest

from station.domain.identity import Identity
from station.errors import NotFoundError, RefusedError
from station.store import open_store

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
IDN = "53010219920101123X"


def _identity() -> Identity:
    return Identity(card_type="resident", name="王五", gender="male", birth_date="1992-01-01",
                    id_number=IDN)


def test_every_fact_row_has_merge_columns_and_increasing_clock(store):
    read = store.facts.record_card_read(_identity(), reader="sim", operator="op")
    sha = store.images.put(b"jpeg bytes")
    cap = store.facts.record_capture(IDN, sha, "IMG_1.JPG", {"model": "sim"}, read, "op")
    store.facts.record_check(cap, {"passed": True, "checks": []}, True)
    store.facts.record_payment(IDN, 3000, "wechat", "wx-1", "op")
    store.facts.record_acceptance(cap, "accept", operator="op")
    rows = []
    for table in ("card_reads", "captures", "check_reports", "payments", "acceptances"):
        rows += [dict(r) for r in store.conn.execute(f"SELECT id, station_id, seq, hlc FROM {table}")]
    assert all(ULID_RE.match(r["id"]) for r in rows)
    assert {r["station_id"] for r in rows} == {"st-a"}
    ordered = sorted(rows, key=lambda r: r["seq"])
    assert [r["hlc"] for r in ordered] == sorted(r["hlc"] for r in rows)
    assert len({r["seq"] for r in rows}) == len(rows)
    # no autoincrement anywhere
    assert store.conn.execute(
        "SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%AUTOINCREMENT%'").fetchone()[0] == 0


def test_person_state_is_derived_from_facts(store):
    sha1 = store.images.put(b"one")
    sha2 = store.images.put(b"two")
    c1 = store.facts.record_capture(IDN, sha1, operator="op")
    state = store.person_state(IDN)
    assert len(state.captures) == 1 and state.accepted_capture_id is None and not state.paid(3000)
    store.facts.record_acceptance(c1, "reject", reason="blink")
    c2 = store.facts.record_capture(IDN, sha2, operator="op")
    store.facts.record_acceptance(c2, "accept")
    pay = store.facts.record_payment(IDN, 3000, "wechat")
    state = store.person_state(IDN)
    assert state.accepted_capture_id == c2 and state.paid_cents == 3000
    assert [c["decision"] for c in state.captures] == ["accept", "reject"]
    store.facts.record_export("batch-1", [c2], "chsi")
    assert store.person_state(IDN).exported is True
    assert store.facts.accepted_captures(exported=False) == []
    # an edit is a new fact; a deletion a tombstone — nothing is updated in place
    store.facts.record_tombstone("payments", pay, "refunded", operator="sup")
    assert store.person_state(IDN).paid_cents == 0
    assert store.conn.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 1
    store.facts.record_acceptance(c2, "reject", reason="wrong person")
    assert store.person_state(IDN).accepted_capture_id is None


def test_capture_needs_the_image_first(store):
    with pytest.raises(NotFoundError):
        store.facts.record_capture(IDN, "0" * 64)


def test_failed_transaction_leaves_nothing(store):
    before = store.conn.execute("SELECT COUNT(*) FROM card_reads").fetchone()[0]
    seq_before = store.meta("seq")
    with pytest.raises(RuntimeError), store.transaction():
        store.facts.record_card_read(_identity())
        raise RuntimeError("crash")
    assert store.conn.execute("SELECT COUNT(*) FROM card_reads").fetchone()[0] == before
    assert store.meta("seq") == seq_before
    assert store.audit.verify() == []


def test_writes_need_an_initialised_station(tmp_path):
    s = open_store(tmp_path / "d")
    with pytest.raises(RefusedError):
        s.facts.record_card_read(_identity())
    s.close()
