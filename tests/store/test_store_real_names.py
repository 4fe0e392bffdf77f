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


LONG = "买买提江·艾力·阿卜杜热合曼·吐尔逊江·木"      # 21 characters: longer than the card's 15


def test_a_long_name_the_card_cut_at_15_characters_is_the_roster_name(store, tmp_path):
    _roster(store, tmp_path, [LONG])
    found = match(store, _card(0, LONG[:15]), WHEN, settings=default_settings().roster)
    assert not found.has("name_mismatch"), found.to_json()["flags"]


def test_a_shorter_card_name_that_is_not_cut_at_15_is_still_another_name(store, tmp_path):
    _roster(store, tmp_path, [LONG, "欧阳娜娜"])
    assert match(store, _card(0, LONG[:14]), WHEN, settings=default_settings().roster
                 ).has("name_mismatch")
    assert match(store, _card(1, "欧阳娜"), WHEN, settings=default_settings().roster
                 ).has("name_mismatch")
    cut_wrong = LONG[:14] + "木"                   # 15 characters, the last one differs
    assert match(store, _card(0, cut_wrong), WHEN, settings=default_settings().roster
                 ).has("name_mismatch")


@pytest.mark.parametrize(("roster", "card"), [
    ("王𠈌", "王\ue000"),          # a card that holds the rare character as a private-use code
    ("王𠈌明", "王?明"),            # … or as a placeholder
    ("李䶮", "李\ue3a0"),           # ext-A, outside GBK: older cards carry it in the PUA
    ("王𠈌", "王𠈌"),              # a card that holds it as it is
])
def test_a_rare_character_the_card_holds_as_a_stand_in_is_the_same_name(store, tmp_path, roster,
                                                                         card):
    _roster(store, tmp_path, [roster])
    found = match(store, _card(0, card), WHEN, settings=default_settings().roster)
    assert not found.has("name_mismatch"), found.to_json()["flags"]


@pytest.mark.parametrize(("roster", "card"), [
    ("王明", "王\ue000"),           # 明 is an ordinary character: the card would hold it
    ("王𠈌", "张\ue000"),           # another surname
    ("𠈌", "\ue000"),               # nothing left to compare
    ("王𠈌", "王"),                 # a character missing is not a stand-in
])
def test_a_stand_in_never_covers_an_ordinary_character_or_a_whole_name(store, tmp_path, roster,
                                                                        card):
    _roster(store, tmp_path, [roster])
    assert match(store, _card(0, card), WHEN, settings=default_settings().roster
                 ).has("name_mismatch")


@pytest.mark.parametrize("roster", ["买买提江·艾力·阿卜杜热合曼\U0002020c",
                                    "买买提江·艾力·阿卜杜热合曼\U0002020c·木"])
def test_a_rare_character_the_card_cut_in_half_at_its_15th_place_is_the_roster_name(store, tmp_path,
                                                                                   roster):
    _roster(store, tmp_path, [roster])
    card = "买买提江·艾力·阿卜杜热合曼\ufffd"      # station.idcard.record.CUT_MARK
    found = match(store, _card(0, card), WHEN, settings=default_settings().roster)
    assert not found.has("name_mismatch"), found.to_json()["flags"]
    assert match(store, _card(0, "买买提江·艾力·阿卜杜热合曼\ufffd"[:-1] + "明"), WHEN,
                 settings=default_settings().roster).has("name_mismatch")


@pytest.mark.parametrize(("roster", "card"), [
    ("王\ue000", "王𠈌"),           # a GBK-era registry wrote the rare character in the PUA
    ("李\ue3a0", "李䶮"),
])
def test_a_rare_character_the_roster_holds_as_a_stand_in_is_the_cards_name(store, tmp_path, roster,
                                                                           card):
    _roster(store, tmp_path, [roster])
    found = match(store, _card(0, card), WHEN, settings=default_settings().roster)
    assert not found.has("name_mismatch"), found.to_json()["flags"]
    assert match(store, _card(0, card[:-1] + "明"), WHEN,
                 settings=default_settings().roster).has("name_mismatch")
