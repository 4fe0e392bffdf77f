import datetime as dt

from ulid import ULID

from station.config import default_settings, load_settings
from station.roster.eligibility import Rules
from station.roster.importer import import_roster
from station.store.clock import HLC, receive, tick, ticks
from station.store.ulids import new_ulids


def test_clock_never_goes_back_and_sorts_as_text():
    a = tick(None, "st-a", wall_ms=1000)
    b = tick(a, "st-a", wall_ms=900)          # the wall clock jumped back
    c = tick(b, "st-a", wall_ms=2000)
    assert a < b < c and a.encode() < b.encode() < c.encode()
    assert (b.wall_ms, b.counter) == (1000, 1)
    remote = HLC(5000, 7, "st-b")
    d = receive(c, remote, "st-a", wall_ms=2100)
    assert d > remote and d.encode() > remote.encode() and d.station == "st-a"
    assert HLC.decode(d.encode()) == d
    assert HLC.decode("0000000005000-000007-st-b-2") == HLC(5000, 7, "st-b-2")
    full = HLC(5000, 999_999, "st-a")
    after = tick(full, "st-a", wall_ms=10)
    assert after == HLC(5001, 0, "st-a") and after.encode() > full.encode()


def test_bulk_ticks_are_the_single_ticks_and_carry_across_a_full_counter():
    last = HLC(5000, 999_998, "st-a")
    one_by_one, prev = [], last
    for _ in range(4):
        prev = tick(prev, "st-a", wall_ms=10)
        one_by_one.append(prev.encode())
    assert ticks(last, "st-a", 4, wall_ms=10) == one_by_one
    assert one_by_one[1] == "0000000005001-000000-st-a"
    assert ticks(None, "st-a", 3, wall_ms=7) == [
        "0000000000007-000000-st-a", "0000000000007-000001-st-a", "0000000000007-000002-st-a"]
    assert ticks(last, "st-a", 0) == []


def test_bulk_ulids_are_canonical_ulids_of_the_given_time():
    for ms in (0, 1, 1_796_000_000_123, (1 << 48) - 1):
        keys = new_ulids(50, now_ms=ms)
        assert len(set(keys)) == 50
        for key in keys:
            parsed = ULID.from_str(key)
            assert str(parsed) == key and parsed.milliseconds == ms
    assert new_ulids(0) == []


def test_stamps_continue_the_sequence_and_the_clock(store):
    with store.transaction():
        first = store.stamps(3)
        second = store.stamps(2)
    seqs = [s.seq for s in first + second]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    hlcs = [s.hlc for s in first + second]
    assert hlcs == sorted(hlcs) and len(set(hlcs)) == 5
    assert store.meta("hlc") == hlcs[-1] and store.meta("seq") == str(seqs[-1])
    assert len({s.id for s in first + second}) == 5


def test_default_rules_follow_the_reference_notice():
    rules = Rules.from_settings(default_settings().roster)
    assert rules.judge("phd", 2014, 4, "full_time", False).rule == "phd_2014"
    assert rules.judge("master", 2015, 3, "full_time", False).rule == "master_3y_2015"
    assert rules.judge("master", 2016, 2, "full_time", False).rule == "master_2y_2016"
    assert not rules.judge("master", 2015, 2, "full_time", False).eligible
    assert not rules.judge("master", 2016, 3, "full_time", False).eligible
    assert rules.judge("master", 2015, 3, "part_time", False).rule == "part_time"
    assert rules.judge("master", 2012, 3, "full_time", True).rule == "earlier_uncaptured"
    assert rules.judge("master", 2012, 3, "part_time", True).rule == "part_time"
    assert rules.label("phd_2014", "en") == "PhD, entered 2014"


def test_rules_come_from_the_station_configuration(store, tmp_path):
    (store.data_dir / "station.toml").write_text(
        '[roster]\neligible_study_modes = ["full_time", "part_time"]\n'
        'earlier_uncaptured_eligible = false\n'
        '[[roster.eligibility]]\nname = "master_2017"\ndegree = "master"\nentry_year = 2017\n',
        encoding="utf-8")
    cfg = load_settings(store.data_dir).roster
    from station.domain import idnumber

    a = idnumber.make("530102", dt.date(1994, 3, 3), 1, True)
    b = idnumber.make("530102", dt.date(1994, 3, 3), 2, False)
    c = idnumber.make("530102", dt.date(1990, 3, 3), 3, True)
    f = tmp_path / "r.csv"
    f.write_text("身份证号,姓名,培养单位,学历层次,学制,入学年份,学习方式,往届未采集\n"
                 f"{a},甲,信息学院,硕士,3,2017,非全日制,\n"
                 f"{b},乙,信息学院,硕士,3,2015,全日制,\n"
                 f"{c},丙,信息学院,硕士,3,2012,全日制,是\n", encoding="utf-8")
    import_roster(store, f, cfg, "sup")
    assert store.roster.get(a).eligible and store.roster.get(a).eligibility_rule == "master_2017"
    assert not store.roster.get(b).eligible
    assert store.roster.get(c).eligibility_rule == "not_graduating"
    assert store.roster.get(c).earlier_uncaptured is True
