"""A pull from the hub holds student numbers to the form of roster import (they name exported
photos and prints), like a bundle merge: a push leaving a person with a path for a student number
is refused in words and the master is unchanged; corrected at the station, the next push is taken."""

from __future__ import annotations

from tests.hub.conftest import Campaign


def test_a_pushed_path_for_a_student_number_is_refused_by_the_pull(campaign: Campaign) -> None:
    from station.store import open_store
    from tests.exports.conftest import person
    from tests.sync.conftest import canonical, master_state

    folder = campaign.add_station("yd-1", people=1, seed=1)
    idn = person(100)["id_number"]
    with open_store(folder) as store:          # a store written before the rule, or by hand
        store.insert("roster_entries", {"id_number": idn, "name": "学生100", "eligible": 1,
                                        "student_no": "..\\..\\x", "department": "物理学院"})
    campaign.init()
    campaign.push("yd-1")
    before = master_state(campaign.master)
    result = campaign.pull()
    [refused] = result.refused
    assert result.merged == [] and refused.reason == "student_no"
    zh, en = refused.messages
    assert "roster_entries" in en and "cannot be used" in en and "学号" in zh
    assert master_state(campaign.master) == before
    with open_store(folder) as store:
        from station.session.correct import correct_person

        sup = store.operators.authenticate("sup", "2468")
        correct_person(store, sup, idn, "student_no", "2020000100", "学号录错")
    campaign.push("yd-1")
    again = campaign.pull()                # the correction is taken; the first push waits for it
    assert [r.source for r in again.refused] == [refused.source] and len(again.merged) == 1
    last = campaign.pull()                 # now the number that push leaves is the corrected one
    assert last.refused == [] and len(last.merged) == 1
    rows = canonical(campaign.master, {"yd-1"})
    assert rows["corrections"] and any(r for r in rows["roster_entries"])
