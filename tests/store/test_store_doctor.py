import socket
import sqlite3
import sys
import types

from station.doctor import DoctorCheck, area_checks, check_pcscd


def test_doctor_cli_reports_system_and_store(station_cli):
    r = station_cli("doctor", "--json", operator=None)
    checks = {(c["area"], c["name"]): c for c in r.json()["checks"]}
    assert checks[("system", "python")]["status"] == "pass"
    assert checks[("system", "packages")]["status"] == "pass"
    assert checks[("store", "integrity")]["status"] == "pass"
    assert checks[("system", "disk")]["details"]["free_bytes"] > 0
    assert all(c["message_zh"] and c["message_en"] for c in checks.values())
    assert r.returncode == (1 if any(c["status"] == "fail" for c in checks.values()) else 0)

    conn = sqlite3.connect(station_cli.data_dir / "station.sqlite3")
    conn.execute("UPDATE audit SET operator = 'mallory' WHERE action = 'init'")
    conn.commit()
    conn.close()
    bad = station_cli("doctor", "--json", operator=None)
    store_check = next(c for c in bad.json()["checks"] if c["area"] == "store")
    assert store_check["status"] == "fail" and bad.returncode == 1


def test_area_modules_are_collected_and_a_crash_is_contained(monkeypatch):
    good = types.ModuleType("fake_area_ok")
    good.checks = lambda: [DoctorCheck("fake", "thing", "pass", "好", "fine")]
    broken = types.ModuleType("fake_area_broken")

    def crash():
        raise RuntimeError("sensor on fire")

    broken.checks = crash
    monkeypatch.setitem(sys.modules, "station.fakeok.doctor", good)
    monkeypatch.setitem(sys.modules, "station.fakebroken.doctor", broken)
    out = area_checks(("station.fakeok.doctor", "station.fakebroken.doctor", "station.nothere.doctor"))
    assert [(c.area, c.status) for c in out] == [("fake", "pass"), ("fakebroken", "fail")]
    assert "sensor on fire" in out[1].message_en


def test_pcscd_socket_probe(tmp_path):
    path = tmp_path / "pcscd.comm"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    try:
        assert check_pcscd((str(path),)).status == "pass"
    finally:
        server.close()
    assert check_pcscd((str(path),)).status == "fail"           # stale socket, nobody listening
    assert check_pcscd((str(tmp_path / "none"),)).status == "warn"
