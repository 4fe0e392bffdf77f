import sqlite3

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


# ---------------------------------------------------------------- PIN lock-out, across processes

def test_five_wrong_pins_lock_the_right_one_out_across_processes(station_cli):
    """Each attempt is its own process, as a script or an attacker would run them."""
    from station.store.lockout import BASE_LOCK_MS

    for i in range(5):
        wrong = station_cli("--lang", "en", "operator", "list", pin=f"99{i:02d}")
        assert wrong.returncode == 2, wrong.stderr
    right = station_cli("--lang", "en", "operator", "list")
    assert right.returncode == 2 and "locked" in right.stderr and "Unexpected" not in right.stderr
    conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
    failures, until, last = conn.execute(
        "SELECT failures, locked_until_ms, last_failure_ms FROM auth_attempts WHERE name = ?",
        (SUPERVISOR,)).fetchone()
    assert failures == 5 and until - last == BASE_LOCK_MS
    # the minute passes (the lock-out's end is data: move it, do not sleep)
    conn.execute("UPDATE auth_attempts SET locked_until_ms = ?", (until - BASE_LOCK_MS - 1,))
    conn.commit()
    conn.close()
    assert station_cli("operator", "list").returncode == 0
    audit = [e["action"] for e in _entries(station_cli.data_dir) if e["subject"] == SUPERVISOR]
    assert audit.count("auth.failed") == 5 and audit.count("auth.locked") == 1


def test_lock_out_grows_and_a_right_pin_clears_it(store):
    from station.store import lockout

    ops = store.operators
    t0 = 1_800_000_000_000
    for i in range(5):
        with pytest.raises(RefusedError):
            ops.authenticate(SUPERVISOR, "0000", at_ms=t0 + i)
    first = lockout.read(store.conn, SUPERVISOR)
    assert first.wait_ms(t0 + 4) == lockout.BASE_LOCK_MS
    with pytest.raises(RefusedError) as locked:                  # the right PIN, still locked
        ops.authenticate(SUPERVISOR, PIN, at_ms=t0 + 1000)
    assert locked.value.key == "auth.locked"
    after = first.locked_until_ms + 1
    with pytest.raises(RefusedError):                            # one more wrong: twice as long
        ops.authenticate(SUPERVISOR, "0000", at_ms=after)
    second = lockout.read(store.conn, SUPERVISOR)
    assert second.wait_ms(after) == 2 * lockout.BASE_LOCK_MS
    ops.authenticate(SUPERVISOR, PIN, at_ms=second.locked_until_ms + 1)
    assert lockout.read(store.conn, SUPERVISOR) == lockout.Attempts()
    assert lockout.lock_ms(30) == lockout.MAX_LOCK_MS


def test_unknown_names_are_counted_like_real_ones(store):
    from station.store import lockout

    for _ in range(5):
        with pytest.raises(RefusedError):
            store.operators.authenticate("nobody", "1234")
    assert lockout.read(store.conn, "nobody").lockouts == 1


def test_operator_add_refuses_an_existing_name(station_cli):
    add = station_cli("operator", "add", "小李", "--role", "photographer", stdin="135790\n")
    assert add.returncode == 0, add.stderr
    again = station_cli("--lang", "en", "operator", "add", "小李", "--role", "supervisor",
                        stdin="000000\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    listed = {o["name"]: o["role"] for o in station_cli("operator", "list", "--json").json()["operators"]}
    assert listed["小李"] == "photographer"
    ops = {o["name"]: o for o in station_cli("operator", "list", "--json").json()["all"]}
    assert ops["小李"]["role"] == "photographer"   # neither role nor PIN was reset
    mine = station_cli("roster", "show", "53010219920101123X", operator="小李", pin="135790")
    assert mine.returncode in (0, 1), mine.stderr


def test_set_pin_set_role_disable_enable_unlock(station_cli):
    assert station_cli("operator", "add", "tech", "--role", "technician",
                       stdin="24681357\n").returncode == 0
    # anyone changes their own PIN; a technician cannot change someone else's
    own = station_cli("operator", "set-pin", "tech", operator="tech", pin="24681357",
                      stdin="97531864\n")
    assert own.returncode == 0, own.stderr
    other = station_cli("operator", "set-pin", SUPERVISOR, operator="tech", pin="97531864",
                        stdin="11112222\n")
    assert other.returncode == 2
    assert station_cli("operator", "list", operator="tech", pin="97531864").returncode == 0
    # a role change takes effect at once
    assert station_cli("operator", "set-role", "tech", "--role", "photographer").returncode == 0
    assert station_cli("operator", "list", operator="tech", pin="97531864").returncode == 2
    # disabled operators cannot act; the last supervisor cannot be disabled or demoted
    assert station_cli("operator", "disable", "tech").returncode == 0
    gone = station_cli("--lang", "en", "roster", "show", "53010219920101123X", operator="tech",
                       pin="97531864")
    assert gone.returncode == 2
    last = station_cli("--lang", "en", "operator", "disable", SUPERVISOR)
    assert last.returncode == 2 and "last" in last.stderr
    demote = station_cli("operator", "set-role", SUPERVISOR, "--role", "technician")
    assert demote.returncode == 2
    assert station_cli("operator", "enable", "tech").returncode == 0
    # a supervisor can clear a lock-out
    for _ in range(5):
        station_cli("operator", "list", operator="tech", pin="000000")
    assert "locked" in station_cli("--lang", "en", "roster", "show", "53010219920101123X",
                                   operator="tech", pin="97531864").stderr
    assert station_cli("operator", "unlock", "tech").returncode == 0
    ok = station_cli("roster", "show", "53010219920101123X", operator="tech", pin="97531864")
    assert ok.returncode in (0, 1), ok.stderr
    actions = [e["action"] for e in _entries(station_cli.data_dir)]
    for action in ("operator.set_pin", "operator.set_role", "operator.disable",
                   "operator.enable", "operator.unlock"):
        assert action in actions


def test_operator_list_needs_an_operator(station_cli):
    r = station_cli("--lang", "en", "operator", "list", operator=None)
    assert r.returncode == 2 and "An operator is needed to list operators" in r.stderr


def test_pins_of_six_or_more_digits_are_taken_and_short_ones_advised_against(station_cli):
    long = station_cli("--lang", "en", "operator", "add", "a", "--role", "photographer",
                       stdin="8264019375\n")
    assert long.returncode == 0 and "recommended" not in long.stderr
    short = station_cli("--lang", "en", "operator", "add", "b", "--role", "photographer",
                        stdin="1234\n")
    assert short.returncode == 0 and "recommended" in short.stderr
    spaced = station_cli("operator", "add", "c", "--role", "photographer", stdin="12 3456\n")
    assert spaced.returncode == 2


def _entries(data_dir):
    from station.store import open_store

    with open_store(data_dir) as s:
        return s.audit.entries()


def test_operator_list_names_roles_in_the_readers_language(station_cli):
    """`operator list` printed the role codes (photographer) on a Chinese screen; --json keeps them."""
    assert station_cli("operator", "add", "小王", "--role", "photographer", stdin="135790\n").returncode == 0
    zh = station_cli("operator", "list")
    assert zh.returncode == 0, zh.stderr
    rows = dict(line.split("\t")[:2] for line in zh.stdout.splitlines())
    assert rows["小王"] == "摄影师" and "photographer" not in zh.stdout
    en = station_cli("--lang", "en", "operator", "list")
    assert dict(line.split("\t")[:2] for line in en.stdout.splitlines())["小王"] == "photographer"
    listed = {o["name"]: o["role"] for o in station_cli("operator", "list", "--json").json()["operators"]}
    assert listed["小王"] == "photographer"
