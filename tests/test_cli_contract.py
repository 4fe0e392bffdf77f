"""Exit codes and help of the command line: the contract scripts rely on (0 ok, 1 no, 2 input, 3 device)."""

from __future__ import annotations

from tests.conftest import run_station_cmd


def test_camera_list_without_a_camera_is_a_missing_device(tmp_path):
    # the real driver on a machine with no camera attached (never the virtual one)
    r = run_station_cmd(["camera", "list", "--camera", "gphoto2", "--json"], tmp_path / "d",
                        {"VCAMERADIR": str(tmp_path)})
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert r.json() == {"cameras": []}
