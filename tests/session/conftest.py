"""Session fixtures: a real store set up like `station init`, with a photographer and supervisor."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from station.domain import idnumber
from station.domain.identity import Identity
from station.session.model import CheckLine, MatchInfo
from station.store import open_store

SUPERVISOR, SUP_PIN = "主管甲", "2468"
PHOTOGRAPHER, PHO_PIN = "摄影乙", "1357"


def make_store(data_dir, station_id: str = "st-t"):
    store = open_store(data_dir)
    with store.transaction():
        store.set_meta("station_id", station_id)
        store.set_meta("school_code", "10673")
        sup = store.operators.add(SUPERVISOR, "supervisor", SUP_PIN)
        store.operators.add(PHOTOGRAPHER, "photographer", PHO_PIN, by=sup)
    return store


@pytest.fixture
def store(tmp_path):
    s = make_store(tmp_path / "data")
    yield s
    s.close()


def person(i: int, name: str = "测试") -> Identity:
    born = dt.date(2002, 1, 1) + dt.timedelta(days=37 * i)
    number = idnumber.make("530102", born, i, male=i % 2 == 0)
    return Identity(card_type="resident", name=f"{name}{i}", gender=idnumber.gender(number),
                    birth_date=born.isoformat(), id_number=number)


class MarkerChecker:
    """Checks stand-in for session-logic tests: b'GOOD' images pass, anything else fails."""

    def check(self, data: bytes):
        ok = data.startswith(b"GOOD")
        line = CheckLine("sharpness", "pass" if ok else "fail", 1.0, 0.5, "清晰", "sharp")
        return ok, [line], {"passed": ok, "checks": [line.__dict__]}

    def crop(self, data: bytes) -> bytes:
        return b"CROP" + data


def table_match(table: dict[str, list[str]]):
    """A roster stand-in: id_number → flags (absent = not on roster)."""

    def match(store, identity, now):
        flags = table.get(identity.id_number, ["not_on_roster"])
        return MatchInfo(flags=list(flags), department="物理学院", degree="本科")

    return match


def rows(store, table: str) -> list[dict]:
    out = [dict(r) for r in store.conn.execute(f"SELECT * FROM {table} ORDER BY seq")]
    for r in out:
        for k in ("data", "details"):
            if isinstance(r.get(k), str):
                r[k] = json.loads(r[k])
    return out
