"""Stations push to a real PostgreSQL hub, a master pulls: the same store, and the same export, as
a master built by bundle merge from the same stations (issue 15, "done when")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.hub.conftest import Campaign
from tests.sync.conftest import canonical

BATCH_ID = "01JHUBTESTBATCH00000000000"
NOW_MS = 1780277400000


def _export(data_dir: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every file of a CHSI batch built at ``data_dir`` (batch id and time fixed: both masters
    would otherwise differ by them alone)."""
    import station.export.service as service
    from station.export.profile import load_batch_profile
    from station.export.selection import Filters
    from station.store import open_store

    monkeypatch.setattr(service, "ULID", lambda: BATCH_ID)
    with open_store(data_dir) as store:
        built = service.build_batch(store, load_batch_profile("chsi"), out, Filters(school_code="10673"),
                                    operator="sup", now=NOW_MS)
    assert built.written is not None
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _facts(data_dir: Path, stations: set[str]) -> dict[str, list[tuple[object, ...]]]:
    """The stations' fact rows at a master, but for the audit row of the way they travelled
    (a station audits a bundle or a push before reading its rows: one 'bundle', one 'hub.push')."""
    dump = canonical(data_dir, stations)
    dump["audit"] = [r for r in dump["audit"] if r[5] not in {"bundle", "hub.push"}]
    return dump


def _bundle_twin(campaign: Campaign, tmp_path: Path) -> tuple[Path, list[Path]]:
    """A copy of the master (same id, same key) and a bundle of a copy of each station, made
    before anything is pushed: the bundle way, from exactly the rows the hub way starts from."""
    from station.store import open_store
    from station.sync.bundle import create_bundle

    twin = tmp_path / "twin"
    shutil.copytree(campaign.master, twin)
    bundles = []
    for name, folder in campaign.stations.items():
        copy = tmp_path / f"{name}-copy"
        shutil.copytree(folder, copy)
        with open_store(copy) as store:
            bundles.append(create_bundle(store, tmp_path / f"{name}.zip").path)
    return twin, bundles


def test_three_stations_push_a_master_pulls_the_same_as_a_bundle_merge(
        any_campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Images in the database or in the hub's image folder: the same master, the same export."""
    from station.store import open_store

    campaign = any_campaign
    from station.sync.merge import merge_bundle

    for n, name in enumerate(("yd-1", "yd-2", "yd-3"), start=1):
        campaign.add_station(name, people=3, seed=n)
    init = campaign.init()
    assert {s.station_id for s in init.stations} == {"master", "yd-1", "yd-2", "yd-3"}
    twin, bundles = _bundle_twin(campaign, tmp_path)
    for name in campaign.stations:
        result = campaign.push(name)
        assert result.pushes == [1]
        assert result.images_sent == 6                   # 3 people × (raw + crop)
    pulled = campaign.pull()
    assert not pulled.refused
    assert [r.station_id for r in pulled.merged] == ["yd-1", "yd-2", "yd-3"]
    assert pulled.images_added == 18
    with open_store(twin) as store:
        for bundle in reversed(bundles):                 # another order on purpose
            merge_bundle(store, bundle, "sup")

    stations = set(campaign.stations)
    hub_way, bundle_way = _facts(campaign.master, stations), _facts(twin, stations)
    assert sum(len(rows) for rows in hub_way.values()) > 3 * 3 * 4
    assert hub_way == bundle_way
    exported = _export(campaign.master, tmp_path / "out-hub", monkeypatch)
    assert sum(name.endswith(".jpg") for name in exported) == 9
    assert exported == _export(twin, tmp_path / "out-bundle", monkeypatch)

    again = campaign.pull()
    assert again.merged == [] and again.already == 3
    assert _facts(campaign.master, stations) == hub_way


def test_a_second_push_finds_nothing_new(any_campaign: Campaign) -> None:
    from station.hub.schema import MIGRATIONS
    from station.store import open_store

    campaign = any_campaign
    folder = campaign.add_station("yd-1", people=2, seed=1)
    assert campaign.init().applied == [m.version for m in MIGRATIONS]
    again = campaign.init()                                # init is idempotent too
    assert again.applied == [] and [s.new for s in again.stations] == [False, False]
    first = campaign.push("yd-1")
    before = campaign.counts(), campaign.fact_lines()
    second = campaign.push("yd-1")
    assert second.pushes == [] and second.rows == {} and second.images_sent == 0
    assert (campaign.counts(), campaign.fact_lines()) == before
    with open_store(folder) as store:                     # every own row went, its push audited
        own = {t: store.conn.execute(f"SELECT count(*) FROM {t} WHERE station_id = 'yd-1'").fetchone()[0]
               for t in first.rows}
        pushes = tuple(store.conn.execute("SELECT count(*) FROM audit WHERE action = 'hub.push'").fetchone())
    assert own == first.rows and pushes == (1,)


def test_a_push_from_an_unenrolled_key_is_refused_and_the_hub_is_unchanged(
        any_campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A laptop set up again under an enrolled name (new key), using that station's leaked
    database password, and a client that skips its own check: the hub itself refuses. With an
    image folder, the images such a push wrote there stay unreferenced: files named by their own
    hash that no fact refers to (a later push of the same bytes finds them, checked; nothing else
    reads them)."""
    import station.hub.push as hub_push
    from tests.hub.test_hub_folder import unreferenced_folder_images

    campaign = any_campaign
    from station.errors import RefusedError
    from station.hub.connect import HubRefused
    from tests.sync.conftest import make_station

    campaign.add_station("yd-1", people=1, seed=1)
    campaign.init()
    campaign.push("yd-1")
    before = campaign.counts(), campaign.fact_lines()

    impostor = tmp_path / "impostor"
    make_station(impostor, "yd-1", [])
    from tests.exports.conftest import add_people, person

    add_people(impostor, [person(900 + i) for i in range(4)])   # more rows than yd-1 pushed
    campaign.stations["impostor"] = impostor
    campaign.passwords["impostor"] = campaign.passwords["yd-1"]
    with pytest.raises(RefusedError) as said:                # the client says it first, in words
        campaign.push("impostor", role_of="yd-1")
    assert said.value.key == "hub.push_other_key"
    monkeypatch.setattr(hub_push, "_require_enrolled", lambda *a: None)    # a client without
    monkeypatch.setattr(hub_push, "_anything_new", lambda *a: True)       # its own checks
    with pytest.raises(HubRefused) as refused:
        campaign.push("impostor", role_of="yd-1")
    assert refused.value.reason == "not_enrolled"
    zh, en = refused.value.messages
    assert "拒绝了整个推送" in zh and "nothing changed there" in en and "yd-1" in en

    stranger = campaign.add_station("yd-9", people=1, seed=9, enrol=False)
    assert stranger.is_dir()
    campaign.passwords["yd-9"] = campaign.passwords["yd-1"]
    with pytest.raises(HubRefused) as refused:            # rows stamped yd-9 under yd-1's role
        campaign.push("yd-9", role_of="yd-1")
    assert refused.value.reason in {"other_station", "not_permitted"}
    with pytest.raises(HubRefused) as refused:            # even with the hub owner's login
        campaign.push("yd-9", dsn=campaign.admin_dsn)
    assert refused.value.reason == "not_enrolled"
    assert (campaign.counts(), campaign.fact_lines()) == before
    if campaign.images is not None:       # the impostor's 4 people's photos (yd-9's one person is
        assert len(unreferenced_folder_images(campaign)) == 2 * 4     # its first: the same photos)


def test_a_store_restored_from_an_older_backup_is_stopped_before_it_loses_records(
        campaign: Campaign, tmp_path: Path) -> None:
    """Records made after the restore would take sequence numbers the hub already holds (those of
    the lost records) and never travel: the push says so instead."""
    from station.errors import RefusedError
    from tests.exports.conftest import add_people, person

    folder = campaign.add_station("yd-1", people=1, seed=1)
    campaign.init()
    backup = tmp_path / "backup"
    shutil.copytree(folder, backup)
    add_people(folder, [person(150)])
    campaign.push("yd-1")
    before = campaign.counts(), campaign.fact_lines()
    add_people(backup, [person(151), person(152)])
    campaign.stations["yd-1"] = backup
    with pytest.raises(RefusedError) as said:
        campaign.push("yd-1")
    assert said.value.key == "hub.push_behind"
    zh, en = said.value.messages
    assert "备份" in zh and "restored from an older backup" in en
    assert (campaign.counts(), campaign.fact_lines()) == before
