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


@pytest.mark.parametrize("sheet,pages", [("a4", 1), ("6in", 2)])
def test_print_sheets_place_each_photo_in_its_cell(station, add_people, person, tmp_path, sheet, pages):
    import numpy as np
    from PIL import Image

    from station.export.sheets import geometry, print_image
    from station.store import open_store

    people = [person(i, department="物理学院") for i in range(5)] + \
             [person(i, department="化学学院") for i in range(5, 8)] + [person(8, paid_cents=0)] + \
             [person(9, verified=False)]
    add_people(station.data_dir, people)
    out = tmp_path / "sheets.pdf"
    r = station.as_op("tech", "print", "sheets", "--out", str(out), "--sheet", sheet, "--json")
    assert r.returncode == 0, r.stderr
    doc = r.json()
    assert doc["photos"] == 8 and doc["pages"] == pages
    # the typed identity is left out as the export leaves it out (issue 13.2: sheets and exports agree)
    assert sorted(m["reason"] for m in doc["not_printed"]) == ["unpaid", "unverified"]
    built = station.as_op("tech", "export", "build", "--out", str(tmp_path / "b"), "--json").json()
    assert {s["reason"] for s in built["not_in_batch"]} == {"unpaid", "unverified"}
    geo = geometry(sheet)
    # packed in department order, pages filled before a new one starts (no page per department)
    on_page = sorted(people[:8], key=lambda p: (p["department"], p["student_no"]))[:geo.per_page]
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
            if index >= len(on_page):
                assert np.asarray(cell.convert("L")).min() > 240, f"cell {index} should be empty"
                continue
            diffs = {}
            for p in on_page:
                expected = _print_version(store, p["id_number"], geo, print_image, Image)
                expected = expected.crop((round(MM), round(MM), round(MM) + cell.width, round(MM) + cell.height))
                diffs[p["id_number"]] = _mean_abs_diff(cell, expected)
            mine = diffs.pop(on_page[index]["id_number"])
            assert mine < 6 and all(mine * 1.5 < d for d in diffs.values()), (index, mine, diffs)
            assert np.asarray(label).min() < 100, f"no label text under cell {index}"


def test_print_sheets_need_a_technician(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(1)])
    r = station.as_op("photo", "print", "sheets", "--out", str(tmp_path / "s.pdf"))
    assert r.returncode == 2 and not (tmp_path / "s.pdf").exists()


def _pdf_text(path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def test_daily_report_adds_up(station, add_people, person, tmp_path):
    """应到 = 已通过 + 未采集, eligible people only; the ineligible on their own line; a student of
    tomorrow's slot photographed today counts today as 'another day's slot' and tomorrow as
    accepted earlier (issue 13.10)."""
    import numpy as np

    from station.store import open_store

    zone = timezone(timedelta(hours=8))
    today = datetime.now(zone).date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    today = today.isoformat()
    with open_store(station.data_dir) as store:
        store.insert("schedule_slots", {"slot_key": "S1", "date": today, "campus": "呈贡", "room": "A101",
                                        "start": "00:00", "end": "23:59", "departments": ["物理学院", "化学学院"],
                                        "expected_count": 10})
        store.insert("schedule_slots", {"slot_key": "S2", "date": tomorrow, "campus": "呈贡", "room": "A102",
                                        "start": "08:00", "end": "09:00", "departments": ["文学院"],
                                        "expected_count": 1})
    people = [person(i) for i in range(6)]                       # 3 物理, 3 化学
    people[1]["decisions"] = ["reject", "reject", "accept"]      # two retakes
    people[2]["decisions"] = ["reject"]                          # still missing
    people[3]["paid_cents"] = 0
    people.append(person(7, department="文学院"))                 # tomorrow's slot, came today
    add_people(station.data_dir, people)
    with open_store(station.data_dir) as store:                  # on the roster, never came
        store.insert("roster_entries", {"id_number": person(20)["id_number"], "name": "缺席者",
                                        "student_no": "2020000020", "department": "物理学院", "eligible": 1})
        store.insert("roster_entries", {"id_number": person(21)["id_number"], "name": "在职者",
                                        "student_no": "2020000021", "department": "物理学院", "eligible": 0})

    r = station.as_op("tech", "report", "daily", "--date", today, "--format", "json")
    assert r.returncode == 0, r.stderr
    rep = r.json()
    totals = rep["totals"]
    assert (totals["expected"], totals["accepted"], totals["missing"]) == (7, 5, 2)
    assert totals["expected"] == totals["accepted"] + totals["missing"]
    assert (totals["accepted_today"], totals["accepted_before"], totals["unexpected_today"]) == (5, 0, 1)
    assert (totals["captured"], totals["retakes"], totals["ineligible"]) == (7, 3, 1)
    assert totals["fees"] == {"count": 6, "fee_yuan": 30.0, "total_yuan": 180.0, "web_yuan": 90.0,
                              "capture_yuan": 90.0, "received_yuan": 180.0}
    for slot in rep["slots"]:
        for d in slot["departments"]:
            assert d["expected"] == d["accepted"] + len(d["missing"]), (slot["slot"], d)
    depts = {d["department"]: d for d in rep["slots"][0]["departments"]}
    assert sorted(m["name"] for m in depts["物理学院"]["missing"]) == ["学生002", "缺席者"]   # not 在职者
    assert depts["物理学院"]["ineligible"] == 1
    other = rep["slots"][-1]
    assert other["slot"] == "-" and [d["unexpected_today"] for d in other["departments"]] == [1]
    assert sum(rep["students_per_hour"].values()) == 6

    later = station.as_op("tech", "report", "daily", "--date", tomorrow, "--format", "json").json()
    (wen,) = later["slots"][0]["departments"]
    assert (wen["expected"], wen["accepted"], wen["accepted_before"], wen["missing"]) == (1, 1, 1, [])

    # export build does not call the ineligible person "not captured yet"
    built = station.as_op("tech", "export", "build", "--out", str(tmp_path / "b"), "--json").json()
    from station.privacy import mask_id
    reasons = {s["id_number"]: s["reason"] for s in built["not_in_batch"]}
    assert reasons.get(mask_id(person(20)["id_number"])) == "not_captured"
    assert mask_id(person(21)["id_number"]) not in reasons

    out = tmp_path / "daily.csv"
    r = station.as_op("tech", "report", "daily", "--date", today, "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    header = rows[0]
    assert header[:5] == ["场次", "地点", "开始", "结束", "院系"]
    col = {name: header.index(name) for name in ("应到", "已通过", "未采集人数", "未采集名单")}
    total = next(r for r in rows if r[0] == "合计")
    assert [total[col[k]] for k in ("应到", "已通过", "未采集人数")] == ["7", "5", "2"]
    phys = next(r for r in rows if r[4] == "物理学院")
    assert "缺席者" in phys[col["未采集名单"]] and "在职者" not in phys[col["未采集名单"]]
    assert rows[-1][0] == "不符合采集条件（不计入应到）" and "1" in rows[-1]

    pdf = tmp_path / "daily.pdf"
    r = station.as_op("tech", "report", "daily", "--date", tomorrow, "--format", "pdf", "--out", str(pdf))
    assert r.returncode == 0, r.stderr
    assert "08:00–09:00" in _pdf_text(pdf)                       # the slot in full, not "…08:0"
    r = station.as_op("tech", "report", "daily", "--date", today, "--format", "pdf", "--out", str(pdf))
    assert r.returncode == 0, r.stderr
    pages, page = _render(pdf, 0, dpi=100)
    assert pages >= 1
    px = np.asarray(page).astype(int)
    bars = int(((px[..., 2] > 150) & (px[..., 0] < 100) & (px[..., 1] < 160)).sum())
    assert bars > 50, "the students-per-hour chart shows no bar"

    refused = station.as_op("photo", "report", "daily", "--date", today)
    assert refused.returncode == 2


def test_hour_axis_is_in_clock_order():
    from station.export.report_pdf import chart_hours

    hours = chart_hours({"05": 3, "21": 1, "09": 7})
    assert hours == sorted(hours, key=int) and hours[0] == "05" and hours[-1] == "21"
    assert "07" in hours and "20" in hours


def test_printing_sheets_leaves_no_name_in_the_log(station, add_people, person, tmp_path):
    """The PDF's font is subset to the glyphs of the names on the sheets; fontTools logs that
    glyph list (uni90B5 …) at INFO: the station's log must not spell the names out that way."""
    people = [person(1, name="邵露真"), person(2, name="袁欣莺")]
    add_people(station.data_dir, people)
    r = station.as_op("tech", "print", "sheets", "--out", str(tmp_path / "s.pdf"))
    assert r.returncode == 0, r.stderr
    log = (station.data_dir / "logs" / "station.log").read_text("utf-8")
    for p in people:
        for ch in p["name"]:
            assert f"uni{ord(ch):04X}" not in log, ch
        assert p["name"] not in log and p["id_number"] not in log


def test_report_without_format_takes_it_from_the_out_files_suffix(station, add_people, person, tmp_path):
    """`report daily --out 日报.pdf` wrote JSON into a file named .pdf (the default was json
    whatever the name); the suffix now decides when --format is not given, and --format wins."""
    add_people(station.data_dir, [person(0)])
    for name, start in (("日报.pdf", b"%PDF"), ("日报.csv", "场次".encode("utf-8-sig")),
                        ("日报.json", b"{"), ("日报.txt", b"{")):
        r = station.as_op("tech", "report", "daily", "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
        assert (tmp_path / name).read_bytes().startswith(start), name
    r = station.as_op("tech", "report", "daily", "--format", "json", "--out", str(tmp_path / "x.pdf"))
    assert r.returncode == 0 and (tmp_path / "x.pdf").read_bytes().startswith(b"{")


def test_print_sheets_say_why_someone_is_not_printed_as_the_export_says_it(station, add_people, person, tmp_path):
    """Sheets and exports agree on who is done (issue 13.2), and now on why someone is not: a
    student never photographed was 'not_accepted' on the sheets and 'not_captured' in the
    export's report; a rejected photo was 'not_accepted' there and 'rejected' here."""
    from station.store import open_store

    add_people(station.data_dir, [person(0), person(1, decisions=["reject"]), person(2, decisions=[None])])
    with open_store(station.data_dir) as store:
        store.insert("roster_entries", {"id_number": person(3)["id_number"], "name": "未到者",
                                        "student_no": "2020000003", "department": "物理学院", "eligible": 1})
    sheets = station.as_op("tech", "print", "sheets", "--out", str(tmp_path / "s.pdf"), "--json")
    assert sheets.returncode == 0, sheets.stderr
    built = station.as_op("tech", "export", "build", "--out", str(tmp_path / "b"), "--json")
    assert built.returncode == 0, built.stderr
    printed = {m["id_number"]: m["reason"] for m in sheets.json()["not_printed"]}
    exported = {m["id_number"]: m["reason"] for m in built.json()["not_in_batch"]}
    assert printed == exported, (printed, exported)
    assert sorted(printed.values()) == ["not_accepted", "not_captured", "rejected"]
