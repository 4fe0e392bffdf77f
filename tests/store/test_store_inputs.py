"""Inputs that used to reach "Unexpected error" or run away: each gets its documented error
(exit 2, naming file/line/field), in both languages, and nothing is stored."""

from __future__ import annotations

import json

import pytest

from station.sim.roster import SCHEDULE_CSV

IDN = "53010219920101123X"
ESC = "\x1b[2J\x1b[31m"


def _clean(result) -> None:
    assert "Traceback" not in result.stderr and "Unexpected" not in result.stderr, result.stderr
    assert "意外错误" not in result.stderr
    assert "\x1b" not in result.stderr + result.stdout          # never echoed raw to a terminal


def _rows(data_dir, table: str) -> int:
    import sqlite3

    conn = sqlite3.connect(data_dir / "station.sqlite3")
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_roster_import_of_an_endless_device_stops_in_words(station_cli):
    r = station_cli("--lang", "en", "roster", "import", "/dev/zero", timeout=120)
    assert r.returncode == 2
    _clean(r)
    assert "/dev/zero" in r.stderr and "too large" in r.stderr
    zh = station_cli("roster", "import", "/dev/zero", timeout=120)
    assert zh.returncode == 2 and "太大" in zh.stderr


def test_schedule_count_of_ten_to_the_23(station_cli, tmp_path):
    lines = SCHEDULE_CSV.read_text("utf-8").splitlines()
    head, first = lines[0], lines[1].rsplit(",", 1)[0]
    path = tmp_path / "schedule.csv"
    path.write_text("\n".join([head, first + "," + "1" + "0" * 23, *lines[2:]]) + "\n", "utf-8")
    r = station_cli("--lang", "en", "schedule", "import", str(path), "--json")
    assert r.returncode == 2
    _clean(r)
    err = r.json()["errors"][0]
    assert err["line"] == 2 and err["column"] and "plausible" in err["message_en"]
    assert _rows(station_cli.data_dir, "schedule_slots") == 0


def test_control_characters_in_a_roster_cell(station_cli, tmp_path):
    from station.sim.roster import demo_roster, roster_csv

    rows = demo_roster()[:5]
    rows[2] = {**rows[2], "姓名": "王" + ESC + "五"}
    path = tmp_path / "roster.csv"
    path.write_bytes(roster_csv(rows))
    r = station_cli("--lang", "en", "roster", "import", str(path), "--json")
    assert r.returncode == 2
    _clean(r)
    bad = [e for e in r.json()["errors"] if e["code"] == "privacy.control_character"]
    assert bad and bad[0]["line"] == 4 and "U+001B" in bad[0]["message_en"]
    assert _rows(station_cli.data_dir, "roster_entries") == 0


@pytest.fixture
def identity_file(tmp_path):
    def write(**fields) -> str:
        base = {"card_type": "resident", "name": "王五", "gender": "male",
                "birth_date": "1992-01-01", "id_number": IDN}
        base.update(fields)
        path = tmp_path / "identity.json"
        path.write_text(json.dumps(base, ensure_ascii=False), "utf-8")
        return str(path)
    return write


@pytest.mark.parametrize("field,value,words", [
    ("name", "王" + ESC + "五", "control character"),
    ("address", "云南省" + "\u202e" + "昆明市", "control character"),
    ("issuer", "A" * 101, "too long"),
    ("address", "路" * 201, "too long"),
    ("name_en", 42, "must be text"),
    ("source", "card\x07", "control character"),
])
def test_bad_identity_fields_are_named(station_cli, identity_file, tmp_path, field, value, words):
    image = tmp_path / "x.jpg"
    image.write_bytes(b"\xff\xd8 not looked at")
    r = station_cli("--lang", "en", "ingest", "--identity", identity_file(**{field: value}),
                    "--image", str(image), "--json")
    assert r.returncode == 2, r.stdout + r.stderr
    _clean(r)
    doc = r.json()
    assert doc["field"] == field and doc["file"].endswith("identity.json")
    assert words in doc["message_en"] and doc["message_zh"]
    assert _rows(station_cli.data_dir, "card_reads") == 0


def test_a_sixty_megabyte_identity_file(station_cli, tmp_path):
    path = tmp_path / "huge.json"
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"card_type": "resident", "name": "王五", "gender": "male", '
                 '"birth_date": "1992-01-01", "id_number": "' + IDN + '", "address": "')
        fh.write("路" * (20 * 1024 * 1024))
        fh.write('"}')
    image = tmp_path / "x.jpg"
    image.write_bytes(b"\xff\xd8")
    r = station_cli("--lang", "en", "ingest", "--identity", str(path), "--image", str(image))
    assert r.returncode == 2
    _clean(r)
    assert "huge.json" in r.stderr and "too large" in r.stderr


def test_free_text_options_are_checked_too(station_cli, identity_file, tmp_path):
    image = tmp_path / "x.jpg"
    image.write_bytes(b"\xff\xd8")
    r = station_cli("--lang", "en", "ingest", "--identity", identity_file(), "--image", str(image),
                    "--force", "--reason", "ok" + ESC)
    assert r.returncode == 2 and "--reason" in r.stderr
    _clean(r)
