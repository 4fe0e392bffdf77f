"""The station's log file (station.cli.main): ID numbers are masked in every line, the
traceback of an unexpected error included."""

from __future__ import annotations

import logging

from station.cli.main import _setup_logging


def test_a_logged_traceback_has_its_id_numbers_masked(tmp_path):
    number = "530102200001010007"
    root = logging.getLogger()
    before = list(root.handlers)
    path = _setup_logging(tmp_path / "data")
    assert path is not None
    try:
        try:
            raise ValueError(f"no roster entry for {number}")
        except ValueError:
            logging.getLogger("station.test").exception("unexpected error for %s", number)
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                handler.close()
                root.removeHandler(handler)
    text = path.read_text("utf-8")
    assert "ValueError" in text and "530***********0007" in text
    assert number not in text


def test_an_address_on_screen_keeps_its_province_and_city_only():
    from station.privacy import mask_address

    assert mask_address("云南省昆明市一二一大街298号 3栋") == "云南省昆明市…"
    assert mask_address("  昆明  ") == "昆明" and mask_address(None) == ""
