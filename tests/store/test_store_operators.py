import pytest

from station.errors import InputError, RefusedError
from station.store.operators import PERMISSIONS

from .conftest import PIN, SUPERVISOR


def test_pins_are_hashed_with_argon2(store):
    row = store.conn.execute("SELECT pin_hash FROM operators WHERE name = ?", (SUPERVISOR,)).fetchone()
    assert row[0].startswith("$argon2id$") and PIN not in row[0]


def test_authenticate_and_role_table(store):
    sup = store.operators.authenticate(SUPERVISOR, PIN)
    photo = store.operators.add("拍照员", "photographer", "1111", by=sup)
    tech = store.operators.add("技术员", "technician", "2222", by=sup)
    assert store.operators.authenticate("拍照员", "1111") == photo
    for action in ("export", "merge", "delete", "roster.import", "operator.add"):
        with pytest.raises(RefusedError):
            store.operators.require(photo, action)
    store.operators.require(photo, "capture")
    store.operators.require(tech, "export")
    with pytest.raises(RefusedError):
        store.operators.require(tech, "merge")
    for action in PERMISSIONS:
        store.operators.require(sup, action)
    # unknown actions fail closed: supervisors only
    with pytest.raises(RefusedError):
        store.operators.require(tech, "something.new")
    refused = [e for e in store.audit.entries() if e["action"] == "auth.refused"]
    assert len(refused) == 7


def test_wrong_pin_unknown_name_and_audit(store):
    with pytest.raises(RefusedError):
        store.operators.authenticate(SUPERVISOR, "0000")
    with pytest.raises(RefusedError):
        store.operators.authenticate("nobody", PIN)
    failed = [e for e in store.audit.entries() if e["action"] == "auth.failed"]
    assert {e["subject"] for e in failed} == {SUPERVISOR, "nobody"}


def test_only_supervisors_add_operators_and_input_is_checked(store):
    sup = store.operators.authenticate(SUPERVISOR, PIN)
    photo = store.operators.add("p1", "photographer", "1111", by=sup)
    with pytest.raises(RefusedError):
        store.operators.add("p2", "supervisor", "1111", by=photo)
    with pytest.raises(RefusedError):  # nobody may add without acting as someone once set up
        store.operators.add("p3", "supervisor", "1111")
    with pytest.raises(InputError):
        store.operators.add("p4", "boss", "1111", by=sup)
    with pytest.raises(InputError):
        store.operators.add("p5", "photographer", "12", by=sup)
    assert [o.name for o in store.operators.list()] == sorted(["p1", SUPERVISOR])


def test_cli_init_is_idempotent_and_roles_are_enforced(station_cli):
    again = station_cli("init", "--station-id", "st-a", "--supervisor", SUPERVISOR, "--json",
                        operator=None, env={"STATION_PIN": PIN})
    assert again.returncode == 0 and again.json()["created"] is False
    other = station_cli("init", "--station-id", "st-b", "--supervisor", SUPERVISOR,
                        operator=None, env={"STATION_PIN": PIN})
    assert other.returncode == 2 and "st-a" in other.stderr
    add = station_cli("operator", "add", "小李", "--role", "photographer", "--json", stdin="1357\n")
    assert add.returncode == 0, add.stderr
    assert add.json() == {"name": "小李", "role": "photographer", "id": add.json()["id"]}
    refused = station_cli("--lang", "en", "operator", "add", "x", "--role", "supervisor",
                          operator="小李", pin="1357", stdin="9999\n")
    assert refused.returncode == 2
    assert "may not add operators" in refused.stderr and "operator.add" not in refused.stderr
    bad_pin = station_cli("operator", "add", "y", "--role", "photographer", pin="0000",
                          stdin="9999\n")
    assert bad_pin.returncode == 2
    no_op = station_cli("--lang", "en", "operator", "add", "z", "--role", "photographer",
                        operator=None, stdin="9999\n")
    assert no_op.returncode == 2 and "operator" in no_op.stderr
    listed = station_cli("operator", "list", "--json").json()["operators"]
    assert sorted(o["name"] for o in listed) == sorted(["小李", SUPERVISOR])
