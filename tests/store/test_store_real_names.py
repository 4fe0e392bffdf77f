"""Names as rosters and cards really hold them, matched at the desk (station.roster.match)."""

import datetime as dt
from pathlib import Path

import pytest

from station.config import default_settings
from station.domain import idnumber
from station.domain.identity import Identity
from station.roster import match
from station.roster.importer import import_roster

HEADER = "学号,姓名,性别,身份证号,培养单位,学历层次,学制,入学年份,学习方式"
WHEN = dt.datetime(2017, 10, 25, 9, 30)


def _idn(seq: int) -> str:
    return idnumber.make("650102", dt.date(1992, 3, 4), seq, True)


def _roster(store, tmp_path: Path, names: list[str]) -> None:
    lines = [HEADER] + [f"2201{i:03d},{name},男,{_idn(i)},信息学院,硕士研究生,3,2015,全日制"
                        for i, name in enumerate(names)]
    path = tmp_path / "roster.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    import_roster(store, path, default_settings().roster, "sup")


def _card(seq: int, name: str) -> Identity:
    born = idnumber.birth_date(_idn(seq))
    return Identity("resident", name, "male", born.isoformat() if born else "", _idn(seq))


ON_CARD = "阿依古丽·买买提"      # the card's own dot: U+00B7


@pytest.mark.parametrize("dot", ["\u00b7", "\u2022", "\u30fb", "\u2027", ".", "\uff0e", "\uff65",
                                 "\u2219", "\u22c5", ""])
def test_a_middle_dot_typed_as_any_of_its_look_alikes_is_the_same_name(store, tmp_path, dot):
    _roster(store, tmp_path, [f"阿依古丽{dot}买买提"])
    found = match(store, _card(0, ON_CARD), WHEN, settings=default_settings().roster)
    assert not found.has("name_mismatch"), found.to_json()["flags"]


def test_a_dot_does_not_join_two_different_names(store, tmp_path):
    _roster(store, tmp_path, ["阿依古丽•买买提"])
    found = match(store, _card(0, "阿依古丽·买买江"), WHEN, settings=default_settings().roster)
    assert found.has("name_mismatch")
