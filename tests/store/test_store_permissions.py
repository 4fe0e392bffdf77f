"""One rule for accepting a photo that fails its checks (supervisors), held by the store wherever
the accept comes from; identities from files are typed unless a supervisor vouches."""

from __future__ import annotations

import json

import pytest

from station.domain.identity import Identity
from station.errors import RefusedError

from .conftest import PIN, SUPERVISOR

IDN = "53010219920101123X"


@pytest.fixture
def people(store):
    sup = store.operators.authenticate(SUPERVISOR, PIN)
    tech = store.operators.add("技术员", "technician", "24681357", by=sup)
    photo = store.operators.add("拍照员", "photographer", "13572468", by=sup)
    return sup, tech, photo


def _capture(store, passed: bool) -> str:
    read = store.facts.record_card_read(Identity("resident", "王五", "male", "1992-01-01", IDN))
    sha = store.images.put(b"\xff\xd8 frame " + str(passed).encode())
    cap = store.facts.record_capture(IDN, sha, "IMG.JPG", {"crop_sha256": sha}, card_read_id=read)
    checks = [{"name": "sharpness", "status": "pass" if passed else "fail"}]
    store.facts.record_check(cap, {"checks": checks, "passed": passed}, passed)
    return cap


def test_the_store_refuses_a_failed_photo_without_a_supervisor(store, people):
    sup, tech, photo = people
    cap = _capture(store, passed=False)
    for override in (None, photo.name, tech.name, "nobody"):
        with pytest.raises(RefusedError) as refused:
            store.facts.record_acceptance(cap, "accept", override_by=override, operator=photo.name)
        assert refused.value.key == "auth.override_required"
    store.facts.record_acceptance(cap, "reject", operator=photo.name)     # rejecting is free
    store.facts.record_acceptance(cap, "accept", override_by=sup.name, operator=photo.name)
    assert store.person_state(IDN).accepted_capture_id == cap
    # a supervisor demoted later can no longer override
    store.operators.set_role(sup.name, "supervisor", by=sup)
    store.operators.add("主管乙", "supervisor", "86420975", by=sup)
    store.operators.set_role(sup.name, "technician", by=store.operators.get("主管乙"))
    with pytest.raises(RefusedError):
        store.facts.record_acceptance(_capture(store, passed=False), "accept",
                                      override_by=sup.name, operator=photo.name)


def test_review_decisions_follow_the_same_rule(store, people):
    """The review screen records its decision as the reviewer's own override (as the desk does):
    the store lets technicians accept a passing photo, refuses them a failing one."""
    sup, tech, photo = people
    failed = _capture(store, passed=False)
    good = _capture(store, passed=True)

    def review(op, capture_id, decision, reason):
        store.operators.require(op, "check.override")            # photographers do not review
        return store.facts.record_acceptance(
            capture_id, decision, reason=reason or None,
            override_by=op.name if decision == "accept" else None, operator=op.name)

    with pytest.raises(RefusedError):
        review(tech, failed, "accept", "looks fine to me")
    review(tech, good, "accept", "")                             # a passing photo: technicians may
    review(tech, failed, "reject", "blurred")
    review(sup, failed, "accept", "ministry accepts it")
    row = store.conn.execute("SELECT override_by FROM acceptances WHERE capture_id = ? "
                             "ORDER BY hlc DESC LIMIT 1", (failed,)).fetchone()
    assert row[0] == sup.name
    with pytest.raises(RefusedError):
        review(photo, good, "accept", "")
    with pytest.raises(Exception) as bad:
        review(sup, good, "accept", "\x1b[31mred\x1b[0m")
    assert "control character" in str(bad.value)
    store.facts.record_acceptance(good, "accept", reason="two lines\nof reason", operator=sup.name)


@pytest.fixture(scope="module")
def portrait(tmp_path_factory):
    import cv2

    from station.sim.portrait import render

    path = tmp_path_factory.mktemp("portrait") / "p.jpg"
    cv2.imwrite(str(path), render(1024, 1365, seed=3)[0])
    return path


def test_ingest_records_a_file_as_typed_unless_a_supervisor_vouches(station_cli, portrait, tmp_path):
    assert station_cli("operator", "add", "photo", "--role", "photographer",
                       stdin="13572468\n").returncode == 0
    identity = Identity("resident", "王五", "male", "1992-01-01", IDN, source="card").to_json()
    path = tmp_path / "id.json"
    path.write_text(json.dumps(identity, ensure_ascii=False), "utf-8")
    base = ("ingest", "--identity", str(path), "--image", str(portrait), "--force",
            "--reason", "test", "--json")
    refused = station_cli("--lang", "en", "ingest", "--identity", str(path), "--image", str(portrait),
                          "--vouch", operator="photo", pin="13572468")
    assert refused.returncode == 2 and "may not vouch" in refused.stderr
    typed = station_cli(*base)
    assert typed.returncode == 0, typed.stderr
    vouched = station_cli(*base, "--vouch")
    assert vouched.returncode == 0, vouched.stderr
    from station.store import open_store

    with open_store(station_cli.data_dir) as store:
        sources = [json.loads(r[0]).get("source") for r in store.conn.execute(
            "SELECT identity FROM card_reads ORDER BY hlc")]
        vouches = [e for e in store.audit.entries() if e["action"] == "identity.vouch"]
    assert sources == ["typed", "card"]         # the file said "card": it is not believed
    assert len(vouches) == 1 and vouches[0]["operator"] == SUPERVISOR
