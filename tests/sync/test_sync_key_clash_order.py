"""A key taken over by another station (audit defect 1): station st-a puts a row under the key of
st-b's acceptance and signs it with its own key. Whatever order the bundles are merged in, the
master ends with the same canonical dump and the same conflict list, and no signed row is dropped
without a recorded clash (sync.md §5–7: keep both, record it, deterministic winner)."""

from __future__ import annotations

import itertools
import sqlite3

import pytest


def _ids(bundle_db_path):
    conn = sqlite3.connect(bundle_db_path)
    try:
        acc = conn.execute("SELECT id, hlc, capture_id FROM acceptances ORDER BY seq").fetchone()
        seq = conn.execute("SELECT MAX(seq) FROM acceptances").fetchone()[0]
    finally:
        conn.close()
    return acc, seq


def _state(master):
    from station.store import open_store
    from station.store.union import canonical_dump
    from station.sync.conflicts import ConflictService

    with open_store(master) as store:
        dump = canonical_dump(store.conn, {"st-a", "st-b"})
        items = sorted((i.id, i.kind, tuple(sorted((o.fact_id, o.station_id, o.text("en")) for o in i.options)))
                       for i in ConflictService(store).items())
        clashes = sorted((r[0], r[1], r[2]) for r in store.conn.execute(
            "SELECT target_table, target_id, origin_station FROM merge_clashes"))
        waiting = store.conn.execute("SELECT COUNT(*) FROM sync_pending").fetchone()[0]
        decision = {c["station_id"]: c["decision"] for c in store.conn.execute(
            "SELECT station_id, decision FROM capture_decisions")}
    return dump, items, clashes, waiting, decision


@pytest.fixture
def forged(tmp_path, make_station, idn, enrol, kit):
    """Bundles of st-a and st-b, and two forgeries of st-a (re-signed by st-a) reusing the key of
    st-b's acceptance: on st-a's own photo, and on st-b's photo (waits for its parent at first)."""
    from station.store import open_store
    from station.sync.bundle import create_bundle

    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    make_station(tmp_path / "b", "st-b", [(idn(3), "李三")], seed=2)
    for name in ("a", "b"):
        with open_store(tmp_path / name) as store:
            create_bundle(store, tmp_path / f"{name}.zip")
    with open_store(tmp_path / "b") as store:
        b_acc = dict(store.conn.execute("SELECT * FROM acceptances").fetchone())
    with open_store(tmp_path / "a") as store:
        a_acc = dict(store.conn.execute("SELECT * FROM acceptances").fetchone())
        seq = int(store.meta("seq") or 0) + 1
    wall, _, _ = b_acc["hlc"].split("-", 2)
    later = f"{int(wall) + 1000:013d}-000000-st-a"        # st-a did it after reading st-b's row
    for name, on in (("own", a_acc), ("theirs", b_acc)):
        kit.forge(tmp_path / "a.zip", tmp_path / f"f-{name}.zip", tmp_path / "a", tmp_path, db_sql=[
            f"CREATE TEMP TABLE x AS SELECT * FROM acceptances WHERE id = '{a_acc['id']}'",
            f"UPDATE x SET id = '{b_acc['id']}', seq = {seq}, hlc = '{later}', "
            f"capture_id = '{on['capture_id']}', id_number = '{on['id_number']}', decision = 'reject'",
            "INSERT INTO acceptances SELECT * FROM x"], manifest={"max_hlc": later})
    return tmp_path, b_acc


@pytest.mark.parametrize("variant", ["own", "theirs"])
def test_merge_order_never_changes_dump_nor_conflicts(forged, variant, make_station, enrol):
    from station.store import open_store
    from station.store.fsck import fsck
    from station.sync.merge import merge_bundle

    tmp, b_acc = forged
    bundles = [tmp / f"f-{variant}.zip", tmp / "b.zip"]
    states = []
    for n, order in enumerate(itertools.permutations(bundles)):
        master = tmp / f"m-{variant}-{n}"
        make_station(master, "master", [])
        enrol(master, tmp / "a", tmp / "b")
        with open_store(master) as store:
            for path in (*order, *order):                       # duplicates change nothing
                merge_bundle(store, path)
            # a version replaced by a greater one is re-sealed: the store checks out whole
            assert [f.code for f in fsck(store) if f.severity == "error"] == []
        states.append(_state(master))
    first = states[0]
    for other in states[1:]:
        assert other == first
    dump, items, clashes, waiting, _ = first
    # nothing dropped: one version holds the key, the other is a recorded clash in its own name
    assert clashes == [("acceptances", b_acc["id"], "st-b")]
    assert waiting == 0
    [held] = [r for r in dump["acceptances"] if r[0] == b_acc["id"]]
    assert held[1] == "st-a"                      # the later clock wins, whatever came first
    [item] = [i for i in items if i[1] == "key_clash"]
    assert {o[1] for o in item[2]} == {"st-a", "st-b"}          # both versions offered


def test_supervisor_can_keep_the_version_set_aside(forged, make_station, enrol):
    """Both versions are offered; keeping st-b's genuine acceptance gives st-b's photo its
    decision back (a new acceptance fact), and the item is closed."""
    from station.store import open_store
    from station.sync.conflicts import ConflictService
    from station.sync.merge import merge_bundle

    tmp, b_acc = forged
    make_station(tmp / "m", "master", [])
    enrol(tmp / "m", tmp / "a", tmp / "b")
    with open_store(tmp / "m") as store:
        for path in (tmp / "b.zip", tmp / "f-own.zip"):
            merge_bundle(store, path)
        assert _decisions(store)["st-b"] is None               # st-b's acceptance lost its key
        service = ConflictService(store)
        [item] = [i for i in service.items() if i.kind == "key_clash"]
        keep_b = next(o for o in item.options if o.station_id == "st-b")
        decision = service.decide(item.id, keep_b.key, "sup")
        assert len(decision.effects) == 1
        assert _decisions(store)["st-b"] == b_acc["decision"] == "accept"
        assert [i for i in service.items() if i.kind == "key_clash"] == []


def _decisions(store):
    return {r["station_id"]: r["decision"] for r in store.conn.execute(
        "SELECT station_id, decision FROM capture_decisions")}
