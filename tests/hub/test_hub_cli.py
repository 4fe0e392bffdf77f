"""The hub through the command line, as a supervisor and a technician use it: passwords never on the
command line (refused there; ~/.pgpass or PGPASSFILE instead), messages in words, exit codes of
the contract, and a station that works on when the hub cannot be reached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.hub.conftest import Campaign
from tests.pgserver import PgServer

ROOT = Path(__file__).resolve().parents[2]
PIN = "2468"


def station(data_dir: Path, *args: str, op: str | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("STATION", "PG"))}
    full.update(PYTHONPATH=str(ROOT), STATION_DATA_DIR=str(data_dir), STATION_PIN=PIN, **(env or {}))
    prefix = ["--operator", op] if op else []
    return subprocess.run([sys.executable, "-m", "station", *prefix, *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=300)


def _passfile(tmp: Path, server: PgServer, entries: dict[str, str]) -> dict[str, str]:
    """A libpq password file (0600) with one line per role: what an administrator hands out."""
    path = tmp / "pgpass"
    path.write_text("".join(f"127.0.0.1:{server.port}:*:{role}:{pw}\n" for role, pw in entries.items()))
    path.chmod(0o600)
    return {"PGPASSFILE": str(path)}


def _json(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout)


def test_the_hub_from_the_command_line(campaign: Campaign, tmp_path: Path) -> None:
    from station.hub.queries import station_role

    server = campaign.server
    campaign.add_station("yd-1", people=2, seed=1)
    second = campaign.add_station("yd-2", people=2, seed=2, enrol=False)
    owner = server.dsn(campaign.dbname, password="")               # no password in it
    pw = _passfile(tmp_path, server, {"postgres": server.password})

    # a password on the command line is refused before anything happens, and not repeated
    bad = station(campaign.master, "hub", "init", "--hub", server.dsn(campaign.dbname), op="sup")
    assert bad.returncode == 2, bad.stderr
    assert "--hub" in bad.stderr and "~/.pgpass" in bad.stderr and server.password not in bad.stderr
    assert campaign.counts_or_none() is None                       # no schema was made

    init = station(campaign.master, "--lang", "en", "hub", "init", "--hub", owner, "--json", op="sup",
                   env=pw)
    assert init.returncode == 0, init.stderr
    assert {s["station_id"] for s in _json(init)["stations"]} == {"master", "yd-1"}

    keyfile = tmp_path / "yd-2.key"
    assert station(second, "key", "export", "--out", str(keyfile)).returncode == 0
    added = station(campaign.master, "trust", "add", str(keyfile), "--hub", owner, op="sup", env=pw)
    assert added.returncode == 0, added.stderr
    assert "yd-2" in added.stdout and "集中库" in added.stdout
    listed = station(campaign.master, "trust", "list", "--json", op="sup")
    assert "yd-2" in listed.stdout                                 # enrolled at the master too

    for name in ("yd-1", "yd-2"):
        campaign.set_password(name)
    roles = {station_role(campaign.dbname, n): campaign.passwords[n] for n in ("yd-1", "yd-2")}
    pw = _passfile(tmp_path, server, {"postgres": server.password, **roles})
    for name in ("yd-1", "yd-2"):
        dsn = server.dsn(campaign.dbname, user=station_role(campaign.dbname, name), password="")
        pushed = station(campaign.stations[name], "sync", "push", "--hub", dsn, op="tech", env=pw)
        assert pushed.returncode == 0, pushed.stderr
        assert "已推送到集中库" in pushed.stdout and "4 张图像" in pushed.stdout
        again = station(campaign.stations[name], "sync", "push", "--hub", dsn, op="tech", env=pw)
        assert again.returncode == 0 and "无需推送" in again.stdout

    # a technician may push but not pull into the master's store
    denied = station(campaign.master, "sync", "pull", "--hub", owner, op="tech", env=pw)
    assert denied.returncode != 0 and "tech" in denied.stderr
    pulled = station(campaign.master, "--lang", "en", "sync", "pull", "--hub", owner, "--json", op="sup",
                     env=pw)
    assert pulled.returncode == 0, pulled.stderr
    data = _json(pulled)
    assert data["added"] > 0 and data["images_added"] == 8 and data["refused"] == []
    report = station(campaign.master, "report", "daily", "--format", "json", op="sup")
    assert report.returncode == 0, report.stderr
    totals = json.loads(report.stdout)["totals"]                  # the campaign in one view
    assert (_accepted_photos(totals), totals["fees"]["count"]) == (4, 4)

    # one more student at yd-2, pushed: the report from the hub covers it (pulled first)
    from tests.exports.conftest import add_people, person

    add_people(second, [person(290)])
    dsn2 = server.dsn(campaign.dbname, user=station_role(campaign.dbname, "yd-2"), password="")
    assert station(second, "sync", "push", "--hub", dsn2, op="tech", env=pw).returncode == 0
    hub_report = station(campaign.master, "report", "daily", "--format", "json", "--hub", owner,
                         op="sup", env=pw)
    assert hub_report.returncode == 0, hub_report.stderr
    assert "已从集中库" in hub_report.stderr
    totals = json.loads(hub_report.stdout)["totals"]
    assert (_accepted_photos(totals), totals["fees"]["count"]) == (5, 5)
    refused = station(campaign.master, "report", "daily", "--hub", owner, op="tech", env=pw)
    assert refused.returncode == 2 and "tech" in refused.stderr and "无权" in refused.stderr  # may not pull

    logs = "".join(p.read_text(errors="replace") for d in (campaign.master, *campaign.stations.values())
                   for p in (d / "logs").glob("*") if p.is_file())
    assert "hub" in logs or logs == ""
    for secret in (server.password, *roles.values()):
        assert secret not in logs


def test_a_station_works_on_when_the_hub_is_out_of_reach(campaign: Campaign, tmp_path: Path) -> None:
    folder = campaign.add_station("yd-1", people=1, seed=1)
    from tests.pgserver import free_port

    dsn = f"postgresql://someone@127.0.0.1:{free_port()}/hub?connect_timeout=5"
    down = station(folder, "sync", "push", "--hub", dsn, op="tech")
    assert down.returncode == 3, down.stderr
    assert "无法连接集中库" in down.stderr and "离线时工作站照常工作" in down.stderr
    listed = station(folder, "--lang", "en", "sync", "push", "--hub", "host=nowhere.invalid dbname=hub",
                     op="tech")
    assert listed.returncode == 3 and "cannot reach the hub" in listed.stderr
    after = station(folder, "report", "daily", "--format", "json", op="tech")
    assert after.returncode == 0, after.stderr


def _accepted_photos(totals: dict) -> int:
    """Accepted photos of the day: the expected students' plus those photographed today outside any
    slot of today (the campaign's stations photograph people from their own schedules; the daily
    report keeps them apart as unexpected_today, where the report has that split)."""
    return int(totals["accepted"]) + int(totals.get("unexpected_today", 0))



def test_a_hub_with_an_image_folder_from_the_command_line(campaign: Campaign, tmp_path: Path) -> None:
    """`hub init --images DIR`; one station names its path to the folder in station.toml
    ([hub] images_dir), another with --images; the master pulls with --images; without a path,
    a push is refused in words (exit 2) and nothing is sent."""
    from station.hub.queries import station_role

    server = campaign.server
    campaign.add_station("yd-1", people=1, seed=1)
    campaign.add_station("yd-2", people=1, seed=2)
    share = tmp_path / "share"
    owner = server.dsn(campaign.dbname, password="")
    pw = _passfile(tmp_path, server, {"postgres": server.password})
    init = station(campaign.master, "hub", "init", "--hub", owner, "--images", str(share), "--json",
                   op="sup", env=pw)
    assert init.returncode == 0, init.stderr
    assert _json(init)["images"]["store"] == "folder" and (share / "capture-station-hub.id").is_file()
    for name in ("yd-1", "yd-2"):
        campaign.set_password(name)
    roles = {station_role(campaign.dbname, n): campaign.passwords[n] for n in ("yd-1", "yd-2")}
    pw = _passfile(tmp_path, server, {"postgres": server.password, **roles})

    def dsn(name: str) -> str:
        return server.dsn(campaign.dbname, user=station_role(campaign.dbname, name), password="")

    no_path = station(campaign.stations["yd-1"], "--lang", "en", "sync", "push", "--hub", dsn("yd-1"),
                      op="tech", env=pw)
    assert no_path.returncode == 2 and "--images" in no_path.stderr and "image folder" in no_path.stderr
    (campaign.stations["yd-1"] / "station.toml").write_text(f'[hub]\nimages_dir = "{share}"\n')
    one = station(campaign.stations["yd-1"], "sync", "push", "--hub", dsn("yd-1"), "--json",
                  op="tech", env=pw)
    assert one.returncode == 0, one.stderr
    assert _json(one)["images_sent"] == 2
    two = station(campaign.stations["yd-2"], "sync", "push", "--hub", dsn("yd-2"), "--images",
                  str(share), op="tech", env=pw)
    assert two.returncode == 0 and "2 张图像" in two.stdout, two.stderr
    pulled = station(campaign.master, "sync", "pull", "--hub", owner, "--images", str(share), "--json",
                     op="sup", env=pw)
    assert pulled.returncode == 0, pulled.stderr
    assert _json(pulled)["images_added"] == 4 and _json(pulled)["refused"] == []
    report = station(campaign.master, "report", "daily", "--format", "json", "--hub", owner,
                     "--images", str(share), op="sup", env=pw)
    assert report.returncode == 0, report.stderr
    assert _accepted_photos(json.loads(report.stdout)["totals"]) == 2
