"""Who may report a folder image damaged and clear the report (audit, minor): any station may ask
for a repair of an image the hub holds, but only the station that stored it (or the hub's owner)
may clear the report — another station cannot hide a damaged file, nor report images the hub
does not hold."""

from __future__ import annotations

import psycopg
import pytest

from tests.hub.conftest import Campaign


def test_only_the_storing_station_clears_a_report(campaign: Campaign) -> None:
    from station.hub import queries
    from station.hub.connect import refusal
    from station.store import open_store

    campaign.images = campaign.root / "share" / "hub-images"
    one = campaign.add_station("yd-1", people=1, seed=1)
    campaign.add_station("yd-2", people=1, seed=2)
    campaign.init()
    campaign.push("yd-1")
    with open_store(one) as store:
        sha = sorted(store.images)[0]
    with psycopg.connect(campaign.dsn("yd-2"), autocommit=True) as conn:
        queries.report_image(conn, sha, "damaged")                   # a puller may ask for a repair
        for target, problem, reason in ((sha, None, "not_image_holder"),
                                        ("ab" * 32, "missing", "image_not_held"),
                                        ("ab" * 32, None, "image_not_held")):
            with pytest.raises(psycopg.Error) as said:
                queries.report_image(conn, target, problem)
            refused = refusal(said.value, "hub")
            assert refused is not None and refused.reason == reason
            zh, en = refused.messages
            assert target in zh and target in en
        assert queries.image_reports(conn) == {sha: "damaged"}
    campaign.push("yd-2")                  # yd-2 holds no report it may clear: its push goes on
    again = campaign.push("yd-1")          # the station that stored it rewrites it and clears
    assert again.images_repaired == 1
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        assert queries.image_reports(conn) == {}
