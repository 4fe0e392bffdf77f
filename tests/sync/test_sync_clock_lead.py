"""A station clock far ahead (audit defect 2): its rows must not outrank the supervisor's later
decision, rows beyond the allowed lead wait instead of being merged, the manifest's newest clock
must be the rows' own, and option texts show the year when it is not this year."""

from __future__ import annotations

import pytest

HOUR_MS = 3600 * 1000


@pytest.fixture
def stations(tmp_path, make_station, idn, enrol, monkeypatch):
    """``build(lead_ms)``: st-a (right clock) and st-b (clock ``lead_ms`` ahead) both accepted
    张一's photo and made bundles; a master enrolled both."""
    from station.store import clock, open_store
    from station.sync.bundle import create_bundle

    def build(lead_ms: int, later_ms: int | None = None):
        make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
        real = clock.now_ms
        with monkeypatch.context() as patch:
            patch.setattr(clock, "now_ms", lambda: real() + lead_ms)
            make_station(tmp_path / "b", "st-b", [(idn(1), "张一")], seed=2)
            with open_store(tmp_path / "b") as store:
                if later_ms is not None:             # the clock ran on further ahead
                    patch.setattr(clock, "now_ms", lambda: real() + later_ms)
                    store.facts.record_payment(idn(1), 100, "cash", operator="sup")
                create_bundle(store, tmp_path / "b.zip")
        with open_store(tmp_path / "a") as store:
            create_bundle(store, tmp_path / "a.zip")
        make_station(tmp_path / "m", "master", [])
        enrol(tmp_path / "m", tmp_path / "a", tmp_path / "b")
        return tmp_path

    return build


def test_supervisor_decision_outranks_a_clock_ahead(stations, idn):
    """st-b accepted its photo with its clock 20 hours ahead (within the allowed lead), then its
    clock ran on to 30 hours ahead (beyond it: the master's clock does not follow). Keeping
    st-a's photo must still reject st-b's, although st-b's acceptance is stamped later than the
    supervisor's 'now'."""
    from station.store import open_store
    from station.sync.conflicts import ConflictService
    from station.sync.merge import merge_bundle

    tmp = stations(20 * HOUR_MS, 30 * HOUR_MS)
    with open_store(tmp / "m") as store:
        for name in ("a", "b"):
            result = merge_bundle(store, tmp / f"{name}.zip")
        assert result.clock_lead_hours > 24 and result.ahead >= 1     # the payment (and audit) wait
        service = ConflictService(store)
        [item] = [i for i in service.items() if i.kind == "accepted_at_two_stations"]
        keep_a = next(o for o in item.options if o.station_id == "st-a")
        service.decide(item.id, keep_a.key, "sup")
        accepted = [c["station_id"] for c in store.facts.accepted_captures() if c["id_number"] == idn(1)]
        assert accepted == ["st-a"]
        assert service.items() == []


def test_rows_beyond_the_allowed_lead_wait(stations, idn):
    """st-b's clock is a year ahead: its rows are reported and held back, not merged; nothing of
    st-b's outranks the master's facts, and the master's clock does not jump a year."""
    from station.cli.sync import merge_detail_lines
    from station.store import clock, open_store
    from station.sync.conflicts import ConflictService
    from station.sync.merge import MAX_CLOCK_LEAD_MS, merge_bundle

    tmp = stations(365 * 24 * HOUR_MS)
    with open_store(tmp / "m") as store:
        merge_bundle(store, tmp / "a.zip")
        result = merge_bundle(store, tmp / "b.zip")
        assert result.clock_lead_hours > 8000
        assert result.ahead > 0 and result.pending == 0
        assert store.conn.execute("SELECT COUNT(*) FROM captures WHERE station_id = 'st-b'").fetchone()[0] == 0
        waiting = store.conn.execute("SELECT COUNT(*) FROM sync_pending WHERE origin_station = 'st-b'").fetchone()[0]
        assert waiting == result.ahead
        assert [c["station_id"] for c in store.facts.accepted_captures()] == ["st-a"]
        assert ConflictService(store).items() == []
        own = clock.HLC.decode(store.meta("hlc") or "")
        assert own.wall_ms <= clock.now_ms() + MAX_CLOCK_LEAD_MS
        lines = " ".join(merge_detail_lines(result))
        assert str(result.ahead) in lines and "24" in lines
        again = merge_bundle(store, tmp / "b.zip")             # the same file: nothing changes
        assert again.already_imported


def test_manifest_cannot_hide_the_clock_lead(tmp_path, make_station, idn, enrol, kit):
    """One acceptance re-stamped 2099 with the manifest's max_hlc left as it was: refused whole,
    naming the field, and the master is unchanged."""
    from station.errors import StationError
    from station.store import open_store
    from station.sync.bundle import create_bundle
    from station.sync.merge import merge_bundle

    make_station(tmp_path / "b", "st-b", [(idn(1), "张一")], seed=2)
    make_station(tmp_path / "m", "master", [])
    enrol(tmp_path / "m", tmp_path / "b")
    with open_store(tmp_path / "b") as store:
        create_bundle(store, tmp_path / "b.zip")
    kit.forge(tmp_path / "b.zip", tmp_path / "f.zip", tmp_path / "b", tmp_path,
              db_sql=["UPDATE acceptances SET hlc = '4070908800000-000000-st-b'"])
    before = kit.master_state(tmp_path / "m")
    with open_store(tmp_path / "m") as store, pytest.raises(StationError) as caught:
        merge_bundle(store, tmp_path / "f.zip")
    assert caught.value.reason == "max_hlc" and caught.value.exit_code == 2
    zh, en = caught.value.messages
    assert "max_hlc" in zh and "max_hlc" in en and "acceptances" in en and "4070908800000" in en
    assert kit.master_state(tmp_path / "m") == before


def test_option_times_show_a_year_that_is_not_this_one():
    import datetime as dt

    from station.sync.conflicts import local_time

    assert local_time("4070908800000-000000-st-b").startswith("2099-") or \
        local_time("4070908800000-000000-st-b").startswith("2098-")     # local time zone
    now = int(dt.datetime.now().timestamp() * 1000)
    assert len(local_time(f"{now:013d}-000000-st-a")) == len("12-01 21:03")
