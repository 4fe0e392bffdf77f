"""A clock that jumped back (flat CMOS battery, a wrong manual change) is seen when the store is
opened to write: the store keeps the newest time its own clock stamped (``meta.wall_high_ms``),
and a clock more than five minutes behind it is refused in words (CLI), accepted only with
``--clock-is-right`` (audited), and blocks the desk at start. Real SQLite, real processes; the
clock is injected through ``station.store.clock.now_ms``, the one the store stamps with."""

from __future__ import annotations

import asyncio
import json
import sqlite3

from station.localtime import from_ms
from station.store import clock, open_store, wallclock
from tests.conftest import Result

DAY_MS = 24 * 3600 * 1000
PIN = "24681357"
SUP = "王主管"


def _stamp_at(data_dir, wall_ms: int, monkeypatch) -> None:
    """One audited fact stamped while the clock read ``wall_ms``."""
    with monkeypatch.context() as patch:
        patch.setattr(clock, "now_ms", lambda: wall_ms)
        with open_store(data_dir) as store:
            store.audit.append(None, "test.stamp", None, {})


def _init(data_dir) -> None:
    from tests.conftest import run_station_cmd

    done = run_station_cmd(["init", "--station-id", "cs-1", "--supervisor", SUP, "--school-code",
                            "10673"], data_dir=data_dir, env={"STATION_PIN": PIN})
    assert done.returncode == 0, done.stderr


def test_the_store_keeps_the_newest_time_its_clock_stamped_and_never_lowers_it(tmp_path, monkeypatch):
    data = tmp_path / "data"
    _init(data)
    t0 = clock.now_ms()
    _stamp_at(data, t0 + 3 * DAY_MS, monkeypatch)
    _stamp_at(data, t0, monkeypatch)                           # the clock jumped back 3 days
    with open_store(data) as store:
        assert store.meta(wallclock.HIGH_WATER) == str(t0 + 3 * DAY_MS)
        newest = t0 + 3 * DAY_MS
        assert wallclock.behind(store, now_ms=newest) is None
        assert wallclock.behind(store, now_ms=newest - wallclock.TOLERANCE_MS) is None
        found = wallclock.behind(store, now_ms=newest - wallclock.TOLERANCE_MS - 1000)
        assert found is not None and found.newest_ms == newest
        found = wallclock.behind(store, now_ms=t0)
        assert found is not None and found.params()["behind"] == "3d"
        assert found.params()["newest"] == from_ms(newest).isoformat(sep=" ", timespec="seconds")
        assert wallclock.behind(store, now_ms=newest + 365 * DAY_MS) is None   # ahead: not judged


def test_a_store_from_before_the_mark_is_judged_by_its_own_newest_audit_entry(tmp_path, monkeypatch):
    data = tmp_path / "data"
    _init(data)
    t0 = clock.now_ms()
    _stamp_at(data, t0 + 2 * DAY_MS, monkeypatch)
    with open_store(data) as store:
        store.conn.execute("DELETE FROM meta WHERE key = ?", (wallclock.HIGH_WATER,))
        found = wallclock.behind(store, now_ms=t0)
        assert found is not None and found.newest_ms == t0 + 2 * DAY_MS
        # a store that merged others' rows: its stamps followed their clocks, not judged by them
        store.insert("imports", {"kind": "bundle", "file_name": "b.zip", "file_sha256": "0" * 64,
                                 "rows": 1, "added": 1, "updated": 0, "unchanged": 0, "operator": None})
        store.conn.execute("DELETE FROM meta WHERE key = ?", (wallclock.HIGH_WATER,))
        assert wallclock.behind(store, now_ms=t0) is None


def _counts(data) -> tuple[int, int, str]:
    with sqlite3.connect(data / "station.sqlite3") as conn:
        return (conn.execute("SELECT count(*) FROM operators").fetchone()[0],
                conn.execute("SELECT count(*) FROM audit").fetchone()[0],
                conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])


def test_a_clock_behind_the_store_is_refused_in_words_until_confirmed(tmp_path, monkeypatch):
    from tests.conftest import run_station_cmd

    data = tmp_path / "data"
    _init(data)
    ahead = clock.now_ms() + 3 * DAY_MS          # the store's time: 3 days after this machine's clock
    _stamp_at(data, ahead, monkeypatch)
    env = {"STATION_OPERATOR": SUP, "STATION_PIN": PIN}
    before = _counts(data)
    newest = from_ms(ahead).isoformat(sep=" ", timespec="seconds")

    def add(*pre: str) -> Result:
        return run_station_cmd([*pre, "operator", "add", "李摄影", "--role", "photographer"],
                               data_dir=data, env=env, stdin="13572468\n")

    en = add("--lang", "en")
    assert en.returncode == 2, en.stderr
    assert "behind the newest time this store has recorded" in en.stderr and newest in en.stderr
    assert "is 2d 23h 59m behind" in en.stderr and "--clock-is-right" in en.stderr and "timedatectl" in en.stderr
    zh = add()
    assert zh.returncode == 2 and "本机时钟" in zh.stderr and newest in zh.stderr, zh.stderr
    js = run_station_cmd(["operator", "add", "李摄影", "--role", "photographer", "--json"],
                         data_dir=data, env=env, stdin="13572468\n")
    assert js.returncode == 2 and json.loads(js.stdout)["error"] == "store.clock_behind"
    assert json.loads(js.stdout)["clock"]["newest"] == newest
    assert _counts(data) == before                                # nothing written

    listed = run_station_cmd(["operator", "list"], data_dir=data, env=env)   # reading is not refused
    assert listed.returncode == 0, listed.stderr

    ok = add("--lang", "en", "--clock-is-right")
    assert ok.returncode == 0, ok.stderr
    assert "accepted with --clock-is-right" in ok.stderr and newest in ok.stderr
    with sqlite3.connect(data / "station.sqlite3") as conn:
        (operator, details), = conn.execute(
            "SELECT operator, details FROM audit WHERE action = 'clock.confirmed'").fetchall()
        mark = int(conn.execute("SELECT value FROM meta WHERE key = 'wall_high_ms'").fetchone()[0])
    assert operator == SUP and json.loads(details)["newest"] == newest
    assert json.loads(details)["behind_s"] > 3 * 24 * 3600 - 600
    assert mark < ahead - DAY_MS                                  # the mark follows the clock now
    again = run_station_cmd(["operator", "add", "赵技术", "--role", "technician"], data_dir=data,
                            env=env, stdin="97531864\n")
    assert again.returncode == 0, again.stderr


def test_the_desk_starts_behind_a_blocking_notice_when_the_clock_went_back(tmp_path, monkeypatch):
    from station.tui.app import make_app
    from station.tui.screens.clock_notice import ClockNotice
    from station.tui.screens.login import LoginScreen
    from tests.tui.conftest import SUP_PIN, SUPERVISOR, make_store

    data = tmp_path / "data"
    make_store(data).close()
    ahead = clock.now_ms() + 400 * DAY_MS
    _stamp_at(data, ahead, monkeypatch)

    async def run(expect_notice: bool) -> None:
        app = make_app(data, camera=None, reader=None, live=False, login=(SUPERVISOR, SUP_PIN))
        async with app.run_test(size=(120, 40)) as pilot:
            await app.settle()
            await pilot.pause()
            if not expect_notice:
                assert not isinstance(app.screen, ClockNotice | LoginScreen)
                return
            assert isinstance(app.screen, ClockNotice)
            text = str(app.screen.query_one("#clock-notice-text").render())
            assert from_ms(ahead).isoformat(sep=" ", timespec="seconds") in text and "本机时钟" in text
            for key in ("escape", "enter", "f1", "f3", "y"):
                await pilot.press(key)
                await pilot.pause()
                assert isinstance(app.screen, ClockNotice)
            assert app.operator is None                     # nobody logged in behind it

    asyncio.run(run(True))
    with monkeypatch.context() as patch:                  # the clock set right: the desk opens
        patch.setattr(clock, "now_ms", lambda: ahead + 60_000)
        asyncio.run(run(False))
