"""The same ID number with different names in two stations' rosters (audit defect 4, sync.md §6)
is an item for the supervisor, like card reads that disagree; rosters that agree are not."""

from __future__ import annotations


def test_rosters_that_disagree_on_a_name_are_shown_and_decided(tmp_path, make_station, idn, enrol):
    from station.store import open_store
    from station.store.people import load_snapshot
    from station.sync.bundle import create_bundle
    from station.sync.conflicts import ConflictService
    from station.sync.merge import merge_bundle

    make_station(tmp_path / "m", "master", [])
    for name, spelled in (("a", "王五"), ("b", "王伍")):
        make_station(tmp_path / name, f"st-{name}", [])
        with open_store(tmp_path / name) as store:
            for number, person in ((idn(7), spelled), (idn(8), "赵六")):
                store.insert("roster_entries", {"id_number": number, "name": person, "eligible": 1,
                                                "gender": "male", "department": "物理"})
            create_bundle(store, tmp_path / f"{name}.zip")
    enrol(tmp_path / "m", tmp_path / "a", tmp_path / "b")
    with open_store(tmp_path / "m") as store:
        for name in ("a", "b"):
            merge_bundle(store, tmp_path / f"{name}.zip")
        service = ConflictService(store)
        [item] = service.items()                       # idn(8): both rosters agree
        assert item.kind == "same_id_different_identity" and item.id_number == idn(7)
        assert "姓名" in item.text("zh") and idn(7) not in item.text("zh")
        texts = [o.text("en") for o in item.options]
        assert any("王五" in x and "roster of st-a" in x for x in texts), texts
        assert any("王伍" in x and "roster of st-b" in x for x in texts), texts
        keep_b = next(o for o in item.options if o.station_id == "st-b")
        service.decide(item.id, keep_b.key, "sup")
        assert service.items() == []
        assert load_snapshot(store).persons[idn(7)].name == "王伍"
