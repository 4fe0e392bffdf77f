"""libpq's English failures said in Chinese too (station.reasons), against the real test server:
a closed port, a wrong password, a database or user that does not exist, a connection the server
ends. The English message keeps libpq's own words; ``--json`` carries them as ``cause``."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from station.errors import DeviceError, InputError, RefusedError, StationError
from station.hub.connect import connect, lost
from tests.pgserver import PgServer, free_port


def _said(exc: StationError) -> tuple[str, str, dict]:
    zh, en = exc.messages
    return zh, en, exc.to_json()


def test_a_closed_port_is_said_as_connection_refused_in_both_languages() -> None:
    dsn = f"postgresql://someone@127.0.0.1:{free_port()}/hub?connect_timeout=5"
    with pytest.raises(DeviceError) as info:
        connect(dsn)
    zh, en, data = _said(info.value)
    assert info.value.key == "hub.unreachable"
    assert "连接被拒绝" in zh and "Connection refused" not in zh
    assert "connection refused: no database server" in en and "Connection refused" in en
    assert "Connection refused" in data["cause"]["detail"]


def test_a_wrong_password_is_said_as_such(pg_server: PgServer) -> None:
    with pytest.raises(RefusedError) as info:
        connect(pg_server.dsn(password="not-" + pg_server.password))
    zh, en, data = _said(info.value)
    assert info.value.key == "hub.login_refused"
    assert "密码错误" in zh and "authentication" not in zh
    assert "wrong password" in en and "password authentication failed" in en
    assert "password authentication failed" in data["cause"]["detail"]


def test_a_missing_database_and_a_missing_user_are_named(pg_server: PgServer) -> None:
    name = f"nope_{uuid.uuid4().hex[:8]}"
    with pytest.raises(InputError) as info:
        connect(pg_server.dsn(dbname=name))
    zh, en, data = _said(info.value)
    assert info.value.key == "hub.no_database"
    assert "数据库不存在" in zh and "does not exist" not in zh
    assert "the database does not exist" in en and f'database "{name}" does not exist' in en
    assert data["cause"]["detail"].endswith(f'database "{name}" does not exist')

    with pytest.raises(RefusedError) as info2:
        connect(pg_server.dsn(user=name, password="x"))
    zh, en, _ = _said(info2.value)
    assert info2.value.key == "hub.login_refused"          # not "no such database"
    # the server answers a missing user as a failed password (it does not tell which users exist)
    assert "密码错误" in zh or "没有这个数据库用户" in zh


def test_a_connection_the_server_ends_is_said_as_closed_by_the_server(pg_server: PgServer) -> None:
    dsn = pg_server.dsn()
    conn = connect(dsn)
    pid = conn.info.backend_pid
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError) as info:
        conn.execute("SELECT 1")
    conn.close()
    zh, en, data = _said(lost(info.value, dsn))
    assert "连接" in zh and "terminating connection" not in zh
    assert any(phrase in zh for phrase in ("服务器关闭了连接", "连接意外中断")), zh
    assert data["cause"]["detail"] in en
