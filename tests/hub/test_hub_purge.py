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
