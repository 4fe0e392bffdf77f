"""Fixtures of the hub tests: one private PostgreSQL server per test session, a database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.pgserver import PgServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hub_dsn(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database of the session's server (superuser DSN); dropped afterwards."""
    name = f"hub_{uuid.uuid4().hex[:12]}"
    dsn = pg_server.create_database(name)
    try:
        yield dsn
    finally:
        pg_server.drop_database(name)
