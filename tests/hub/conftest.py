"""Fixtures of the hub tests: one private PostgreSQL server per test session, a database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
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


@dataclass
class Campaign:
    """A master and stations (data folders made through the store API), enrolled at the master
    and at a fresh hub database; each station role has a password like an administrator sets."""

    server: PgServer
    admin_dsn: str
    dbname: str
    root: Path
    master: Path
    stations: dict[str, Path] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    images: Path | None = None          # the hub's image folder (None: images in the database)

    def dsn(self, station_id: str) -> str:
        """The DSN a station uses: its own role and password."""
        from station.hub.queries import station_role

        role = station_role(self.dbname, station_id)
        return self.server.dsn(self.dbname, user=role, password=self.passwords[station_id])

    def set_password(self, station_id: str) -> None:
        from psycopg import sql

        from station.hub.queries import station_role

        secret = f"pw-{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(station_role(self.dbname, station_id)), sql.Literal(secret)))
        self.passwords[station_id] = secret

    def add_station(self, station_id: str, people: int = 2, seed: int = 1, enrol: bool = True) -> Path:
        """A station whose people are read, paid, captured (export-sized photos) and accepted."""
        from tests.exports.conftest import add_people, person
        from tests.sync.conftest import enrol as enrol_at_master
        from tests.sync.conftest import make_station

        folder = self.root / station_id
        make_station(folder, station_id, [])
        add_people(folder, [person(seed * 100 + i) for i in range(people)])
        self.stations[station_id] = folder
        if enrol:
            enrol_at_master(self.master, folder)
        return folder

    def init(self) -> Any:
        from station.hub.enrol import init_hub
        from station.store import open_store

        with open_store(self.master) as store:
            result = init_hub(store, self.admin_dsn, "sup", self.images)
        for s in result.stations:
            if s.station_id in self.stations and s.station_id not in self.passwords:
                self.set_password(s.station_id)
        return result

    def push(self, station_id: str, role_of: str | None = None, dsn: str | None = None,
             **kw: Any) -> Any:
        """Push from ``station_id``'s folder, logged in as ``role_of``'s role (default its own)."""
        from station.hub.push import push
        from station.store import open_store

        kw.setdefault("images_dir", self.images)
        with open_store(self.stations[station_id]) as store:
            return push(store, dsn or self.dsn(role_of or station_id), "tech", **kw)

    def pull(self, data_dir: Path | None = None, dsn: str | None = None) -> Any:
        from station.hub.pull import pull
        from station.store import open_store

        with open_store(data_dir or self.master) as store:
            return pull(store, dsn or self.admin_dsn, "sup", images_dir=self.images)

    def fact_lines(self) -> list[tuple[str, str]]:
        """Every row at the hub as its signed line (a full picture of 'unchanged')."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            return [(str(t), str(line)) for t, line in conn.execute(
                "SELECT table_name, line FROM hub.facts ORDER BY table_name, station_id, id")]

    def counts_or_none(self) -> dict[str, int] | None:
        """``counts()``, or None while the database holds no hub schema."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            row = conn.execute("SELECT to_regclass('hub.facts')").fetchone()
        return None if row is None or row[0] is None else self.counts()

    def counts(self) -> dict[str, int]:
        from station.hub.queries import table_counts

        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            return table_counts(conn)


def folder_files(root: Path) -> dict[str, Path]:
    """Every image file of a hub's image folder (name → path), wherever it lies under the root."""
    return {p.name: p for p in root.rglob("*") if p.is_file() and p.parent != root
            and p.parent.name != "tmp"}


@pytest.fixture(params=["database", "folder"])
def any_campaign(request: pytest.FixtureRequest, campaign: Campaign) -> Campaign:
    """``campaign``, once with images in the database and once in an image folder."""
    if request.param == "folder":
        campaign.images = campaign.root / "hub-images"
    return campaign


@pytest.fixture
def campaign(pg_server: PgServer, hub_dsn: str, tmp_path: Path) -> Campaign:
    from tests.sync.conftest import make_station

    dbname = hub_dsn.rsplit("/", 1)[1]
    master = tmp_path / "master"
    make_station(master, "master", [])
    return Campaign(pg_server, hub_dsn, dbname, tmp_path, master)
