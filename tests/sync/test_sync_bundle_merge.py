"""Bundles and merges on real stores: idempotent, order-independent, refused whole when damaged."""

from __future__ import annotations

import zipfile


def _bundle(cli, data_dir, out):
    r = cli(data_dir, "bundle", "create", "--out", out, "--json", op="tech")
    assert r.returncode == 0, r.stderr
    return r.json()


def test_merge_is_idempotent_and_order_independent(tmp_path, make_station, idn, canonical, cli, enrol):
    make_station(tmp_path / "a", "st-a", [(idn(1), "张一"), (idn(2), "张二")], seed=1)
    make_station(tmp_path / "b", "st-b", [(idn(3), "李三")], seed=2)
    make_station(tmp_path / "m1", "master", [])
    make_station(tmp_path / "m2", "master", [])
    enrol(tmp_path / "m1", tmp_path / "a", tmp_path / "b")
    enrol(tmp_path / "m2", tmp_path / "a", tmp_path / "b")
    a = _bundle(cli, tmp_path / "a", tmp_path / "a.zip")
    b = _bundle(cli, tmp_path / "b", tmp_path / "b.zip")
    assert a["images"] == 4 and b["images"] == 2

    r1 = cli(tmp_path / "m1", "merge", tmp_path / "a.zip", tmp_path / "b.zip", "--json", op="sup")
    assert r1.returncode == 0, r1.stderr
    added = r1.json()["bundles"][0]["added"]
    assert added["captures"] == 2 and added["acceptances"] == 2 and "operators" not in added
    r2 = cli(tmp_path / "m2", "merge", tmp_path / "b.zip", tmp_path / "a.zip", tmp_path / "b.zip", "--json", op="sup")
    assert r2.returncode == 0, r2.stderr
    assert r2.json()["bundles"][2]["already_imported"]
    stations = {"st-a", "st-b"}
    dump1, dump2 = canonical(tmp_path / "m1", stations), canonical(tmp_path / "m2", stations)
    assert dump1 == dump2
    assert dump1 == {**canonical(tmp_path / "a", stations), **{
        t: sorted(canonical(tmp_path / "a", stations)[t] + canonical(tmp_path / "b", stations)[t])
        for t in dump1 if t != "operators"}, "operators": []}
    assert dump1["captures"] and dump1["audit"]
    again = cli(tmp_path / "m1", "merge", tmp_path / "a.zip", "--json", op="sup")
    assert again.json()["bundles"][0]["already_imported"]
    assert canonical(tmp_path / "m1", stations) == dump1

    from station.store import open_store
    with open_store(tmp_path / "m1") as store:
        assert store.audit.verify() == []
        for sha in (r["image_sha256"] for r in store.conn.execute("SELECT image_sha256 FROM captures")):
            assert store.images.verify(sha)
        assert len(store.facts.accepted_captures()) == 3

    # the master can export what the stations captured
    out = tmp_path / "batches"
    exported = cli(tmp_path / "m1", "export", "build", "--out", out, "--json", op="tech")
    assert exported.returncode == 0, exported.stderr
    assert exported.json()["photos"] == 3


def test_damaged_bundle_is_refused_whole(tmp_path, make_station, idn, cli, enrol, kit):
    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    make_station(tmp_path / "m", "master", [])
    enrol(tmp_path / "m", tmp_path / "a")
    _bundle(cli, tmp_path / "a", tmp_path / "a.zip")
    with zipfile.ZipFile(tmp_path / "a.zip") as src, zipfile.ZipFile(tmp_path / "bad.zip", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("images/"):
                data = data[:-10] + bytes(10)
            dst.writestr(info, data)
    before = kit.master_state(tmp_path / "m")
    r = cli(tmp_path / "m", "merge", tmp_path / "bad.zip", "--json", op="sup")
    assert r.returncode == 2
    refused = r.json()["refused"][0]
    assert refused["reason"] == "image_hash" and refused["field"].startswith("images/")
    assert "do not match its name" in refused["message_en"]
    assert kit.master_state(tmp_path / "m") == before


def test_conflicts_are_kept_and_listed(tmp_path, make_station, idn, cli, enrol, kit):
    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    make_station(tmp_path / "b", "st-b", [(idn(1), "张壹")], seed=2)       # same person, other name
    make_station(tmp_path / "m", "master", [])
    enrol(tmp_path / "m", tmp_path / "a", tmp_path / "b")
    _bundle(cli, tmp_path / "a", tmp_path / "a.zip")
    _bundle(cli, tmp_path / "b", tmp_path / "b.zip")
    r = cli(tmp_path / "m", "merge", tmp_path / "a.zip", tmp_path / "b.zip", "--json", op="sup")
    kinds = {c["kind"] for c in r.json()["review"]}
    assert kinds == {"accepted_at_two_stations", "same_id_different_identity"}

    # the same key with different content (a station that broke the rules: its own store refuses
    # to bundle an edited row, so the edit is made in the bundle, signed with its key): the
    # master's row stays, the bundle's is recorded
    from station.store import open_store
    with open_store(tmp_path / "a") as store:
        store.facts.record_payment(idn(1), 100, "cash", operator="sup")
        first = store.conn.execute("SELECT id FROM payments ORDER BY hlc LIMIT 1").fetchone()[0]
    _bundle(cli, tmp_path / "a", tmp_path / "a2.zip")
    forged = kit.forge(tmp_path / "a2.zip", tmp_path / "a2-edited.zip", tmp_path / "a", tmp_path,
                       db_sql=(f"UPDATE payments SET reference = 'edited' WHERE id = '{first}'",))
    r2 = cli(tmp_path / "m", "merge", forged, "--json", op="sup")
    result = r2.json()["bundles"][0]
    assert result["clashes"] == 1
    assert result["added"]["payments"] == 1
    clash = [i for i in r2.json()["review"] if i["kind"] == "key_clash"]
    assert len(clash) == 1 and "st-a" in clash[0]["text_en"] and "payment" in clash[0]["text_en"]
    with open_store(tmp_path / "m") as store:
        refs = [r[0] for r in store.conn.execute("SELECT reference FROM payments WHERE station_id = 'st-a'")]
        assert "edited" not in refs


def test_merge_needs_a_supervisor(tmp_path, make_station, idn, cli):
    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    _bundle(cli, tmp_path / "a", tmp_path / "a.zip")
    r = cli(tmp_path / "a", "merge", tmp_path / "a.zip", op="tech")
    assert r.returncode == 2


def test_any_merge_order_with_duplicates_converges(tmp_path, make_station, idn, canonical, enrol):
    """sync.md §7: merging in any order, with duplicates and repeats, yields the same dump."""
    import itertools

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from station.store import open_store
    from station.sync.bundle import create_bundle
    from station.sync.merge import merge_bundle

    bundles = []
    for k, name in enumerate(("st-a", "st-b", "st-c")):
        make_station(tmp_path / name, name, [(idn(10 * k + j), f"人{k}{j}") for j in range(2)], seed=k)
        with open_store(tmp_path / name) as store:
            bundles.append(create_bundle(store, tmp_path / f"{name}.zip").path)
    reference = None
    counter = itertools.count()

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.sampled_from(range(3)), min_size=3, max_size=6).filter(lambda xs: set(xs) == {0, 1, 2}))
    def check(order):
        nonlocal reference
        master = tmp_path / f"master{next(counter)}"
        make_station(master, "master", [])
        enrol(master, *(tmp_path / name for name in ("st-a", "st-b", "st-c")))
        with open_store(master) as store:
            for i in order:
                merge_bundle(store, bundles[i])
        dump = canonical(master, {"st-a", "st-b", "st-c"})
        if reference is None:
            reference = dump
        assert dump == reference

    check()


def test_a_row_changed_behind_the_stations_back_never_leaves_signed(tmp_path, make_station, idn, cli):
    """sqlite3 on the laptop turned a payment of 30 yuan into 3,000: the keyed seals knew (fsck
    reported it), yet `bundle create` signed the altered row with the station key and the master,
    trusting that signature, sealed it as genuine on merge. The bundle is refused now, the first
    problem named, and nothing is written."""
    import sqlite3

    make_station(tmp_path / "a", "st-a", [(idn(1), "张三")])
    conn = sqlite3.connect(tmp_path / "a" / "station.sqlite3")
    conn.execute("UPDATE payments SET amount_cents = 300000")
    conn.commit()
    conn.close()
    out = tmp_path / "out" / "a.zip"
    r = cli(tmp_path / "a", "--lang", "en", "bundle", "create", "--out", out, op="sup")
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "keyed seals do not hold" in r.stderr and "payments" in r.stderr, r.stderr
    assert not out.exists() and not any(out.parent.iterdir())
