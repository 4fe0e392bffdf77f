"""Corrections made with `station correct` are facts that travel in bundles; the same field of the
same person corrected differently at two stations is a conflict the supervisor sees (sync.md §6),
and an ID-number correction travels too (the master's derived state follows it)."""

from __future__ import annotations


def name_corrected_at_two_stations(tmp_path, make_station, idn, enrol, cli, more_at_a=()):
    """Stations st-a and st-b (both enrolled at a master) hold 张一, and each corrects the name
    differently (张益, 章一); st-a also holds ``more_at_a``."""
    make_station(tmp_path / "a", "st-a", [(idn(1), "张一"), *more_at_a], seed=1)
    make_station(tmp_path / "b", "st-b", [(idn(1), "张一")], seed=2)
    make_station(tmp_path / "m", "master", [])
    enrol(tmp_path / "m", tmp_path / "a", tmp_path / "b")
    for name, value in (("a", "张益"), ("b", "章一")):
        r = cli(tmp_path / name, "correct", idn(1), "--field", "name", "--value", value, "--reason", "核对",
                op="tech")
        assert r.returncode == 0, r.stderr


def merge_both(tmp_path, cli) -> None:
    """st-a's and st-b's bundles merged at the master."""
    from station.store import open_store
    from station.sync.bundle import create_bundle

    for name in ("a", "b"):
        with open_store(tmp_path / name) as store:
            create_bundle(store, tmp_path / f"{name}.zip")
    r = cli(tmp_path / "m", "merge", tmp_path / "a.zip", tmp_path / "b.zip", op="sup")
    assert r.returncode == 0, r.stderr


def test_station_correct_at_two_stations_is_a_conflict(tmp_path, make_station, idn, enrol, cli):
    from station.store import open_store
    from station.store.people import load_snapshot
    from station.sync.conflicts import ConflictService

    name_corrected_at_two_stations(tmp_path, make_station, idn, enrol, cli, [(idn(2), "李二")])
    new = idn(30)
    r = cli(tmp_path / "a", "correct", idn(2), "--field", "id_number", "--value", new, "--reason", "录错",
            op="sup")
    assert r.returncode == 0, r.stderr
    merge_both(tmp_path, cli)
    with open_store(tmp_path / "m") as store:
        kinds = {i.kind: i for i in ConflictService(store).items()}
        assert "two_corrections" in kinds
        item = kinds["two_corrections"]
        assert "st-a、st-b" in item.text("zh")
        assert sorted(o.text("zh").split("”")[0] for o in item.options) == ["“张益", "“章一"]
        persons = load_snapshot(store).persons
        assert idn(2) not in persons and persons[new].accepted is not None
        assert store.person_state(new).paid_cents > 0


def test_a_correction_made_over_the_decided_value_does_not_reopen_the_conflict(tmp_path, make_station, idn,
                                                                              enrol, cli):
    """Two stations corrected a name differently; the supervisor decided at the master. Days later
    the student asks for one more fix and the supervisor corrects the decided name there: that is
    the next value, not a third competitor — the item stays decided and the new name is the
    person's. A station's later correction (it may not have seen the decision) still reopens it."""
    from station.store import open_store
    from station.store.people import load_snapshot
    from station.sync.bundle import create_bundle
    from station.sync.conflicts import ConflictService

    name_corrected_at_two_stations(tmp_path, make_station, idn, enrol, cli)
    merge_both(tmp_path, cli)
    with open_store(tmp_path / "m") as store:
        [item] = [i for i in ConflictService(store).items() if i.kind == "two_corrections"]
        [keep] = [o.key for o in item.options if o.text("zh").startswith("“张益")]
    r = cli(tmp_path / "m", "conflicts", "decide", item.id, keep, op="sup")
    assert r.returncode == 0, r.stderr
    r = cli(tmp_path / "m", "correct", idn(1), "--field", "name", "--value", "张懿", "--reason", "学生来信",
            op="sup")
    assert r.returncode == 0, r.stderr
    r = cli(tmp_path / "m", "--lang", "en", "conflicts", "list", op="sup")
    assert r.returncode == 0 and item.id not in r.stdout, r.stdout
    with open_store(tmp_path / "m") as store:
        assert not [i for i in ConflictService(store).items() if i.kind == "two_corrections"]
        assert load_snapshot(store).persons[idn(1)].name == "张懿"
    # st-b, never told of the decision, corrects again over its own 章一: a competitor again
    r = cli(tmp_path / "b", "correct", idn(1), "--field", "name", "--value", "章懿", "--reason", "核对",
            op="tech")
    assert r.returncode == 0, r.stderr
    with open_store(tmp_path / "b") as store:
        create_bundle(store, tmp_path / "b2.zip")
    r = cli(tmp_path / "m", "merge", tmp_path / "b2.zip", op="sup")
    assert r.returncode == 0, r.stderr
    with open_store(tmp_path / "m") as store:
        [again] = [i for i in ConflictService(store).items() if i.kind == "two_corrections"]
        assert again.id == item.id
