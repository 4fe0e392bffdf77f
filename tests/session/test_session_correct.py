"""The review screen's correction goes through the one correction service (station.session.correct):
the old value is the derived one for every field (the audit found None for all but the name), a
photographer is refused, and a capture whose person's ID number was corrected is listed under
the new number (so it can be corrected further from the queue)."""

import pytest

from station.errors import RefusedError
from station.session.correct import correct_person
from station.session.review import correct
from station.store.review import review_queue

from .conftest import PHO_PIN, PHOTOGRAPHER, SUP_PIN, SUPERVISOR, person
from .test_session_review import overridden


def test_review_correction_records_old_values_and_follows_a_new_id(store):
    import datetime as dt

    from station.domain import idnumber

    p = overridden(store)
    sup = store.operators.authenticate(SUPERVISOR, SUP_PIN)
    [item] = review_queue(store)
    correct(store, sup, item, "gender", "男", "card misread")
    correct(store, sup, item, "name", "测试乙", "misprint")
    rows = store.conn.execute("SELECT field, old_value, new_value FROM corrections ORDER BY hlc").fetchall()
    assert [tuple(r) for r in rows] == [("gender", "female", "male"), ("name", p.name, "测试乙")]
    photographer = store.operators.authenticate(PHOTOGRAPHER, PHO_PIN)
    with pytest.raises(RefusedError):
        correct(store, photographer, item, "name", "x", "y")
    new = idnumber.make("530102", dt.date(1999, 9, 9), 7, male=True)
    assert new != person(11).id_number
    correct_person(store, sup, p.id_number, "id_number", new, "typed wrong")
    [moved] = review_queue(store)
    assert moved.id_number == new and moved.name == "测试乙"
    assert [c["field"] for c in moved.corrections] == ["gender", "name", "id_number"]
    correct(store, sup, moved, "department", "化学学院", "moved")
    assert store.conn.execute("SELECT target_id FROM corrections WHERE field = 'department'"
                              ).fetchone()[0] == new


@pytest.mark.parametrize("field, value", [("name", '=HYPERLINK("http://x","y")'), ("name", "+86王"),
                                          ("department", "@物理学院"), ("department", "－化学")])
def test_a_correction_the_export_would_refuse_is_refused_and_records_nothing(store, field, value):
    """A name or department corrected to a formula was recorded, then every export left the person
    out ('unsafe'), the photo never uploaded; roster import refuses the same values up front."""
    from station.errors import InputError
    from station.store.people import load_snapshot

    p = overridden(store)
    sup = store.operators.authenticate(SUPERVISOR, SUP_PIN)
    with pytest.raises(InputError) as info:
        correct_person(store, sup, p.id_number, field, value, "typed by the office")
    assert info.value.key == "roster.formula_text"
    assert info.value.location.field == field
    assert store.conn.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == 0
    assert getattr(load_snapshot(store).persons[p.id_number], field) != value
    correct_person(store, sup, p.id_number, field, "-".join(["王", "李"]), "a dash inside is fine")
