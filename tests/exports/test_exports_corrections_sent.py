"""Corrections after upload are measured against what the earlier batch actually sent (audit D1):
a roster re-import that renames a person or moves them to another department after their photo
went out is listed in the next batch's corrections.csv, old → new, once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("station.roster.importer")


def _ingest(station, id_file: Path, image: Path):
    r = station.as_op("sup", "ingest", "--identity", str(id_file), "--image", str(image), "--vouch",
                      "--paid", "--json")
    assert r.returncode == 0, r.stdout + r.stderr


def test_roster_reimport_after_upload_is_listed_against_the_sent_batch(station, roster_people, tmp_path):
    people = roster_people(2)
    for _identity, id_file, image in people:
        _ingest(station, id_file, image)
    out = tmp_path / "batches"
    first = station.as_op("tech", "export", "build", "--out", str(out), "--json").json()
    assert first["photos"] == 2

    (a, _, _), (b, _, _) = people
    roster = (tmp_path / "roster.csv").read_bytes().decode("utf-8-sig").splitlines()
    fixed = []
    for line in roster:
        if a["id_number"] in line:
            line = line.replace(f",{a['name']},", ",更正名,")
        if b["id_number"] in line:
            line = line.replace(",物理与天文学院,", ",化学科学与工程学院,")
        fixed.append(line)
    (tmp_path / "roster2.csv").write_text("\n".join(fixed) + "\n", "utf-8")
    r = station.as_op("sup", "roster", "import", str(tmp_path / "roster2.csv"), "--json")
    assert r.returncode == 0, r.stdout + r.stderr

    r = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    second = r.json()
    assert second["photos"] == 0 and second["corrections"] == 2
    batch = Path(second["path"])
    doc = json.loads((batch / "manifest.json").read_text("utf-8"))
    fixes = {f["id_number"]: f for f in doc["corrections"]}
    assert fixes[a["id_number"]]["changes"] == [{"field": "name", "old": a["name"], "new": "更正名"}]
    assert fixes[b["id_number"]]["changes"] == [
        {"field": "department", "old": "物理与天文学院", "new": "化学科学与工程学院"}]
    assert all(f["replaces_batch"] == first["batch_id"] for f in fixes.values())
    csv_text = (batch / "corrections.csv").read_bytes().decode("gbk")
    assert f"姓名：{a['name']}→更正名" in csv_text
    assert "院系：物理与天文学院→化学科学与工程学院" in csv_text

    third = station.as_op("tech", "export", "build", "--out", str(out), "--json").json()
    assert third["path"] is None                                      # listed once
    assert {s["reason"] for s in third["not_in_batch"]} == {"already_exported"}
