"""Store fixtures: a real SQLite store in a temporary folder, set up like `station init` does."""

from __future__ import annotations

import pytest

from station.store import open_store

SUPERVISOR = "主管甲"
PIN = "2468"


def initialise(store, station_id: str = "st-a") -> None:
    with store.transaction():
        store.set_meta("station_id", station_id)
        store.set_meta("school_code", "10673")
        store.operators.add(SUPERVISOR, "supervisor", PIN)


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "data")
    initialise(s)
    yield s
    s.close()


@pytest.fixture
def station_cli(run_station):
    """`run_station` on a data dir that `station init` has set up, acting as the supervisor."""
    r = run_station("init", "--station-id", "st-a", "--supervisor", SUPERVISOR,
                    env={"STATION_PIN": PIN})
    assert r.returncode == 0, r.stderr

    def run(*args: str, operator: str | None = SUPERVISOR, pin: str = PIN, **kw):
        env = dict(kw.pop("env", None) or {})
        if operator:
            env.setdefault("STATION_OPERATOR", operator)
            env.setdefault("STATION_PIN", pin)
        return run_station(*args, env=env, **kw)

    run.data_dir = run_station.data_dir
    return run
