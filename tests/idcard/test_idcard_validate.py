"""Validation findings: every problem is reported in both languages, nothing is dropped."""

from __future__ import annotations

import datetime as dt

from station.domain import idnumber
from station.domain.identity import Identity
from station.idcard.validate import validate_identity

TODAY = dt.date(2026, 6, 1)


def person(**changes) -> Identity:
    born = dt.date(2003, 4, 5)
    values = dict(card_type="resident", name="王芳", gender="female", birth_date=born.isoformat(),
                  id_number=idnumber.make("530102", born, 4, False), valid_from="2020-01-01",
                  valid_to="2030-01-01", nation="汉")
    values.update(changes)
    return Identity(**values)


def codes(identity: Identity, today: dt.date = TODAY) -> list[str]:
    findings = validate_identity(identity, today)
    for f in findings:
        assert set(f) == {"code", "message_zh", "message_en"}
        assert f["message_zh"] and f["message_en"] and "{" not in f["message_zh"] + f["message_en"]
    return [f["code"] for f in findings]


def test_a_good_card_has_no_findings():
    assert codes(person()) == []
    assert codes(person(valid_to="长期")) == []


def test_check_digit():
    good = person().id_number
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    assert codes(person(id_number=bad)) == ["check_digit"]


def test_birth_and_gender_must_match_the_number():
    assert codes(person(birth_date="2003-04-06")) == ["birth_mismatch"]
    assert codes(person(gender="male")) == ["gender_mismatch"]
    assert codes(person(gender="unspecified")) == ["gender_not_stated"]


def test_validity_window():
    assert codes(person(valid_to="2026-05-31")) == ["card_expired"]
    assert codes(person(valid_from="2026-06-02")) == ["card_not_yet_valid"]
    assert codes(person(valid_from="2026-06-01", valid_to="2026-06-01")) == []
    assert codes(person(valid_from="2025-01-01", valid_to="2024-01-01")) == ["card_expired",
                                                                              "validity_order"]


def test_region_and_card_type_prefix():
    born = dt.date(2003, 4, 5)
    assert codes(person(id_number=idnumber.make("990102", born, 4, False))) == ["number_card_type"]
    assert codes(person(id_number=idnumber.make("000102", born, 4, False))) == ["region"]
    hmt = person(card_type="hmt_residence", nation=None)
    assert codes(hmt) == ["number_card_type"]
    hmt.id_number = idnumber.make("820000", born, 4, False)
    assert codes(hmt) == []


def test_foreign_2017_number_form_and_nationality():
    f = person(card_type="foreign_permanent", nation=None, nationality="USA",
               id_number="USA310087061501")
    assert codes(f) == []
    f.id_number = "USA31008706150"
    assert codes(f) == ["foreign_number_format"]
    f.id_number = "CAN310087061501"
    assert codes(f) == ["nationality_mismatch"]


def test_findings_are_bilingual():
    finding = validate_identity(person(valid_to="2020-01-01"), TODAY)[0]
    assert "过有效期" in finding["message_zh"] and "expired" in finding["message_en"]
