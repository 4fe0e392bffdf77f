"""The test server itself: real PostgreSQL, not root, one database per test, gone afterwards."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from tests.pgserver import PgServer


def test_server_is_real_postgres_run_unprivileged(pg_server: PgServer, hub_dsn: str) -> None:
    with psycopg.connect(hub_dsn) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 130000
        conn.execute("CREATE TABLE t (k text PRIMARY KEY)")
        conn.execute("INSERT INTO t VALUES ('a') ON CONFLICT DO NOTHING")
    assert pg_server.proc is not None
    status = Path(f"/proc/{pg_server.proc.pid}/status").read_text()
    uid = int(status.split("Uid:")[1].split()[0])
    assert uid != 0                                        # PostgreSQL refuses root anyway
    if os.geteuid() != 0:
        assert uid == os.geteuid()


def test_each_test_has_its_own_database(hub_dsn: str) -> None:
    with psycopg.connect(hub_dsn) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables == (0,)                              # the other test's table is not here


def test_wrong_password_is_refused(pg_server: PgServer) -> None:
    try:
        psycopg.connect(pg_server.dsn(password="wrong", user="postgres"), connect_timeout=10).close()
    except psycopg.OperationalError as exc:
        assert "password" in str(exc)
    else:
        raise AssertionError("the server accepted a wrong password")


def test_stop_ends_the_server_and_removes_its_folder() -> None:
    server = PgServer().start()
    assert server.proc is not None
    pid, root = server.proc.pid, server.root
    assert (root / "data" / "PG_VERSION").is_file()
    server.stop()
    assert not root.exists()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError("the server process is still running")
