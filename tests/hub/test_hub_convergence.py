"""The hub's guarantees under disorder, on the real server (issue 15 item 5): any interleaving of
pushes, pulls and new records from 2–5 stations converges to the same store on every master; a
push killed at any point and retried loses and duplicates nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faultkit import kill_at_marker
from tests.hub.conftest import Campaign
from tests.pgserver import PgServer

ROOT = Path(__file__).resolve().parents[2]
STATIONS = ("yd-1", "yd-2", "yd-3", "yd-4", "yd-5")


def _own_lines(folder: Path, station: str) -> set[tuple[str, str]]:
    """Every row the station itself recorded, as the signed line a push sends."""
    from station.store.hub_rows import Outbox
    from station.sync.digest import row_line

    with Outbox(folder / "station.sqlite3") as box:
        return {(t, row_line(r)) for t in box.tables() for r in box.rows_after(t, station, 0, 10**9)}


def _hub_lines(dsn: str, station: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [(str(t), str(line)) for t, line in conn.execute(
            "SELECT table_name, line FROM hub.facts WHERE station_id = %s ORDER BY table_name, id",
            (station,))]


def _record_more(folder: Path, n: int) -> None:
    """One more person at a station: card read, payment, capture, acceptance (tiny photos)."""
    from station.domain.identity import Identity
    from station.store import open_store
    from tests.sync.conftest import idn, jpeg

    with open_store(folder) as store:
        number = idn(5000 + n)
        ident = Identity(card_type="resident", name=f"补{n}", gender="female", birth_date="2000-01-01",
                         id_number=number)
        read = store.facts.record_card_read(ident, reader="sim", operator="sup")
        store.facts.record_payment(number, 3000, "wechat", operator="sup")
        raw, crop = store.images.put(jpeg(9000 + 2 * n)), store.images.put(jpeg(9001 + 2 * n))
        cid = store.facts.record_capture(number, raw, "IMG.JPG", {"crop_sha256": crop},
                                         card_read_id=read, operator="sup")
        store.facts.record_acceptance(cid, "accept", operator="sup")


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five stations and a master that trusts them, made once and copied for every example."""
    from tests.sync.conftest import enrol, idn, make_station

    root = tmp_path_factory.mktemp("hub-templates")
    make_station(root / "master", "master", [])
    for k, name in enumerate(STATIONS, start=1):
        make_station(root / name, name, [(idn(100 * k + i), f"学生{k}-{i}") for i in range(2)], seed=k)
    enrol(root / "master", *(root / name for name in STATIONS))
    return root


operation = st.one_of(
    st.tuples(st.just("push"), st.integers(0, 4)),
    st.tuples(st.just("pull"), st.integers(0, 1)),
    st.tuples(st.just("record"), st.integers(0, 4)),
)


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(count=st.integers(2, 5), steps=st.lists(operation, max_size=12), max_rows=st.integers(3, 40),
       folder=st.booleans())
def test_any_interleaving_converges_on_every_master(pg_server: PgServer, templates: Path,
                                                      tmp_path: Path, count: int,
                                                      steps: list[tuple[str, int]], max_rows: int,
                                                      folder: bool) -> None:
    """... with the hub's images in the database or in an image folder (``folder``)."""
    from station.hub.enrol import init_hub
    from station.hub.pull import pull
    from station.hub.push import push
    from station.store import open_store
    from tests.sync.conftest import canonical

    names = STATIONS[:count]
    run = tmp_path / uuid.uuid4().hex[:8]
    for name in ("master", *names):
        shutil.copytree(templates / name, run / name)
    shutil.copytree(templates / "master", run / "master-2")
    dbname = f"hub_{uuid.uuid4().hex[:12]}"
    dsn = pg_server.create_database(dbname)
    images = run / "hub-images" if folder else None
    try:
        with open_store(run / "master") as store:
            init_hub(store, dsn, "sup", images)
        masters = [run / "master", run / "master-2"]

        def do_push(name: str) -> None:
            with open_store(run / name) as store:
                push(store, dsn, "tech", max_rows=max_rows, images_dir=images)

        def do_pull(master: Path) -> None:
            with open_store(master) as store:
                assert not pull(store, dsn, "sup", images_dir=images).refused

        for n, (what, which) in enumerate(steps):
            if what == "push":
                do_push(names[which % count])
            elif what == "pull":
                do_pull(masters[which])
            else:
                _record_more(run / names[which % count], n)
        for name in names:                       # and then everyone syncs once more
            do_push(name)
        for master in masters:
            do_pull(master)

        stations = set(names)
        dumps = []
        for master in masters:
            dump = canonical(master, stations)
            dump["audit"] = [r for r in dump["audit"] if r[5] != "hub.push"]
            dumps.append(dump)
            with open_store(master) as store:
                assert store.conn.execute("SELECT count(*) FROM sync_pending").fetchone()[0] == 0
        assert dumps[0] == dumps[1]
        for name in names:                        # every row of every station, nothing else
            own = canonical(run / name, {name})
            own["audit"] = [r for r in own["audit"] if r[5] != "hub.push"]
            for table, rows in own.items():
                if table in ("operators", "station_keys"):
                    continue
                assert [r for r in dumps[0][table] if r[1] == name] == rows, (name, table)
    finally:
        pg_server.drop_database(dbname)


# -- a push killed at every point -------------------------------------------------------------
RUNNER = """
import os, sys
from pathlib import Path
from station.store import open_store
from station.hub.push import push
images = os.environ.get("TEST_HUB_IMAGES")
with open_store(sys.argv[1]) as store:
    push(store, os.environ["TEST_HUB_DSN"], "tech", max_rows=int(sys.argv[2]),
         images_dir=Path(images) if images else None)
"""


def _killed_push(folder: Path, dsn: str, point: str, max_rows: int, tmp: Path,
                 images: Path | None = None) -> None:
    marker = tmp / f"marker-{point}"
    marker.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STATION", "PG", "TEST_HUB"))}
    env.update(PYTHONPATH=str(ROOT), TEST_HUB_DSN=dsn, STATION_FAULT_PAUSE=point,
               STATION_FAULT_MARKER=str(marker))
    if images is not None:
        env["TEST_HUB_IMAGES"] = str(images)
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(folder), str(max_rows)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kill_at_marker(proc, marker, point)


@pytest.mark.parametrize("point", ["hub.push.read", "hub.push.image", "hub.push.rows",
                                   "hub.push.committing", "hub.push.committed"])
def test_a_push_killed_at_any_point_and_retried_loses_and_duplicates_nothing(
        any_campaign: Campaign, tmp_path: Path, point: str) -> None:
    """Images in the database or in the hub's image folder (files written before the kill are
    found again, hashed, by the retry; none is recorded at the hub without its bytes)."""
    from tests.hub.test_hub_folder import unreferenced_folder_images

    campaign = any_campaign
    folder = campaign.add_station("yd-1", people=3, seed=1)
    campaign.init()
    _killed_push(folder, campaign.dsn("yd-1"), point, 10, tmp_path, campaign.images)
    again = campaign.push("yd-1", max_rows=10)
    assert len(again.pushes) >= 1
    hub = _hub_lines(campaign.admin_dsn, "yd-1")
    assert len(hub) == len(set(hub))
    assert set(hub) == _own_lines(folder, "yd-1")
    if campaign.images is not None:
        assert unreferenced_folder_images(campaign) == []      # every file recorded, every one right
        with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
            places = conn.execute("SELECT place, count(*) FROM hub.images GROUP BY place").fetchall()
        assert places == [("folder", 6)]
        pulled = campaign.pull()
        assert not pulled.refused and pulled.images_added == 6
        return
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        stored: Any = conn.execute("SELECT count(*), count(*) FILTER (WHERE size = "
                                   "(SELECT sum(length(data)) FROM hub.image_chunks c "
                                   "WHERE c.sha256 = i.sha256)) FROM hub.images i").fetchone()
        orphans = conn.execute("SELECT count(*) FROM hub.image_chunks c WHERE NOT EXISTS "
                               "(SELECT 1 FROM hub.images i WHERE i.sha256 = c.sha256)").fetchone()
    assert stored == (6, 6) and orphans == (0,)
    pulled = campaign.pull()
    assert not pulled.refused and pulled.images_added == 6
