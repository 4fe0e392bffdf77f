"""Station set-up from the command line, as a new team types it from the README."""

from __future__ import annotations

import pytest

from tests.conftest import run_station_cmd


def test_chinese_station_name_is_accepted(tmp_path):
    data = tmp_path / "data"
    r = run_station_cmd(["init", "--station-id", "呈贡-1", "--supervisor", "王主管", "--json"], data,
                        {"STATION_PIN": "246813"})
    assert r.returncode == 0, r.stderr
    assert r.json()["station_id"] == "呈贡-1"
    again = run_station_cmd(["init", "--station-id", "呈贡-1", "--supervisor", "王主管", "--json"],
                            data)
    assert again.returncode == 0 and again.json()["created"] is False


@pytest.mark.parametrize("bad", ["a/b", "-lead", "两 个", "x" * 33, "..", "a\tb"])
def test_refused_station_name_says_what_is_allowed_and_leaves_nothing(tmp_path, bad):
    data = tmp_path / "data"
    r = run_station_cmd(["--lang", "en", "init", f"--station-id={bad}", "--supervisor", "王主管"], data,
                        {"STATION_PIN": "246813"})
    assert r.returncode == 2
    assert "--station-id" in r.stderr and "letters (Chinese included)" in r.stderr
    assert not data.exists()


def test_bad_school_code_is_refused_before_anything_is_written(tmp_path):
    data = tmp_path / "data"
    r = run_station_cmd(["init", "--station-id", "cg-1", "--supervisor", "王主管",
                         "--school-code", "1067"], data, {"STATION_PIN": "246813"})
    assert r.returncode == 2 and "--school-code" in r.stderr and "5 位数字" in r.stderr
    assert not data.exists()


def test_failed_command_keeps_an_existing_data_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep.txt").write_text("mine")
    r = run_station_cmd(["init", "--station-id", "a/b", "--supervisor", "王主管"], data,
                        {"STATION_PIN": "246813"})
    assert r.returncode == 2
    assert (data / "keep.txt").read_text() == "mine"


def test_init_again_with_another_school_code_is_refused_not_silently_ignored(tmp_path):
    """Re-running init with a different --school-code said "already initialised, nothing changed"
    (exit 0), leaving the technician believing the station now served the other school."""
    env = {"STATION_PIN": "24681357"}
    first = run_station_cmd(["init", "--station-id", "呈贡-1", "--supervisor", "王", "--school-code", "10673"],
                            tmp_path / "d", env=env)
    assert first.returncode == 0, first.stderr
    other = run_station_cmd(["init", "--station-id", "呈贡-1", "--supervisor", "王", "--school-code", "10674",
                             "--json"], tmp_path / "d", env=env)
    assert other.returncode == 2, other.stdout
    assert other.json()["error"] == "store.school_code_conflict"
    assert "10673" in other.json()["message_zh"] and "10674" in other.json()["message_en"]
    for args in (["--school-code", "10673"], []):             # the same, or not given: idempotent
        again = run_station_cmd(["init", "--station-id", "呈贡-1", "--supervisor", "王", *args, "--json"],
                                tmp_path / "d", env=env)
        assert again.returncode == 0 and again.json()["school_code"] == "10673", again.stderr
