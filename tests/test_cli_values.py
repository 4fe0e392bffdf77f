"""Command-line numbers and last-resort errors: a bad value is refused naming its option (exit 2)
before any device or file is used; an unexpected error keeps the log its message points to."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_a_card_wait_that_is_not_a_positive_number_of_seconds_is_bad_usage(run_station, value):
    r = run_station("--lang", "en", "idcard", "read", "--reader", "sim", f"--timeout={value}")
    assert r.returncode == 2, r.stderr
    assert "--timeout" in r.stderr and "Unexpected" not in r.stderr


def test_a_negative_export_wait_is_bad_usage_and_zero_means_do_not_wait(run_station, tmp_path):
    out = str(tmp_path / "batches")
    r = run_station("--lang", "en", "export", "build", "--out", out, "--wait=-1")
    assert r.returncode == 2 and "--wait must be" in r.stderr, r.stderr
    r = run_station("--lang", "en", "export", "build", "--out", out, "--wait=0")
    assert "--wait" not in r.stderr, r.stderr


def test_an_unexpected_error_on_a_fresh_data_folder_keeps_the_log_it_names(tmp_path, monkeypatch,
                                                                            capsys):
    import station.cli.idcard as idcard_cli
    from station.cli.main import main

    def broken(ctx, args):
        raise RuntimeError("a defect")

    monkeypatch.setattr(idcard_cli, "read_card", broken)
    data = tmp_path / "fresh"
    assert main(["--data-dir", str(data), "--lang", "en", "idcard", "read"]) == 2
    err = capsys.readouterr().err
    log = data / "logs" / "station.log"
    assert "Unexpected error" in err and str(log) in err
    assert "RuntimeError: a defect" in log.read_text(encoding="utf-8")
