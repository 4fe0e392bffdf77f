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
