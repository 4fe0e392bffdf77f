"""TLS as the DSN says (libpq's sslmode/sslrootcert passed through): a hub server with a
certificate of its own CA; verify-full with that CA works and the connection is encrypted, a
wrong CA or a wrong host name is refused in words before anything is sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.pgserver import PgServer


@pytest.fixture(scope="module")
def tls_server() -> Iterator[PgServer]:
    server = PgServer(tls=True).start()
    try:
        yield server
    finally:
        server.stop()


def _dsn(server: PgServer, host: str, **params: str) -> str:
    return server.dsn().replace("@127.0.0.1:", f"@{host}:") + "?" + "&".join(
        f"{k}={v}" for k, v in params.items())


def test_verify_full_with_the_hubs_ca_is_encrypted(tls_server: PgServer) -> None:
    from station.hub.connect import connect

    with connect(_dsn(tls_server, "localhost", sslmode="verify-full",
                      sslrootcert=str(tls_server.ca_file))) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row == (True,)


def test_a_wrong_ca_or_host_is_refused_in_words(tls_server: PgServer, tmp_path: Path) -> None:
    from station.errors import RefusedError
    from station.hub.connect import connect
    from tests.pgserver import PgServer as Other

    other = Other(root=tmp_path / "other-ca")
    other.root.mkdir()
    other._make_certificates(None)                    # a CA the hub's certificate is not from
    for dsn in (_dsn(tls_server, "localhost", sslmode="verify-full", sslrootcert=str(other.ca_file)),
                _dsn(tls_server, "hub.example.org", hostaddr="127.0.0.1", sslmode="verify-full",
                     sslrootcert=str(tls_server.ca_file))):    # the certificate is not for that name
        with pytest.raises(RefusedError) as said:
            connect(dsn).close()
        assert said.value.key == "hub.tls_failed"
        zh, en = said.value.messages
        assert "sslrootcert" in zh and "nothing was sent" in en
        assert tls_server.password not in zh + en


def test_require_tls_from_a_server_without_it_is_refused(pg_server: PgServer) -> None:
    from station.errors import RefusedError
    from station.hub.connect import connect

    with pytest.raises(RefusedError) as said:
        connect(pg_server.dsn(sslmode="require")).close()
    assert said.value.key == "hub.tls_failed"
    with psycopg.connect(pg_server.dsn(sslmode="disable")) as conn:   # the server itself is fine
        assert conn.execute("SELECT 1").fetchone() == (1,)
