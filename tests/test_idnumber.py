import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station.domain import idnumber


def test_reference_number_passes():
    assert idnumber.validate("11010519491231002X") == []
    assert idnumber.gender("11010519491231002X") == "female"
    assert idnumber.birth_date("11010519491231002X") == dt.date(1949, 12, 31)


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105194912310021", "check_digit"),
        ("11010519491231002", "length"),
        ("11010519491231002Y", "characters"),
        ("110105194913310025", "birth_date"),
        ("000105194912310023", "region"),
    ],
)
def test_findings(number, code):
    codes = [f.code for f in idnumber.validate(number)]
    assert code in codes


def test_lower_case_x_is_normalised():
    assert idnumber.validate("11010519491231002x") == []


def test_consistency_flags_mismatches():
    findings = idnumber.consistency("11010519491231002X", dt.date(1949, 12, 30), "male")
    assert {f.code for f in findings} == {"birth_mismatch", "gender_mismatch"}
    assert idnumber.consistency("11010519491231002X", dt.date(1949, 12, 31), "female") == []


@given(
    st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2010, 12, 31)),
    st.integers(0, 999),
    st.booleans(),
)
def test_made_numbers_are_valid_and_carry_their_facts(born, seq, male):
    number = idnumber.make("530102", born, seq, male)
    assert idnumber.validate(number) == []
    assert idnumber.birth_date(number) == born
    assert idnumber.gender(number) == ("male" if male else "female")


@given(st.text(max_size=30))
def test_validate_never_raises(text):
    assert isinstance(idnumber.validate(text), list)


def test_full_width_digits_are_taken_as_ascii():
    """A number typed with a Chinese input method (５３０１…８) was three errors at once; the
    same normalising as student numbers makes it the number it is (and a duplicate of itself)."""
    from station.domain import idnumber

    full = "５３０１１１１９９００１０１１２３８"
    assert idnumber.normalise(full) == "530111199001011238"
    assert idnumber.validate(idnumber.normalise(full)) == []
    assert idnumber.normalise("５３０１１１１９９１０２０２２３４ｘ") == "53011119910202234X"
    assert idnumber.normalise("530111\u3000199001011238") == "530111199001011238"
