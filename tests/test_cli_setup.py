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
