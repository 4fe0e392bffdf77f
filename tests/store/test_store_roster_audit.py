"""Roster import defects found by the outside audit, each pinned on real files through the CLI."""

import datetime as dt
import json
from pathlib import Path

from station.domain import idnumber


def _idn(seq: int) -> str:
    return idnumber.make("530102", dt.date(1991, 5, 6), seq, True)


def _csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def test_in_service_written_in_category_or_degree_is_not_eligible(station_cli, tmp_path):
    """No 学习方式 column: 非全日制/在职 in 学生类别 or 学历层次 still means in-service."""
    by_category = _csv(tmp_path / "c.csv", [
        "学号,姓名,性别,身份证号,院系,学生类别,学制,年级",
        f"C1,非全甲,男,{_idn(1)},物理与天文学院,非全日制硕士研究生,3,2015",
        f"C2,全日乙,男,{_idn(2)},物理与天文学院,全日制硕士研究生,3,2015",
    ])
    r = station_cli("roster", "import", str(by_category), "--json")
    assert r.returncode == 0, r.stderr
    assert (r.json()["eligible"], r.json()["not_eligible"]) == (1, 1)
    by_degree = _csv(tmp_path / "d.csv", [
        "学号,姓名,性别,身份证号,培养单位,学历层次,学制,入学年份,学习方式",
        f"E6,在职乙,男,{_idn(3)},物理与天文学院,在职硕士,3,2015,",
    ])
    r = station_cli("roster", "import", str(by_degree), "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["not_eligible"] == 1
    for idn in (_idn(1), _idn(3)):
        shown = station_cli("roster", "show", idn, "--json")
        entry = json.loads(shown.stdout)["entry"]
        assert entry["eligible"] in (False, 0) and entry["eligibility_rule"] == "part_time"
    text = station_cli("--lang", "en", "roster", "show", _idn(3)).stdout
    assert "part-time" in text.lower() or "in-service" in text.lower(), text
