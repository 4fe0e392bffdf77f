"""Review decisions through the service layer: reasons kept, roles enforced, the queue updated."""

import pytest

from station.errors import InputError, RefusedError
from station.session.review import decide
from station.session.service import CaptureService
from station.store.review import review_queue

from .conftest import PHO_PIN, PHOTOGRAPHER, SUP_PIN, SUPERVISOR, MarkerChecker, person, table_match


def overridden(store):
    p = person(11)
    sup = store.operators.authenticate(SUPERVISOR, SUP_PIN)
    svc = CaptureService(store, sup, checker=MarkerChecker(), match=table_match({p.id_number: []}))
    svc.identify(p)
    svc.pay(None)
    svc.capture(b"BLURRY")
    svc.accept(override_by=sup, reason="judged fine")
    return p


def test_reject_with_reason_leaves_the_queue(store):
    p = overridden(store)
    sup = store.operators.authenticate(SUPERVISOR, SUP_PIN)
    [item] = review_queue(store)
    decide(store, sup, item, "reject", "glare on glasses")
    assert review_queue(store) == []
    row = store.conn.execute("SELECT decision, reason, operator FROM acceptances "
                             "ORDER BY hlc DESC LIMIT 1").fetchone()
    assert tuple(row) == ("reject", "glare on glasses", SUPERVISOR)
    assert store.person_state(p.id_number).accepted_capture_id is None


def test_photographer_may_not_decide_and_a_bad_decision_names_the_field(store):
    overridden(store)
    [item] = review_queue(store)
    photographer = store.operators.authenticate(PHOTOGRAPHER, PHO_PIN)
    with pytest.raises(RefusedError):
        decide(store, photographer, item, "reject", "no")
    sup = store.operators.authenticate(SUPERVISOR, SUP_PIN)
    with pytest.raises(InputError) as exc:
        decide(store, sup, item, "maybe", "")
    assert exc.value.location.field == "decision"
    assert len(review_queue(store)) == 1


def test_find_takes_a_capture_code_and_the_id_numbers_end_and_refuses_in_words(store):
    """The review screen's search (session.review.find): a 图像采集码 or the ID number's last 4-6
    characters find the person and every capture of theirs, queued or not; nobody, a person
    without a capture and a photographer are refused; a whole ID number is no key (and is
    echoed masked)."""
    from station.config import default_settings
    from station.errors import NotFoundError
    from station.session.review import find

    p, other = person(21), person(22)
    settings = default_settings()
    settings = settings.model_copy(update={"session": settings.session.model_copy(
        update={"mode": "code"})})
    sup = store.operators.authenticate(SUPERVISOR, SUP_PIN)
    svc = CaptureService(store, sup, checker=MarkerChecker(), settings=settings,
                         match=table_match({p.id_number: [], other.id_number: []}))
    svc.identify(p)
    svc.pay(None)
    svc.set_capture_code("Xq7mA2kP9zR4tB1c")
    svc.capture(b"GOOD")
    svc.accept()
    svc.next()
    svc.identify(other)                  # read, never photographed
    assert review_queue(store) == []     # a good accepted photo needs no second look
    for key in ("Xq7mA2kP9zR4tB1c", " xq7ma2kp9zr4tb1c ", p.id_number[-4:], p.id_number[-6:]):
        found, items = find(store, sup, key)
        assert found.id_number == p.id_number, key
        assert [(i.reason, i.decision) for i in items] == [("no_review", "accept")]
    with pytest.raises(InputError) as whole:     # the whole number: told to type its end
        find(store, sup, p.id_number)
    assert whole.value.key == "session.search_whole_id"
    assert p.id_number not in whole.value.messages[0] + whole.value.messages[1]
    with pytest.raises(NotFoundError) as no_capture:
        find(store, sup, other.id_number[-6:])
    assert no_capture.value.key == "session.search_no_captures"
    with pytest.raises(InputError):
        find(store, sup, "  ")
    with pytest.raises(RefusedError):
        find(store, store.operators.authenticate(PHOTOGRAPHER, PHO_PIN), p.id_number[-4:])

    import datetime as dt

    from station.domain import idnumber
    from station.domain.identity import Identity

    born = next(dt.date(1990, 1, 1) + dt.timedelta(days=d) for d in range(4000)
                if idnumber.make("530103", dt.date(1990, 1, 1) + dt.timedelta(days=d), 21,
                                 male=False)[-4:] == p.id_number[-4:])
    number = idnumber.make("530103", born, 21, male=False)
    twin = Identity(card_type="resident", name="双胞", gender=idnumber.gender(number),
                    birth_date=born.isoformat(), id_number=number)
    svc.skip()
    svc.identify(twin)                   # read, no photo: the end still finds p alone
    assert find(store, sup, p.id_number[-4:])[0].id_number == p.id_number
    with store.transaction():            # photographed too: two people, named masked
        store.facts.record_capture(twin.id_number, store.images.put(b"GOOD"))
    with pytest.raises(RefusedError) as several:
        find(store, sup, p.id_number[-4:])
    zh = several.value.messages[0]
    assert several.value.key == "session.search_several" and "2" in zh and "双*" in zh
    assert p.id_number not in zh and twin.id_number not in zh


def test_find_looks_on_walk_in_schools_rosters_and_names_their_school(store):
    """One student number on two schools' rosters here (the station's 10673 and 10674, imported
    for its Friday walk-ins), both people photographed: the search finds both and names them
    masked, the walk-in with the school their photo is for; the home student without one."""
    from station.session.review import find

    home, walker = person(31), person(32)
    with store.transaction():
        for p, school in ((home, None), (walker, "10674")):
            store.insert("roster_entries", {"id_number": p.id_number, "name": p.name,
                                            "student_no": "2014000031", "eligible": 1,
                                            "school_code": school})
            capture = store.facts.record_capture(p.id_number, store.images.put(b"GOOD" + p.id_number.encode()))
            if school:
                store.insert("walk_ins", {"id_number": p.id_number, "capture_id": capture,
                                          "school_code": school, "operator": PHOTOGRAPHER})
    sup = store.operators.authenticate(SUPERVISOR, SUP_PIN)
    with pytest.raises(RefusedError) as several:
        find(store, sup, "2014000031")
    assert several.value.key == "session.search_several"
    zh = several.value.messages[0]
    assert "测**2 530***********" + walker.id_number[-4:] + " 10674" in zh
    assert "测**1 530***********" + home.id_number[-4:] + "、" in zh      # the home school's: no code
    found, _items = find(store, sup, walker.id_number[-6:])
    assert (found.id_number, found.name, found.school_code) == (walker.id_number, walker.name, "10674")
    assert find(store, sup, home.id_number[-6:])[0].school_code == ""
