"""A script that forgot STATION_PIN (stdin closed or empty, no terminal) gave no PIN at all: that is
said as such, not as "operator unknown or wrong PIN", and it is not a wrong PIN — five runs of a
cron job must not lock the supervisor out."""

from __future__ import annotations

from tests.conftest import run_station_cmd

PIN = "24681357"


def test_no_pin_given_is_said_and_is_not_a_failed_attempt(tmp_path):
    data = tmp_path / "data"
    r = run_station_cmd(["init", "--station-id", "t1", "--supervisor", "boss"], data, env={"STATION_PIN": PIN})
    assert r.returncode == 0, r.stderr
    for lang, words in (("zh", "没有提供 PIN"), ("en", "No PIN was given")):
        for _ in range(6):
            r = run_station_cmd(["--lang", lang, "--operator", "boss", "operator", "list"], data, stdin="")
            assert r.returncode == 2, r.stdout + r.stderr
            assert words in r.stderr and "STATION_PIN" in r.stderr, r.stderr
            assert "锁定" not in r.stderr and "locked" not in r.stderr, r.stderr
    r = run_station_cmd(["--operator", "boss", "operator", "list"], data, env={"STATION_PIN": PIN})
    assert r.returncode == 0 and "boss" in r.stdout, r.stdout + r.stderr
