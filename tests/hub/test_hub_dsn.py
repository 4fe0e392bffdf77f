"""A malformed --hub DSN is bad input (exit 2), said in both languages with what a valid one
looks like, before any PIN is asked or anything is written: libpq's (psycopg's) own parser and
the values libpq would only refuse on connecting (a port that is no number). The real psycopg,
no server: nothing is ever connected to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from station.errors import InputError
from station.hub.connect import check_command_line_dsn, connect

ROOT = Path(__file__).resolve().parents[2]

MALFORMED = {
    "not a dsn": 'missing "=" after "not"',                  # libpq's parser
    "host='hub": "unterminated quoted string",
    "postgresql://u@hub/db?colour=blue": 'invalid URI query parameter: "colour"',
    "postgresql://%zz@hub/db": "percent-encoded",
    "postgresql://u:secret@[::1/db": '"]"',               # libpq quotes the DSN: never shown
    "postgres://x@:::bad": '"::bad"',                        # parsed; libpq refuses on connecting
    "postgresql://u@hub:99999/db": '"99999"',
    "postgresql://u@hub/db?sslmode=sometimes": '"sometimes"',
}


@pytest.mark.parametrize("dsn", sorted(MALFORMED))
def test_a_malformed_dsn_is_said_in_both_languages_with_a_valid_form(dsn: str) -> None:
    for check in (check_command_line_dsn, connect):
        with pytest.raises(InputError) as info:
            check(dsn)
        exc = info.value
        assert exc.key == "hub.bad_dsn" and exc.exit_code == 2
        assert exc.location is not None and exc.location.render() == "--hub"
        zh, en = exc.messages
        assert "postgresql://" in zh and "postgresql://" in en          # what a valid one looks like
        assert "dbname=" in zh and "dbname=" in en
        for english in ("missing", "invalid", "unterminated", "end of string", "connection option"):
            assert english not in zh, zh                                # libpq's words, said in Chinese
        assert MALFORMED[dsn] in en, en                                 # ... and kept in English
        assert MALFORMED[dsn] in exc.to_json()["cause"]["detail"]
        assert "secret" not in zh + en + str(exc.to_json()) + str(exc)


def test_the_command_line_names_the_option_and_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STATION", "PG"))}
    env.update(PYTHONPATH=str(ROOT), STATION_DATA_DIR=str(data))
    for lang, words in (("zh", "端口"), ("en", "port")):
        # the form is said first: a password in a malformed DSN is not the first thing to fix
        run = subprocess.run([sys.executable, "-m", "station", "--lang", lang, "hub", "init",
                              "--hub", "postgres://x:y@:::bad"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert run.returncode == 2, run.stderr
        assert run.stderr.startswith("--hub: ") and run.stderr.count("--hub") == 1, run.stderr
        assert words in run.stderr and "postgresql://" in run.stderr, run.stderr
        assert "y@" not in run.stderr and "PIN" not in run.stderr
    assert not data.exists() or not any(data.iterdir())
