"""`station purge` on a station that pushed to a hub: the hub's copies are not the station's to
remove, and the purge says so (both languages), in its output and its audit entry."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.hub.conftest import Campaign
from tests.hub.test_hub_cli import station


def test_a_purge_names_the_hub_that_keeps_copies(campaign: Campaign, tmp_path: Path) -> None:
    folder = campaign.add_station("yd-1", people=2, seed=1)
    campaign.init()
    pushed = campaign.push("yd-1")
    build = station(folder, "export", "build", "--out", str(tmp_path / "out"), "--json", op="tech")
    assert build.returncode == 0, build.stderr
    batch = json.loads(build.stdout)["batch_id"]
    assert station(folder, "export", "confirm", batch, op="tech").returncode == 0
    dry = station(folder, "--lang", "en", "purge", "--dry-run", op="sup")
    assert dry.returncode == 0, dry.stderr
    assert f"pushed its records and photos to the hub {pushed.hub}" in dry.stdout
    done = station(folder, "purge", "--json", op="sup")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hub_copies"] == {"pushed_to": [pushed.hub], "pulled": False}
    zh = station(folder, "purge", op="sup")
    assert f"曾推送到集中库 {pushed.hub}" in zh.stdout
    conn = sqlite3.connect(folder / "station.sqlite3")
    (details,) = conn.execute("SELECT details FROM audit WHERE action = 'purge'").fetchone()
    conn.close()
    assert json.loads(details)["hubs_not_reached"] == [pushed.hub]


def test_a_purge_with_the_hub_owners_dsn_purges_the_hubs_copies(any_campaign: Campaign,
                                                                 tmp_path: Path) -> None:
    """`station purge --hub DSN` (the hub owner's DSN): after the purge here, the hub's copies of
    the purged rows hold what the station holds now (masked) and the purged photos are gone from
    the hub (from its database, or its image folder); `station hub purge` does it again
    idempotently; a station's own role may not."""
    import psycopg

    from station.hub.queries import station_role
    from tests.exports.conftest import person
    from tests.hub.conftest import folder_files
    from tests.hub.test_hub_cli import _passfile

    campaign = any_campaign
    images = ["--images", str(campaign.images)] if campaign.images else []

    folder = campaign.add_station("yd-1", people=2, seed=1)
    campaign.init()
    campaign.set_password("yd-1")
    campaign.push("yd-1")
    people = [person(100), person(101)]
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        lines = [str(r[0]) for r in conn.execute("SELECT line FROM hub.facts")]
        shas = {str(r[0]) for r in conn.execute("SELECT sha256 FROM hub.images")}
    assert shas and all(any(p["id_number"] in line for line in lines) for p in people)

    server = campaign.server
    owner = server.dsn(campaign.dbname, password="")
    role = station_role(campaign.dbname, "yd-1")
    env = _passfile(tmp_path, server, {"postgres": server.password, role: campaign.passwords["yd-1"]})
    build = station(folder, "export", "build", "--out", str(tmp_path / "out"), "--json", op="tech")
    assert build.returncode == 0, build.stderr
    assert station(folder, "export", "confirm", json.loads(build.stdout)["batch_id"], op="tech").returncode == 0
    if campaign.images:
        assert shas <= set(folder_files(campaign.images))
    done = station(folder, "--lang", "en", "purge", "--hub", owner, *images, "--json", op="sup", env=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["result"]["people"] == 2
    assert sum(out["hub_purge"]["rows"].values()) > 0 and out["hub_purge"]["images"] == len(shas)

    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        lines = [str(r[0]) for r in conn.execute("SELECT line FROM hub.facts")]
        left = {str(r[0]) for r in conn.execute("SELECT sha256 FROM hub.images")}
        chunks = conn.execute("SELECT count(*) FROM hub.image_chunks").fetchone()[0]
    for p in people:                   # no ID number, name or student number left at the hub
        assert not [line for line in lines if p["id_number"] in line or p["name"] in line
                    or p["student_no"] in line]
    assert any("#" in line for line in lines)          # the pseudonyms the station holds now
    assert not left & shas and chunks == 0
    if campaign.images:
        assert not shas & set(folder_files(campaign.images))
        assert out["hub_purge"]["files"] == len(shas)
    with sqlite3.connect(folder / "station.sqlite3") as conn:
        (details,) = conn.execute("SELECT details FROM audit WHERE action = 'hub.purge'").fetchone()
    assert json.loads(details)["images"] == len(shas)

    again = station(folder, "hub", "purge", "--hub", owner, *images, "--json", op="sup", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["rows"] == {} and json.loads(again.stdout)["images"] == 0
    as_station = server.dsn(campaign.dbname, user=role, password="")
    refused = station(folder, "--lang", "en", "hub", "purge", "--hub", as_station, *images, op="sup",
                      env=env)
    assert refused.returncode == 2 and "does not own the hub" in refused.stderr, refused.stderr


def test_a_purge_whose_hub_is_out_of_reach_is_done_here_and_says_what_to_run(campaign: Campaign,
                                                                              tmp_path: Path) -> None:
    folder = campaign.add_station("yd-1", people=1, seed=1)
    build = station(folder, "export", "build", "--out", str(tmp_path / "out"), "--json", op="tech")
    assert build.returncode == 0, build.stderr
    assert station(folder, "export", "confirm", json.loads(build.stdout)["batch_id"], op="tech").returncode == 0
    gone = "postgresql://postgres@127.0.0.1:1/hub?connect_timeout=2"
    done = station(folder, "--lang", "en", "purge", "--hub", gone, "--json", op="sup")
    assert done.returncode == 3, done.stderr                      # the hub: a device out of reach
    out = json.loads(done.stdout)
    assert out["result"]["people"] == 1 and "error" in out["hub_purge"]
    assert "station hub purge --hub" in done.stderr


def test_a_push_purged_at_the_hub_is_refused_in_its_own_words(campaign: Campaign,
                                                               tmp_path: Path) -> None:
    """A master that had not pulled a push before its station purged it at the hub is told so —
    purged, when, by whom, what to do — not "changed after signing"; nothing is taken or changed,
    here or at the hub. Without the hub's record of the purge the words stay the generic ones."""
    import psycopg

    from tests.hub.test_hub_cli import _passfile

    folder = campaign.add_station("yd-1", people=2, seed=1)
    campaign.init()
    campaign.push("yd-1")
    server = campaign.server
    owner = server.dsn(campaign.dbname, password="")
    env = _passfile(tmp_path, server, {"postgres": server.password})
    build = station(folder, "export", "build", "--out", str(tmp_path / "out"), "--json", op="tech")
    assert build.returncode == 0, build.stderr
    assert station(folder, "export", "confirm", json.loads(build.stdout)["batch_id"], op="tech").returncode == 0
    done = station(folder, "purge", "--hub", owner, "--json", op="sup", env=env)
    assert done.returncode == 0, done.stderr
    assert sum(json.loads(done.stdout)["hub_purge"]["rows"].values()) > 0

    def master_rows() -> list[tuple[str, int]]:
        with sqlite3.connect(campaign.master / "station.sqlite3") as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")]
            return [(t, conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in sorted(tables)]

    before_master, before_hub = master_rows(), campaign.fact_lines()
    counts = campaign.counts()
    assert counts["purges"] == 1

    en = station(campaign.master, "--lang", "en", "sync", "pull", "--hub", owner, "--json", op="sup",
                 env=env)
    assert en.returncode == 2, en.stderr
    assert "purged at the hub on " in en.stderr and "run by sup at station 'yd-1'" in en.stderr
    assert "station bundle create" in en.stderr and "Nothing changed here or at the hub" in en.stderr
    assert "changed after signing" not in en.stderr
    (refused,) = json.loads(en.stdout)["refused"]
    assert refused["reason"] == "purged"
    assert refused["purged"]["operator"] == "sup" and refused["purged"]["station"] == "yd-1"
    assert refused["purged"]["role"] == "postgres" and refused["purged"]["at"][:2] == "20"
    assert refused["purged"]["at"] in en.stderr

    zh = station(campaign.master, "sync", "pull", "--hub", owner, op="sup", env=env)   # zh: default
    assert zh.returncode == 2, zh.stderr
    assert "在集中库被清除（由工作站“yd-1”的 sup 运行" in zh.stderr and "station bundle create" in zh.stderr
    assert "签名后被改动过" not in zh.stderr

    assert master_rows() == before_master             # nothing taken, nothing half-written
    assert campaign.fact_lines() == before_hub and campaign.counts() == counts

    # the words come from the hub's record of the purge: without it, a changed push is just that
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM hub.purges")
    plain = station(campaign.master, "--lang", "en", "sync", "pull", "--hub", owner, op="sup", env=env)
    assert plain.returncode == 2, plain.stderr
    assert "changed after signing" in plain.stderr and "purged at the hub" not in plain.stderr
    assert master_rows() == before_master
