"""The daily report of a whole campaign from the hub (issue 15.4): per station and per university,
the same numbers as the report of a master that merged the same stations' bundles."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from tests.hub.conftest import Campaign
from tests.hub.test_hub_cli import _passfile, station
from tests.hub.test_hub_push_pull import _bundle_twin

PEOPLE = {   # station → (school it is set up for, people: (number, decisions))
    "yd-1": ("10673", [(1, ["accept"]), (2, ["reject", "accept"])]),
    "yd-2": ("10673", [(3, ["accept"])]),
    "kd-1": ("10674", [(4, ["accept"]), (5, ["reject"])]),
}


def _station(campaign: Campaign, name: str, school: str, people: list[tuple[int, list[str]]]) -> None:
    """A station set up by `station init` (its school travels in its init record), then its day."""
    from tests.exports.conftest import add_people, person
    from tests.sync.conftest import enrol

    folder = campaign.root / name
    made = station(folder, "init", "--station-id", name, "--school-code", school, "--supervisor", "sup")
    assert made.returncode == 0, made.stderr
    add_people(folder, [person(n, decisions=d) for n, d in people])
    campaign.stations[name] = folder
    enrol(campaign.master, folder)


def _report(data_dir: Path, date: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = station(data_dir, "report", "daily", "--format", "json", "--date", date, *extra, op="sup", env=env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_the_campaign_per_station_and_university_from_the_hub(
        campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from station.store import open_store
    from station.sync.merge import merge_bundle

    for name, (school, people) in PEOPLE.items():
        _station(campaign, name, school, people)
    twin, bundles = _bundle_twin(campaign, tmp_path)
    campaign.init()
    for name in PEOPLE:
        campaign.push(name)
    date = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    owner = campaign.server.dsn(campaign.dbname, password="")
    pw = _passfile(tmp_path, campaign.server, {"postgres": campaign.server.password})

    from_hub = _report(campaign.master, date, "--hub", owner, env=pw)
    with open_store(twin) as store:
        for bundle in bundles:
            merge_bundle(store, bundle, operator="sup")
    merged = _report(twin, date)
    assert from_hub == merged

    stations = {s["station_id"]: s for s in from_hub["stations"]}
    assert {k: (s["school_code"], s["captured"], s["accepted"], s["retakes"], s["paid"])
            for k, s in stations.items()} == {
        "yd-1": ("10673", 2, 2, 1, 2), "yd-2": ("10673", 1, 1, 0, 1), "kd-1": ("10674", 2, 1, 1, 2)}
    schools = {s["school_code"]: s for s in from_hub["schools"]}
    assert {k: (s["stations"], s["captured"], s["accepted"], s["retakes"], s["paid"], s["received_yuan"])
            for k, s in schools.items()} == {
        "10673": (["yd-1", "yd-2"], 3, 3, 1, 3, 90.0), "10674": (["kd-1"], 2, 1, 1, 2, 60.0)}
    totals = from_hub["totals"]                 # each student counts for one university
    assert sum(s["captured"] for s in schools.values()) == totals["captured"] == 5
    assert sum(s["accepted"] for s in schools.values()) == 4 == (      # nobody was expected today:
        totals["accepted_today"] + totals["unexpected_today"])       # all are unexpected
    assert sum(s["paid"] for s in schools.values()) == totals["fees"]["count"] == 5
