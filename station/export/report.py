"""The daily report: per slot and department, who was expected, captured, accepted, retaken, missing,
and the fees (count × 30 yuan = total, split 15 web/maintenance + 15 capture/certification).

``daily_report(snapshot, date)`` is a pure function returning plain data; CSV, JSON and PDF are
renderings of it, so the three formats always agree.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from station.export.campaign import breakdown
from station.export.csvcell import neutralise
from station.export.selection import local_date
from station.export.slots import home_slot
from station.store.people import Capture, Person, Snapshot, wall_ms

UNSCHEDULED = "-"


@dataclass(frozen=True)
class FeeSplit:
    fee_cents: int = 3000
    web_cents: int = 1500
    capture_cents: int = 1500


def _hour(ms: int, offset: float) -> str:
    import datetime as dt

    from station.export.record import local_zone

    return f"{dt.datetime.fromtimestamp(ms / 1000, tz=local_zone(offset)).hour:02d}"


def _end_of_day_ms(date: str, offset: float) -> int:
    import datetime as dt

    from station.export.record import local_zone

    day = dt.datetime.fromisoformat(date).replace(tzinfo=local_zone(offset)) + dt.timedelta(days=1)
    return int(day.timestamp() * 1000) - 1


def _accepted_by(p: Person, end_ms: int) -> Capture | None:
    """The person's accepted capture as it stood at ``end_ms`` (a report of a past day does not
    change when people come later)."""
    done = [c for c in p.captures if c.decision == "accept" and wall_ms(c.decided_hlc) <= end_ms]
    return max(done, key=lambda c: c.decided_hlc or "") if done else None


def _group_stats(people: list[Person], date: str, offset: float, fees: FeeSplit, end_ms: int,
                 expected_here: bool) -> dict[str, Any]:
    """Counts of one slot × department that add up: expected = accepted + missing.

    Only eligible roster people are expected (and can be missing); ineligible ones are counted on
    their own line. ``accepted`` counts the expected who have an accepted photo by the end of the
    day, split into today and an earlier day. People photographed today who were expected on
    another day (or not at all: walk-ins) sit in the unscheduled group as ``unexpected_today``,
    expected nowhere today; on their own slot's day they count as accepted on an earlier day.
    """
    expected = [p for p in people if p.on_roster and p.eligible] if expected_here else []
    accepted_today = accepted_before = captured = retakes = paid = received = 0
    missing = []
    for p in expected:
        cap = _accepted_by(p, end_ms)
        if cap is None:
            missing.append({"id_number": p.id_number, "name": p.name, "student_no": p.student_no})
        elif local_date(wall_ms(cap.decided_hlc), offset) == date:
            accepted_today += 1
        else:
            accepted_before += 1
    unexpected = 0
    for p in people:
        today = [c for c in p.captures if local_date(c.at_ms, offset) == date]
        captured += bool(today)
        retakes += sum(1 for c in today if c.decision == "reject")
        if not expected_here and any(c.decision == "accept" for c in today):
            unexpected += 1
        day_payments = [cents for hlc, cents in p.payment_list if local_date(wall_ms(hlc), offset) == date]
        if day_payments:
            paid += 1
            received += sum(day_payments)
    ineligible = [p for p in people if p.on_roster and not p.eligible]
    # photographed today, on no roster here (a walk-in of a school whose roster is not imported):
    # the card's name, no student number or department
    off_roster = sum(1 for p in people if not p.roster_school
                     and any(local_date(c.at_ms, offset) == date for c in p.captures))
    return {
        "expected": len(expected),
        "accepted": accepted_today + accepted_before,
        "accepted_today": accepted_today, "accepted_before": accepted_before,
        "unexpected_today": unexpected,
        "captured": captured, "retakes": retakes,
        "missing": sorted(missing, key=lambda m: (m["student_no"] or "", m["id_number"])),
        "ineligible": len(ineligible),
        "ineligible_captured": sum(1 for p in ineligible if any(local_date(c.at_ms, offset) == date
                                                               for c in p.captures)),
        "off_roster": off_roster,
        "fees": {"count": paid, "fee_yuan": fees.fee_cents / 100,
                 "total_yuan": paid * fees.fee_cents / 100,
                 "web_yuan": paid * fees.web_cents / 100, "capture_yuan": paid * fees.capture_cents / 100,
                 "received_yuan": received / 100},
    }


def daily_report(snap: Snapshot, date: str, *, offset: float = 8, fees: FeeSplit | None = None,
                 station_schools: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The day's report; ``station_schools`` (station id → school code, ``store.campaign``) adds
    the day per station and per university (``export.campaign``)."""
    fees = fees or FeeSplit()
    end_ms = _end_of_day_ms(date, offset)
    slots = sorted((s for s in snap.slots if s.date == date), key=lambda s: (s.start, s.key))
    # (slot, school, department): another school's walk-ins are their own rows, never the home's
    groups: dict[tuple[str, str, str], list[Person]] = {}
    placed: set[str] = set()
    # a department in two slots of the day: each person counts in the slot their capture fell in
    home = {p.id_number: home_slot(p, slots, offset) for p in snap.persons.values() if p.on_roster}
    for slot in slots:
        for dept in slot.departments:
            members = [p for p in snap.persons.values() if p.on_roster and p.department == dept
                       and p.id_number not in placed and home[p.id_number] == slot.key]
            groups[(slot.key, snap.school_code, dept)] = members
            placed.update(p.id_number for p in members)
    for p in snap.persons.values():     # photographed today, expected in no slot of today
        if p.id_number not in placed and any(local_date(c.at_ms, offset) == date for c in p.captures):
            groups.setdefault((UNSCHEDULED, snap.school_of(p), p.department or ""), []).append(p)
    slot_rows = []
    by_key = {s.key: s for s in slots}
    keys = [s.key for s in slots] + ([UNSCHEDULED] if any(k == UNSCHEDULED for k, _, _ in groups) else [])
    for key in keys:
        slot = by_key.get(key)
        depts = [{"department": dept, "school_code": school,
                  **_group_stats(people, date, offset, fees, end_ms, key != UNSCHEDULED)}
                 for (skey, school, dept), people in sorted(groups.items()) if skey == key]
        slot_rows.append({
            "slot": key, "campus": slot.campus if slot else "", "room": slot.room if slot else "",
            "start": slot.start if slot else "", "end": slot.end if slot else "",
            "expected_count": slot.expected_count if slot else None, "departments": depts,
        })
    rows = [d for slot in slot_rows for d in slot["departments"]]
    totals: dict[str, Any] = {k: sum(d[k] for d in rows) for k in (
        "expected", "accepted", "accepted_today", "accepted_before", "unexpected_today", "captured", "retakes",
        "ineligible", "ineligible_captured", "off_roster")}
    totals["missing"] = sum(len(d["missing"]) for d in rows)
    count = sum(d["fees"]["count"] for d in rows)
    totals["fees"] = {"count": count, "fee_yuan": fees.fee_cents / 100, "total_yuan": count * fees.fee_cents / 100,
                      "web_yuan": count * fees.web_cents / 100, "capture_yuan": count * fees.capture_cents / 100,
                      "received_yuan": round(sum(d["fees"]["received_yuan"] for d in rows), 2)}
    everyone = [p for people in groups.values() for p in people]
    per_hour = Counter(_hour(c.at_ms, offset) for p in everyone for c in p.captures
                       if c.decision == "accept" and local_date(c.at_ms, offset) == date)
    report = {"date": date, "station_id": snap.station_id, "slots": slot_rows, "totals": totals,
              "students_per_hour": dict(sorted(per_hour.items()))}
    if station_schools is not None:
        report.update(breakdown(everyone, date, offset, snap.school_code, station_schools))
    return report


def mask_missing_ids(report: dict[str, Any]) -> None:
    """Mask the ID numbers of the missing lists in place (530***********1234): the report is
    printed on screens and passed around; the name and student number find the student, and the
    full numbers are given only on explicit request (``--full-ids``, recorded in the audit log)."""
    from station.privacy import mask_id

    for slot in report["slots"]:
        for d in slot["departments"]:
            if isinstance(d["missing"], list):
                for m in d["missing"]:
                    m["id_number"] = mask_id(m["id_number"])


CSV_COLUMNS = (
    ("slot", "场次"), ("room", "地点"), ("start", "开始"), ("end", "结束"), ("department", "院系"),
    ("school_code", "学校代码"), ("expected", "应到"), ("accepted", "已通过"), ("accepted_today", "其中当日"),
    ("accepted_before", "其中此前"), ("missing_count", "未采集人数"), ("missing_names", "未采集名单"),
    ("unexpected_today", "非本日场次当日通过"),
    ("captured", "当日拍摄人数"), ("retakes", "重拍"), ("ineligible", "不符合采集条件（不计入应到）"),
    ("fee_count", "缴费人数"), ("fee_total", "应收金额"), ("fee_web", "网络维护费"),
    ("fee_capture", "采集认证费"), ("fee_received", "实收金额"),
)
INELIGIBLE_LINE = "不符合采集条件（不计入应到）"


def _csv_row(label: dict[str, Any], d: dict[str, Any]) -> list[Any]:
    f = d["fees"]
    row = {**label, "expected": d["expected"], "accepted": d["accepted"], "accepted_today": d["accepted_today"],
           "accepted_before": d["accepted_before"], "unexpected_today": d["unexpected_today"],
           "missing_count": len(d["missing"]) if isinstance(d["missing"], list) else d["missing"],
           "missing_names": "、".join(m["name"] for m in d["missing"]) if isinstance(d["missing"], list) else "",
           "captured": d["captured"], "retakes": d["retakes"], "ineligible": d["ineligible"],
           "fee_count": f["count"], "fee_total": f'{f["total_yuan"]:.2f}', "fee_web": f'{f["web_yuan"]:.2f}',
           "fee_capture": f'{f["capture_yuan"]:.2f}', "fee_received": f'{f["received_yuan"]:.2f}'}
    return [neutralise(row.get(k, "")) for k, _ in CSV_COLUMNS]


def report_csv(report: dict[str, Any]) -> bytes:
    """UTF-8 with BOM so that Excel on Windows opens the Chinese headers correctly. Each row adds
    up (应到 = 已通过 + 未采集); people not eligible are their own column and their own line."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([zh for _, zh in CSV_COLUMNS])
    for slot in report["slots"]:
        for d in slot["departments"]:
            writer.writerow(_csv_row({"slot": slot["slot"], "room": slot["room"], "start": slot["start"],
                                      "end": slot["end"], "department": d["department"],
                                      "school_code": d.get("school_code", "")}, d))
    t = report["totals"]
    writer.writerow(_csv_row({"slot": "合计"}, t))
    line = [""] * len(CSV_COLUMNS)
    line[0] = INELIGIBLE_LINE
    line[[k for k, _ in CSV_COLUMNS].index("ineligible")] = t["ineligible"]
    writer.writerow(line)
    return buf.getvalue().encode("utf-8-sig")


def report_json(report: dict[str, Any]) -> bytes:
    return (json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
