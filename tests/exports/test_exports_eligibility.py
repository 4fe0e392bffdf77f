"""A student the roster no longer lets be photographed (a re-import says 非全日制: in-service) is
not sent, though their photo was accepted while the roster still let them be: the roster decides
who may be photographed, at the desk and at export alike. A supervisor's override still goes out."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("station.roster.importer")


def _ingest(station, id_file: Path, image: Path, *extra: str):
    r = station.as_op("sup", "ingest", "--identity", str(id_file), "--image", str(image), "--vouch",
                      "--paid", "--json", *extra)
    assert r.returncode == 0, r.stdout + r.stderr


def _reimport_in_service(station, tmp_path: Path, id_number: str) -> None:
    roster = (tmp_path / "roster.csv").read_bytes().decode("utf-8-sig").splitlines()
    lines = [line.replace(",全日制,", ",非全日制,") if id_number in line else line for line in roster]
    (tmp_path / "roster2.csv").write_text("\n".join(lines) + "\n", "utf-8")
    r = station.as_op("sup", "roster", "import", str(tmp_path / "roster2.csv"), "--json")
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_student_the_roster_now_calls_in_service_is_neither_exported_nor_printed(station, roster_people,
                                                                                   tmp_path):
    people = roster_people(2)
    for _identity, id_file, image in people:
        _ingest(station, id_file, image)
    (gone, _, _), (kept, _, _) = people
    _reimport_in_service(station, tmp_path, gone["id_number"])

    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "out"), "--json")
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert doc["photos"] == 1, doc
    upload = sorted(p.name for p in (Path(doc["path"]) / "upload").iterdir())
    assert upload == [f"{kept['id_number']}.jpg"]
    from station.privacy import mask_id
    (left,) = [s for s in doc["not_in_batch"] if s["id_number"] == mask_id(gone["id_number"])]
    assert left["reason"] == "ineligible" and "不符合采集条件" in left["message_zh"], left
    assert "not eligible" in left["message_en"], left

    sheets = station.as_op("tech", "print", "sheets", "--out", str(tmp_path / "s.pdf"), "--json")
    assert sheets.returncode == 0, sheets.stderr
    assert sheets.json()["photos"] == 1
    assert [m["reason"] for m in sheets.json()["not_printed"]] == ["ineligible"]


def test_a_supervisors_override_of_eligibility_still_goes_out(station, roster_people, tmp_path):
    (person, id_file, image), = roster_people(1)
    _reimport_in_service(station, tmp_path, person["id_number"])
    refused = station.as_op("sup", "ingest", "--identity", str(id_file), "--image", str(image), "--vouch", "--paid")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    _ingest(station, id_file, image, "--force", "--reason", "学校确认本人为全日制，名单待更正")
    r = station.as_op("tech", "export", "build", "--out", str(tmp_path / "out"), "--json")
    assert r.returncode == 0 and r.json()["photos"] == 1, r.stdout + r.stderr
