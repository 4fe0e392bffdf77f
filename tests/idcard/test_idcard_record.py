"""The 256-byte text block: all four layouts, code tables, dates, extra address."""

from __future__ import annotations

import pytest

from station.idcard.codes import GENDERS, NATIONS
from station.idcard.errors import CardDataError
from station.idcard.record import decode_extra_address, decode_text, encode_text


def block(fields: dict[int, str]) -> bytes:
    """A text block built straight from the protocol table's offsets (independent of the encoder)."""
    buf = bytearray(" ".encode("utf-16-le") * 128)
    for offset, value in fields.items():
        raw = value.encode("utf-16-le")
        buf[offset:offset + len(raw)] = raw
    return bytes(buf)


RESIDENT = {0: "杨丽萍", 30: "2", 32: "14", 36: "19580521", 52: "云南省大理白族自治州洱源县",
            122: "53293019580521002X", 158: "洱源县公安局", 188: "20150301", 204: "长期"}


def test_resident_card():
    text = decode_text(block(RESIDENT))
    v = text.values
    assert text.card_type == "resident" and text.layout == ""
    assert (v["name"], v["gender"], v["nation"]) == ("杨丽萍", "female", "白")
    assert v["birth_date"] == "1958-05-21"
    assert v["address"] == "云南省大理白族自治州洱源县"
    assert v["id_number"] == "53293019580521002X"
    assert v["issuer"] == "洱源县公安局"
    assert (v["valid_from"], v["valid_to"]) == ("2015-03-01", "长期")
    assert "nationality" not in v and "name_en" not in v


def test_hmt_residence_permit_keeps_pass_number_and_issue_count():
    fields = {0: "陈大文", 30: "1", 36: "19990101", 52: "云南省昆明市", 122: "810000199901010011",
              158: "昆明市公安局", 188: "20200101", 204: "20250101", 220: "H12345678",
              238: "01", 248: "J"}
    text = decode_text(block(fields))
    assert text.card_type == "hmt_residence" and text.layout == "J"
    assert text.values["gender"] == "male"
    assert "nation" not in text.values and text.findings == []
    assert text.extra == {"pass_number": "H12345678", "issue_count": "01"}


def test_foreign_permanent_2017():
    fields = {0: "SMITH, JOHN", 120: "1", 122: "USA310087061501", 152: "USA", 158: "史密斯",
              188: "20170601", 204: "20270601", 220: "19870615", 236: "20", 240: "1500", 248: "I"}
    text = decode_text(block(fields))
    v = text.values
    assert text.card_type == "foreign_permanent" and text.layout == "I"
    assert (v["name"], v["name_en"], v["nationality"]) == ("史密斯", "SMITH, JOHN", "USA")
    assert v["id_number"] == "USA310087061501" and v["birth_date"] == "1987-06-15"
    assert text.extra == {"card_version": "20", "authority_code": "1500"}


def test_foreign_permanent_2023_joins_the_two_english_name_parts():
    english = "VANDERBERG-KOWALCZYKOWSKA, ALEXANDRA MAGDALENA"
    fields = {0: "万德", 30: "2", 32: "00", 36: "19950310", 52: english[:35],
              122: "953001199503100021", 188: "20230601", 204: "20330601", 220: english[35:],
              242: "POL", 248: "Y", 250: "000"}
    text = decode_text(block(fields))
    v = text.values
    assert v["name_en"] == english and v["name"] == "万德"
    assert v["nationality"] == "POL" and v["gender"] == "female"
    assert text.extra["previous_card"] == "000"


def test_foreign_card_without_chinese_name_uses_the_english_one():
    fields = {0: "DOE, JANE", 120: "2", 122: "GBR310090010101", 152: "GBR",
              188: "20170601", 204: "20270601", 220: "19900101", 248: "I"}
    assert decode_text(block(fields)).values["name"] == "DOE, JANE"


def test_whole_nation_table():
    assert len(NATIONS) == 58
    assert [NATIONS[f"{i:02d}"] for i in (1, 2, 14, 56)] == ["汉", "蒙古", "白", "基诺"]
    assert NATIONS["97"] == "其他" and NATIONS["98"] == "外国血统中国籍人士"
    assert set(NATIONS) == {f"{i:02d}" for i in range(1, 57)} | {"97", "98"}
    for code in ("01", "25", "44", "98"):
        assert decode_text(block({**RESIDENT, 32: code})).values["nation"] == NATIONS[code]


def test_unknown_nation_code_is_a_finding_not_a_guess():
    text = decode_text(block({**RESIDENT, 32: "77"}))
    assert "nation" not in text.values
    assert text.findings == [("nation_unknown", {"nation": "77"})]


@pytest.mark.parametrize("code, gender", [("0", "unknown"), ("1", "male"), ("2", "female"),
                                          ("9", "unspecified")])
def test_gender_codes_follow_gb_t_2261_1(code, gender):
    assert decode_text(block({**RESIDENT, 30: code})).values["gender"] == gender
    assert GENDERS[code] == gender


@pytest.mark.parametrize("code", ["3", "5", "X", " "])
def test_other_gender_codes_are_rejected_never_female(code):
    with pytest.raises(CardDataError) as info:
        decode_text(block({**RESIDENT, 30: code}))
    assert info.value.params["field"] == "gender"


@pytest.mark.parametrize("offset, value, field", [
    (36, "19580231", "birth"), (188, "2015030", "valid_from"), (204, "永久有效", "valid_to"),
    (188, "长期", "valid_from"),
])
def test_bad_dates_name_the_field(offset, value, field):
    fields = dict(RESIDENT)
    fields[offset] = value + " " * 8
    with pytest.raises(CardDataError) as info:
        decode_text(block(fields))
    assert info.value.params["field"] == field


def test_wrong_size_and_undecodable_text():
    with pytest.raises(CardDataError) as info:
        decode_text(bytes(255))
    assert info.value.key == "idcard.record.bad_size"
    bad = bytearray(block(RESIDENT))
    bad[0:2] = b"\x00\xd8"                  # a lone UTF-16 surrogate in the name
    with pytest.raises(CardDataError) as info:
        decode_text(bytes(bad))
    assert info.value.params == {"field": "name"}



def test_unknown_nation_code_reaches_the_read_as_a_warning():
    from station.idcard.readers.base import card_read_from_blocks

    read = card_read_from_blocks(block({**RESIDENT, 32: "77"}), None)
    [found] = [w for w in read.identity.warnings if w["code"] == "nation_unknown"]
    assert "77" in found["message_zh"] and "77" in found["message_en"]


def test_a_character_outside_the_bmp_does_not_shift_the_later_fields():
    text = decode_text(block({**RESIDENT, 0: "\U00020bb7明"}))  # 𠮷明: a surrogate pair
    assert text.values["name"] == "\U00020bb7明"
    assert text.values["birth_date"] == "1958-05-21"
    assert text.values["id_number"] == "53293019580521002X"


@pytest.mark.parametrize("offset, value, field", [
    (0, "邵露真\x1b[8m", "name"), (52, "昆明市\x1b]0;pwned\x07", "address"),
    (0, "杨\u202e萍", "name"), (158, "洱源县\u2066公安局", "issuer"), (0, "杨\x00萍", "name"),
])
def test_control_and_direction_characters_refuse_the_read_without_echoing_them(offset, value,
                                                                                field):
    with pytest.raises(CardDataError) as info:
        decode_text(block({**RESIDENT, offset: value}))
    assert info.value.key == "idcard.record.bad_character"
    assert info.value.params["field"] == field
    assert all(c.isprintable() for c in str(info.value.params["character"]))


@pytest.mark.parametrize("fields", [
    {**RESIDENT, 122: "530111870417363   "},          # a first-generation 15-digit number
    {**RESIDENT, 122: "5329301958052100 X"},
    {**RESIDENT, 122: "53293019580521002Y"},
])
def test_an_id_number_no_second_generation_card_carries_is_refused_masked(fields):
    with pytest.raises(CardDataError) as info:
        decode_text(block(fields))
    assert info.value.params["field"] == "id_number"
    assert "*" in str(info.value.params["value"])


def test_a_2017_foreign_number_read_from_a_card_is_accepted_by_ingest():
    from station.domain.identity import Identity

    fields = {0: "SMITH, JOHN", 120: "1", 122: "USA310087061501", 152: "USA", 158: "史密斯",
              188: "20170601", 204: "20270601", 220: "19870615", 248: "I"}
    values = decode_text(block(fields)).values
    assert Identity.from_json(values).id_number == "USA310087061501"
    with pytest.raises(CardDataError):
        decode_text(block({**fields, 122: "USA31008706150"}))

def test_extra_address():
    raw = "云南省昆明市盘龙区".encode("utf-16-le") + " ".encode("utf-16-le") * 26
    assert decode_extra_address(raw) == "云南省昆明市盘龙区"
    assert decode_extra_address(" ".encode("utf-16-le") * 35) is None
    with pytest.raises(CardDataError):
        decode_extra_address(bytes(69))


@pytest.mark.parametrize("label", ["resident", "hmt_residence", "foreign_2017", "foreign_2023"])
def test_encoder_and_decoder_agree(samples, label):
    identity, layout = samples[label]
    text = decode_text(encode_text(identity, layout))
    for key, value in identity.to_json().items():
        if key != "warnings":
            assert text.values[key] == value, key


def test_a_rare_character_cut_in_half_by_the_end_of_a_full_field_is_a_marked_gap_not_a_dead_card():
    from station.idcard.readers.base import card_read_from_blocks

    name = "买买提江·艾力·阿卜杜热合曼\U0002020c"         # 14 characters, then one outside the BMP
    raw = bytearray(block(RESIDENT))
    raw[0:30] = name.encode("utf-16-le")[:30]           # the card's 30 bytes end mid-pair
    read = card_read_from_blocks(bytes(raw), None)
    assert read.identity.name == name[:14] + "\ufffd"
    assert read.identity.id_number == "53293019580521002X"
    [cut] = [w for w in read.identity.warnings if w["code"] == "text_cut"]
    assert "姓名" in cut["message_zh"] and "name" in cut["message_en"]


def test_a_lone_surrogate_anywhere_else_still_refuses_the_read():
    bad = bytearray(block(RESIDENT))
    bad[4:6] = b"\x40\xd8"                  # a high surrogate in the middle of the name
    with pytest.raises(CardDataError):
        decode_text(bytes(bad))
    bad = bytearray(block(RESIDENT))
    bad[28:30] = b"\x00\xdc"                # a low surrogate at the end is no cut pair
    with pytest.raises(CardDataError):
        decode_text(bytes(bad))
