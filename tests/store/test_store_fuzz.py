"""Hypothesis fuzzers for the inputs that reach the store from files: identity JSON (ingest), roster
and schedule tables. (Bundles and batches have their own fuzzers in tests/sync and tests/exports.)

Whatever the input: either it is taken, clean (no control characters, within the size limits),
or it is refused with an InputError naming where — never another exception, never half-stored."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.config import default_settings
from station.domain.identity import FIELD_LIMITS, Identity
from station.errors import InputError
from station.privacy import unsafe_character

NASTY = st.sampled_from(["\x1b[2J", "\x00", "\u202e", "\x9b31m", "\r", "\n", "\t", "\u2028",
                         "路" * 250, "", " ", "张三", "X", "1992-01-01", "530102199201011234"])
TEXT = st.one_of(st.text(max_size=40), NASTY, st.lists(NASTY, max_size=4).map("".join))
VALUE = st.one_of(TEXT, st.integers(), st.none(), st.booleans(), st.lists(TEXT, max_size=3),
                  st.dictionaries(TEXT, TEXT, max_size=3))
FIELDS = sorted(FIELD_LIMITS) + ["warnings", "extra_field"]
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
FILES = settings(SETTINGS, max_examples=60)      # each example is a real import into a store


@SETTINGS
@given(st.dictionaries(st.sampled_from(FIELDS), VALUE, max_size=len(FIELDS)),
       st.fixed_dictionaries({"card_type": st.sampled_from(["resident", "manual", "x"]),
                              "name": TEXT, "gender": st.sampled_from(["male", "female", "?"]),
                              "birth_date": TEXT, "id_number": TEXT}))
def test_identity_json_is_taken_clean_or_refused_by_field(extra, base):
    data = {**base, **extra}
    try:
        identity = Identity.from_json(data, "fuzz.json")
    except InputError as exc:
        assert exc.location is not None and exc.location.file == "fuzz.json"
        assert exc.location.field in FIELDS or exc.location.field in data
        for text in exc.messages:
            assert unsafe_character(text) is None, text     # nothing raw in the words
        return
    for key, value in identity.to_json().items():
        if isinstance(value, str):
            assert unsafe_character(value) is None
            assert len(value) <= FIELD_LIMITS.get(key, 64)
    json.dumps(identity.to_json())


CELL = st.one_of(st.text(max_size=12), NASTY, st.integers(-10**25, 10**25).map(str))


def _valid_rows() -> list[dict]:
    from station.sim.roster import demo_roster

    return demo_roster()[:4]


@FILES
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 8), CELL), max_size=4),
       st.sampled_from(["utf-8", "gb18030"]))
def test_roster_files_are_taken_or_refused_whole(tmp_path_factory, store, edits, encoding):
    """Real roster rows with a few cells replaced by anything: often taken, often refused."""
    from station.roster.importer import import_roster

    rows = [dict(r) for r in _valid_rows()]
    header = list(rows[0])
    for row, col, value in edits:
        rows[row][header[col % len(header)]] = value.replace(",", " ").replace('"', "")
    lines = [",".join(header)] + [",".join(str(r[h]) for h in header) for r in rows]
    path = tmp_path_factory.mktemp("fuzz") / "roster.csv"
    try:
        path.write_bytes("\n".join(lines).encode(encoding))
    except UnicodeEncodeError:
        return
    before = store.conn.execute("SELECT COUNT(*) FROM roster_entries").fetchone()[0]
    try:
        import_roster(store, path, default_settings().roster, "fuzz")
    except InputError as exc:
        assert exc.location is not None and exc.location.file == str(path)
        after = store.conn.execute("SELECT COUNT(*) FROM roster_entries").fetchone()[0]
        assert after == before                              # all or nothing
        return
    for (name,) in store.conn.execute("SELECT name FROM roster_entries"):
        assert unsafe_character(name, allow_whitespace=True) is None


@FILES
@given(st.lists(st.lists(CELL, min_size=1, max_size=8), max_size=5))
def test_schedule_files_are_taken_or_refused_whole(tmp_path_factory, store, rows):
    from station.roster.schedule import import_schedule

    header = ["日期", "校区", "地点", "开始时间", "结束时间", "培养单位", "人数"]
    lines = [",".join(header)] + [",".join(c.replace(",", " ").replace('"', "") for c in r)
                                  for r in rows]
    path = tmp_path_factory.mktemp("fuzz") / "schedule.csv"
    path.write_text("\n".join(lines), "utf-8")
    before = store.conn.execute("SELECT COUNT(*) FROM schedule_slots").fetchone()[0]
    try:
        import_schedule(store, path, default_settings().roster, "fuzz")
    except InputError as exc:
        assert exc.location is not None and exc.location.file == str(path)
        assert store.conn.execute("SELECT COUNT(*) FROM schedule_slots").fetchone()[0] == before
        return
    for (count,) in store.conn.execute("SELECT expected_count FROM schedule_slots"):
        assert count is None or 0 <= count <= 100_000
