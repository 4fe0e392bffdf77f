import socket
import sqlite3

from station.config import default_settings
from station.doctor import DoctorCheck, DoctorContext, area_checks
from station.doctor.system import check_pcscd


def test_doctor_cli_reports_system_and_store(station_cli):
    sim = {"STATION__CAMERA__DRIVER": "sim"}  # no camera here: the store is what is looked at
    r = station_cli("doctor", "--json", operator=None, env=sim)
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
    bad = station_cli("doctor", "--json", operator=None, env=sim)
    store_check = next(c for c in bad.json()["checks"] if c["area"] == "store")
    assert store_check["status"] == "fail" and bad.returncode == 1


def test_areas_are_collected_and_a_crash_is_contained(tmp_path):
    def good(ctx):
        return [DoctorCheck("fake", "thing", "pass", "好", "fine", {"dir": str(ctx.data_dir)})]

    def crash(ctx):
        raise RuntimeError("sensor on fire")

    ctx = DoctorContext(tmp_path, default_settings())
    out = area_checks(ctx, (("fake", good), ("fakebroken", crash), ("fake", good)))
    assert [(c.area, c.status) for c in out] == [("fake", "pass"), ("fakebroken", "fail"),
                                                  ("fake", "pass")]
    assert "sensor on fire" in out[1].message_en and out[0].details["dir"] == str(tmp_path)


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
