"""Text that came by another road than this station's own checked inputs — a merged bundle, the
hub, a store written by an older version — is printed without anything a terminal acts on."""

from __future__ import annotations

import json

EVIL = "张\x1b]0;PWNED\x07\x1b[2J\u202e三\x9b"


def test_escape_sequences_in_merged_rows_never_reach_the_terminal(tmp_path, make_station, idn, enrol,
                                                                   cli, kit):
    """A bundle signed by an enrolled station whose roster row's name holds an OSC title, a clear
    screen, a right-to-left override and a C1 CSI (an altered store, a station of an older version):
    the master merged it and `roster show` wrote the sequences raw to the supervisor's terminal.
    The data is kept as it came; what is printed shows each such character as <U+XXXX> (human
    output) or a \\uXXXX escape (--json, the same document to a parser)."""
    from station.store import open_store
    from station.sync.bundle import create_bundle

    person = idn(1)
    make_station(tmp_path / "a", "st-a", [(person, "张三")])
    with open_store(tmp_path / "a") as store:
        store.insert("roster_entries", {"id_number": person, "name": "张三", "student_no": "S1",
                                        "department": "物理学院", "eligible": 1})
        create_bundle(store, tmp_path / "a.zip")
    make_station(tmp_path / "m", "master", [])
    enrol(tmp_path / "m", tmp_path / "a")
    forged = kit.forge(tmp_path / "a.zip", tmp_path / "evil.zip", tmp_path / "a", tmp_path,
                       db_sql=(f"UPDATE roster_entries SET name = '{EVIL}'",))
    merged = cli(tmp_path / "m", "merge", forged, op="sup")
    assert merged.returncode == 0, merged.stderr
    shown = cli(tmp_path / "m", "--lang", "en", "roster", "show", person, op="sup")
    assert shown.returncode in (0, 1), shown.stderr        # 1: the card's name differs, flagged
    for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert raw not in shown.stdout + shown.stderr, (raw, shown.stdout)
    assert "张<U+001B>]0;PWNED<U+0007><U+001B>[2J<U+202E>三<U+009B>" in shown.stdout
    as_json = cli(tmp_path / "m", "roster", "show", person, "--json", op="sup")
    assert as_json.returncode in (0, 1), as_json.stderr
    assert not any(raw in as_json.stdout for raw in ("\x1b", "\x07", "\u202e", "\x9b"))
    assert json.loads(as_json.stdout)["entry"]["name"] == EVIL
