"""A bundle's database with a view, trigger or index our schema never creates is refused whole
before anything opens it for writing (audit, minor): a trigger would run during its migration
or merge. A genuine bundle, whose views and triggers are our own, still merges."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("kind", "sql"), [
    ("trigger", "CREATE TRIGGER sneak AFTER UPDATE ON meta BEGIN DELETE FROM payments; END"),
    ("view", "CREATE VIEW odd AS SELECT 1"),
])
def test_foreign_schema_objects_are_refused(tmp_path, make_station, idn, enrol, kit, kind, sql):
    from station.store import open_store
    from station.sync.bundle import create_bundle
    from station.sync.errors import BundleRefused
    from station.sync.merge import merge_bundle

    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    make_station(tmp_path / "m", "master", [])
    enrol(tmp_path / "m", tmp_path / "a")
    with open_store(tmp_path / "a") as store:
        create_bundle(store, tmp_path / "a.zip")
    kit.forge(tmp_path / "a.zip", tmp_path / "f.zip", tmp_path / "a", tmp_path, db_sql=[sql])
    before = kit.master_state(tmp_path / "m")
    with open_store(tmp_path / "m") as store, pytest.raises(BundleRefused) as said:
        merge_bundle(store, tmp_path / "f.zip")
    assert said.value.reason == "schema_object"
    zh, en = said.value.messages
    assert kind in en and ("sneak" if kind == "trigger" else "odd") in zh + en
    assert kit.master_state(tmp_path / "m") == before
    with open_store(tmp_path / "m") as store:
        assert merge_bundle(store, tmp_path / "a.zip").added          # the genuine one merges
