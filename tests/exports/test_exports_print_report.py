"""Print sheets looked at as pictures, and the daily report in its three formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

MM = 300 / 25.4          # pixels per millimetre at 300 dpi


def _render(pdf_path, page_index=0, dpi=300):
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        return len(doc), doc[page_index].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()


def _mean_abs_diff(a, b):
    import numpy as np

    return float(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean())


def _print_version(store, id_number, geo, print_image, Image):
    state = store.person_state(id_number)
    camera = store.conn.execute("SELECT camera FROM captures WHERE id = ?", (state.accepted_capture_id,)).fetchone()[0]
    data = store.images.get(json.loads(camera)["crop_sha256"])
    return Image.open(io.BytesIO(print_image(data, geo.photo_w, geo.photo_h)))


@pytest.mark.parametrize("sheet,pages", [("a4", 2), ("6in", 3)])
def test_print_sheets_place_each_photo_in_its_cell(station, add_people, person, tmp_path, sheet, pages):
    import numpy as np
    from PIL import Image

    from station.export.sheets import geometry, print_image
    from station.store import open_store

    people = [person(i, department="物理学院") for i in range(5)] + \
             [person(i, department="化学学院") for i in range(5, 8)] + [person(8, paid_cents=0)]
    add_people(station.data_dir, people)
    out = tmp_path / "sheets.pdf"
    r = station.as_op("tech", "print", "sheets", "--out", str(out), "--sheet", sheet, "--json")
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert doc["photos"] == 8 and doc["pages"] == pages
    assert [m["reason"] for m in doc["not_printed"]] == ["unpaid"]
    geo = geometry(sheet)
    order = sorted(people[:8], key=lambda p: (p["department"], p["student_no"]))
    first_dept = [p for p in order if p["department"] == order[0]["department"]]
    n_pages, page = _render(out, 0)
    assert n_pages == pages
    assert abs(page.size[0] - geo.page_w * MM) <= 1.5 and abs(page.size[1] - geo.page_h * MM) <= 1.5
    with open_store(station.data_dir) as store:
        for index in range(geo.per_page):
            x, y = geo.cell(index)
            box = (round((x + 1) * MM), round((y + 1) * MM), round((x + geo.photo_w - 1) * MM),
                   round((y + geo.photo_h - 1) * MM))
            cell = page.crop(box)
            label = page.crop((box[0], round((y + geo.photo_h + 0.8) * MM), box[2],
                               round((y + geo.photo_h + 8) * MM))).convert("L")
            if index >= len(first_dept):
                assert np.asarray(cell.convert("L")).min() > 240, f"cell {index} should be empty"
                continue
            diffs = {}
            for p in first_dept:
                expected = _print_version(store, p["id_number"], geo, print_image, Image)
                expected = expected.crop((round(MM), round(MM), round(MM) + cell.width, round(MM) + cell.height))
                diffs[p["id_number"]] = _mean_abs_diff(cell, expected)
            mine = diffs.pop(first_dept[index]["id_number"])
            assert mine < 6 and all(mine * 1.5 < d for d in diffs.values()), (index, mine, diffs)
            assert np.asarray(label).min() < 100, f"no label text under cell {index}"


def test_print_sheets_need_a_technician(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(1)])
    r = station.as_op("photo", "print", "sheets", "--out", str(tmp_path / "s.pdf"))
    assert r.returncode == 2 and not (tmp_path / "s.pdf").exists()


def test_daily_report_csv_json_pdf(station, add_people, person, tmp_path):
    import numpy as np

    from station.store import open_store

    today = datetime.now(timezone(timedelta(hours=8))).date().isoformat()
    with open_store(station.data_dir) as store:
        store.insert("schedule_slots", {"slot_key": "S1", "date": today, "campus": "呈贡", "room": "A101",
                                        "start": "00:00", "end": "23:59", "departments": ["物理学院", "化学学院"],
                                        "expected_count": 10})
    people = [person(i) for i in range(6)]                       # 3 物理, 3 化学
    people[1]["decisions"] = ["reject", "reject", "accept"]      # two retakes
    people[2]["decisions"] = ["reject"]                          # still missing
    people[3]["paid_cents"] = 0
    add_people(station.data_dir, people)
    with open_store(station.data_dir) as store:                  # on the roster, never came
        store.insert("roster_entries", {"id_number": person(20)["id_number"], "name": "缺席者",
                                        "student_no": "2020000020", "department": "物理学院", "eligible": 1})

    r = station.as_op("tech", "report", "daily", "--date", today, "--format", "json")
    assert r.returncode == 0, r.stderr
    rep = r.json()
    totals = rep["totals"]
    assert (totals["expected"], totals["captured"], totals["accepted"], totals["retakes"], totals["missing"]) == (7, 6, 5, 3, 2)
    assert totals["fees"] == {"count": 5, "fee_yuan": 30.0, "total_yuan": 150.0, "web_yuan": 75.0,
                              "capture_yuan": 75.0, "received_yuan": 150.0}
    depts = {d["department"]: d for d in rep["slots"][0]["departments"]}
    assert sorted(m["name"] for m in depts["物理学院"]["missing"]) == ["学生002", "缺席者"]
    assert sum(rep["students_per_hour"].values()) == 5

    out = tmp_path / "daily.csv"
    r = station.as_op("tech", "report", "daily", "--date", today, "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert rows[0][:5] == ["场次", "地点", "开始", "结束", "院系"]
    assert rows[-1][0] == "合计" and rows[-1][5:10] == ["7", "6", "5", "3", "2"]
    phys = next(r for r in rows if r[4] == "物理学院")
    assert "缺席者" in phys[10] and "学生002" in phys[10]

    pdf = tmp_path / "daily.pdf"
    r = station.as_op("tech", "report", "daily", "--date", today, "--format", "pdf", "--out", str(pdf))
    assert r.returncode == 0, r.stderr
    pages, page = _render(pdf, 0, dpi=100)
    assert pages >= 1
    px = np.asarray(page).astype(int)
    bars = int(((px[..., 2] > 150) & (px[..., 0] < 100) & (px[..., 1] < 160)).sum())
    assert bars > 50, "the students-per-hour chart shows no bar"

    refused = station.as_op("photo", "report", "daily", "--date", today)
    assert refused.returncode == 2
