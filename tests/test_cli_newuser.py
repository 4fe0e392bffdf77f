"""A new user's first mistakes on the command line: each is told in words, in the station's
language, and leaves nothing behind (cli.md: every command names what is wrong; no half-made
files)."""

from __future__ import annotations

import pytest

from tests.conftest import run_station_cmd

ACTING = {"STATION_OPERATOR": "王主管", "STATION_PIN": "246813"}


@pytest.mark.parametrize("command", [["key", "export"], ["operator", "list"],
                                     ["roster", "import", "roster.csv"], ["report", "daily"]])
def test_a_command_before_init_names_the_folder_and_creates_no_store(tmp_path, command):
    # a typo in --data-dir points at some existing folder of the user's: it stays as it was
    folder = tmp_path / "我的 文件"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    r = run_station_cmd(command, folder, ACTING)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert str(folder) in r.stderr and "station init" in r.stderr, r.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    fresh = tmp_path / "new"
    r = run_station_cmd(command, fresh, ACTING)
    assert r.returncode == 2 and str(fresh) in r.stderr, r.stderr
    assert not fresh.exists()


def test_a_data_dir_that_is_a_file_is_one_message_without_log_lines(tmp_path):
    afile = tmp_path / "station-data"
    afile.write_text("not a folder", encoding="utf-8")
    r = run_station_cmd(["init", "--station-id", "cg-1", "--supervisor", "王主管"], afile,
                        {"STATION_PIN": "24681357"})
    assert r.returncode == 2 and str(afile) in r.stderr, r.stderr
    assert "fault" not in r.stderr and "Error" not in r.stderr, r.stderr
    assert "不是文件夹" in r.stderr, r.stderr
    assert afile.read_text(encoding="utf-8") == "not a folder"
    below = run_station_cmd(["--lang", "en", "fsck"], afile / "sub")
    assert below.returncode == 2 and "not a folder" in below.stderr and str(afile) in below.stderr
