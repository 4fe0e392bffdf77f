"""A store another program holds (a desk mid-write, a backup) past the busy wait: the command
says so in the station's language, with SQLite's words kept in English, not "意外错误：
OperationalError: database is locked"."""

from __future__ import annotations

import os
import sqlite3

from station.cli.main import main


def test_a_locked_store_is_said_in_words(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    monkeypatch.setenv("STATION_PIN", "24681357")
    for name in [k for k in os.environ if k.startswith("STATION") and k != "STATION_PIN"]:
        monkeypatch.delenv(name)
    assert main(["--data-dir", str(data), "init", "--station-id", "t1", "--supervisor", "boss"]) == 0
    monkeypatch.setattr("station.store.core.BUSY_TIMEOUT_MS", 200)      # not 30 s in a test
    other = sqlite3.connect(data / "station.sqlite3", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for lang, words, original in (("zh", "正被另一个程序占用", False),
                                      ("en", "in use by another program", True)):
            capsys.readouterr()
            code = main(["--data-dir", str(data), "--lang", lang, "--operator", "boss", "campaign", "new"])
            err = capsys.readouterr().err
            assert code != 0
            assert words in err and "OperationalError" not in err, err
            assert ("database is locked" in err) is original, err
    finally:
        other.execute("ROLLBACK")
        other.close()
