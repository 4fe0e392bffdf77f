"""Campaigns at the hub: a push stays at the hub, so a master of the next season pulls last
season's pushes too — those signed for an earlier campaign than the station's enrolment are
refused (left at the hub, named with both campaign ids), this season's are taken."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.hub.conftest import Campaign


def test_a_pull_refuses_pushes_of_an_earlier_campaign(campaign: Campaign, tmp_path: Path) -> None:
    from station.keys import ensure_station_key, parse_keyfile, render_keyfile
    from station.store import open_store
    from station.store.campaign import current, start_new
    from station.sync.trust import TrustService
    from tests.exports.conftest import add_people, person
    from tests.sync.conftest import make_station

    a = campaign.add_station("st-a", people=1)
    campaign.init()
    campaign.push("st-a")
    with open_store(a) as store:
        old = current(store)
        new = start_new(store)                    # `station campaign new`: the next season
    add_people(a, [person(900)])
    campaign.push("st-a")

    # the next season's master enrols the station with the key file it exports now
    master2 = tmp_path / "master2"
    make_station(master2, "master2", [])
    keyfile = render_keyfile("st-a", ensure_station_key(a).public_pem(), new)
    with open_store(master2) as store:
        TrustService(store).add(parse_keyfile(keyfile, "st-a.pub"), "sup")
    result = campaign.pull(master2)
    assert len(result.merged) == 1 and len(result.refused) == 1
    refused = result.refused[0]
    assert refused.reason == "other_campaign"
    zh, en = refused.messages
    for text in (zh, en):
        assert "st-a" in text and old in text and new in text
    assert json.dumps(result.to_json(), ensure_ascii=False).count(old) >= 1
    with open_store(master2) as store:       # only this season's person arrived
        ids = {r[0] for r in store.conn.execute("SELECT id_number FROM captures")}
    assert ids == {person(900)["id_number"]}
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:     # left at the hub
        assert conn.execute("SELECT count(*) FROM hub.pushes").fetchone()[0] == 2
