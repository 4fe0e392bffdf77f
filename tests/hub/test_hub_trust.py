"""The hub's own defences, on the real server: Ed25519 in PL/pgSQL agrees with OpenSSL, station
roles may insert their own facts and read but never change or delete, a pull re-verifies every
push against the puller's own trust list."""

from __future__ import annotations

import json
import random
from pathlib import Path

import psycopg
import pytest

from tests.hub.conftest import Campaign


def _verify(conn: psycopg.Connection, pub: bytes, msg: bytes, sig: bytes) -> bool:
    row = conn.execute("SELECT hub.ed25519_verify(%s, %s, %s)", (pub, msg, sig)).fetchone()
    assert row is not None
    return bool(row[0])


def test_ed25519_in_the_database_agrees_with_openssl(campaign: Campaign) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    campaign.init()
    rng = random.Random(15)
    # RFC 8032 section 7.1, test 2 (one-byte message)
    pub = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    sig = bytes.fromhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
    cases = [(pub, b"\x72", sig, True), (pub, b"\x73", sig, False)]
    for n in range(6):
        key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        raw = key.public_key().public_bytes_raw()
        msg = rng.randbytes(rng.choice([0, 1, 64, 1000]))
        good = key.sign(msg)
        cases.append((raw, msg, good, True))
        flipped = bytearray(good)
        flipped[rng.randrange(64)] ^= 1 << rng.randrange(8)
        cases.append((raw, msg, bytes(flipped), False))
        cases.append((raw, msg + b"x", good, False))
        other = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)).public_key().public_bytes_raw()
        cases.append((other, msg, good, False))
        if n == 0:   # S + L: the same point, but not canonical; OpenSSL refuses it, so must we
            s = int.from_bytes(good[32:], "little") + 2**252 + 27742317777372353535851937790883648493
            cases.append((raw, msg, good[:32] + s.to_bytes(32, "little"), False))
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        for pub, msg, sig, expected in cases:
            try:
                Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
                openssl = True
            except InvalidSignature:
                openssl = False
            assert openssl is expected
            assert _verify(conn, pub, msg, sig) is expected, (pub.hex(), msg.hex(), sig.hex())
        assert _verify(conn, pub[:31], b"\x72", sig) is False
        assert _verify(conn, pub, b"\x72", sig[:63]) is False


def test_a_station_role_inserts_its_own_and_reads_but_never_changes_or_deletes(campaign: Campaign) -> None:
    campaign.add_station("yd-1", people=1, seed=1)
    campaign.add_station("yd-2", people=1, seed=2)
    campaign.init()
    campaign.push("yd-1")
    campaign.push("yd-2")
    before = campaign.counts(), campaign.fact_lines()
    forbidden = [
        "UPDATE hub.facts SET line = line",
        "DELETE FROM hub.facts",
        "TRUNCATE hub.facts",
        "DELETE FROM hub.pushes",
        "UPDATE hub.stations SET public_key = public_key",
        "INSERT INTO hub.stations (station_id, fingerprint, public_key, public_pem, role_name, "
        "enrolled_by) VALUES ('x', 'x', decode(repeat('00', 32), 'hex'), 'x', 'x', 'x')",
        "INSERT INTO hub.images (sha256, size, chunks) VALUES (repeat('0', 64), 0, 0)",
        "DELETE FROM hub.image_chunks",
        "DROP TABLE hub.facts",
        "CREATE TABLE hub.mine (x int)",
        "ALTER TABLE hub.facts DISABLE ROW LEVEL SECURITY",
        "INSERT INTO hub.image_folder (folder_id) VALUES (gen_random_uuid())",
        "DELETE FROM hub.image_folder",
        "INSERT INTO hub.image_reports (sha256, problem) VALUES (repeat('0', 64), 'missing')",
        "DELETE FROM hub.image_reports",
    ]
    with psycopg.connect(campaign.dsn("yd-1"), autocommit=True) as conn:
        assert len(conn.execute("SELECT line FROM hub.facts").fetchall()) == len(before[1])  # reads all
        for statement in forbidden:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        # a line of yd-2 inserted by yd-1's role: row-level security says no
        line = next(line for _, line in before[1] if '"yd-2"' in line)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO hub.facts (table_name, push_id, line) "
                         "VALUES ('audit', gen_random_uuid(), %s)", (line,))
        # a row of its own without a verified push cannot commit (deferred foreign key)
        own = json.loads(next(line for _, line in before[1] if '"yd-1"' in line))
        own[0], own[2] = "01ZZZZZZZZZZZZZZZZZZZZZZZZ", 999_999
        with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
            conn.execute("INSERT INTO hub.facts (table_name, push_id, line) VALUES "
                         "('audit', gen_random_uuid(), %s)",
                         (json.dumps(own, ensure_ascii=False, separators=(",", ":")),))
    assert (campaign.counts(), campaign.fact_lines()) == before


def test_a_pull_verifies_every_push_against_the_pullers_own_trust(campaign: Campaign, tmp_path: Path) -> None:
    """The hub's owner (or anyone who broke into it) swaps a station's key there and pushes
    forged facts signed with it: the hub takes them, a master that did not enrol that key does not."""
    from station.keys import ensure_station_key
    from station.store import open_store
    from tests.exports.conftest import add_people, person
    from tests.sync.conftest import make_station

    campaign.add_station("yd-1", people=1, seed=1)
    campaign.init()
    forger = tmp_path / "forger"
    make_station(forger, "yd-1", [])
    add_people(forger, [person(700 + i) for i in range(3)])
    fake = ensure_station_key(forger)
    from station.hub.enrol import raw_public_key

    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        conn.execute("UPDATE hub.stations SET public_key = %s, fingerprint = %s WHERE station_id = 'yd-1'",
                     (raw_public_key(fake.public_pem()), fake.fingerprint()))
    campaign.stations["forger"] = forger
    assert campaign.push("forger", dsn=campaign.admin_dsn).pushes == [1]
    with open_store(campaign.master) as store:
        before = store.conn.execute("SELECT count(*) FROM card_reads").fetchone()[0]
    pulled = campaign.pull()
    assert pulled.merged == [] and [r.reason for r in pulled.refused] == ["bad_signature"]
    zh, en = pulled.refused[0].messages
    assert "yd-1" in zh and "not taken" in en
    with open_store(campaign.master) as store:
        assert store.conn.execute("SELECT count(*) FROM card_reads").fetchone()[0] == before


def test_the_hub_owner_need_not_be_a_superuser(campaign: Campaign) -> None:
    """As the README says: a database owned by a role that may create roles is enough."""
    from psycopg import sql

    from station.hub.enrol import init_hub
    from station.store import open_store

    server = campaign.server
    owner, secret, dbname = f"own_{campaign.dbname}", "owner-pw-1", f"{campaign.dbname}_o"
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
            sql.Identifier(owner), sql.Literal(secret)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname),
                                                                   sql.Identifier(owner)))
    try:
        campaign.add_station("yd-1", people=1, seed=1)
        campaign.admin_dsn = server.dsn(dbname, user=owner, password=secret)
        campaign.dbname = dbname
        with open_store(campaign.master) as store:
            result = init_hub(store, campaign.admin_dsn, "sup")
        assert not result.refused and {s.station_id for s in result.stations} == {"master", "yd-1"}
        campaign.set_password("yd-1")
        assert campaign.push("yd-1").pushes == [1]
        assert len(campaign.pull().merged) == 1
    finally:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
            for (role,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                        (f"{dbname}.%",)).fetchall():
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(owner)))
