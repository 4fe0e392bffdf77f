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
from dataclasses import dataclass
from typing import Any

from station.export.selection import local_date
from station.export.snapshot import Person, Snapshot, wall_ms

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


def _group_stats(people: list[Person], date: str, offset: float, fees: FeeSplit, expected: int | None) -> dict[str, Any]:
    captured = accepted = retakes = paid = 0
    received = 0
    missing = []
    for p in people:
        today = [c for c in p.captures if local_date(c.at_ms, offset) == date]
        if today:
            captured += 1
        if any(c.decision == "accept" for c in today):
            accepted += 1
        retakes += sum(1 for c in today if c.decision == "reject")
        day_payments = [cents for hlc, cents in p.payment_list if local_date(wall_ms(hlc), offset) == date]
        if day_payments:
            paid += 1
            received += sum(day_payments)
        if p.on_roster and p.accepted is None:
            missing.append({"id_number": p.id_number, "name": p.name, "student_no": p.student_no})
    return {
        "expected": expected if expected is not None else sum(1 for p in people if p.on_roster),
        "captured": captured, "accepted": accepted, "retakes": retakes,
        "missing": sorted(missing, key=lambda m: (m["student_no"] or "", m["id_number"])),
        "fees": {"count": paid, "fee_yuan": fees.fee_cents / 100,
                 "total_yuan": paid * fees.fee_cents / 100,
                 "web_yuan": paid * fees.web_cents / 100, "capture_yuan": paid * fees.capture_cents / 100,
                 "received_yuan": received / 100},
    }


def daily_report(snap: Snapshot, date: str, *, offset: float = 8, fees: FeeSplit | None = None) -> dict[str, Any]:
    fees = fees or FeeSplit()
    slots = [s for s in snap.slots if s.date == date]
    groups: dict[tuple[str, str], list[Person]] = {}
    placed: set[str] = set()
    for slot in slots:
        for dept in slot.departments:
            members = [p for p in snap.persons.values() if p.department == dept and p.id_number not in placed]
            groups[(slot.key, dept)] = members
            placed.update(p.id_number for p in members)
    for p in snap.persons.values():               # captured today but in no slot of the day
        if p.id_number not in placed and any(local_date(c.at_ms, offset) == date for c in p.captures):
            groups.setdefault((UNSCHEDULED, p.department or ""), []).append(p)
    slot_rows = []
    by_key = {s.key: s for s in slots}
    for key in [s.key for s in slots] + ([UNSCHEDULED] if any(k == UNSCHEDULED for k, _ in groups) else []):
        slot = by_key.get(key)
        depts = []
        for (skey, dept), people in sorted(groups.items()):
            if skey != key:
                continue
            depts.append({"department": dept, **_group_stats(people, date, offset, fees, None)})
        slot_rows.append({
            "slot": key, "campus": slot.campus if slot else "", "room": slot.room if slot else "",
            "start": slot.start if slot else "", "end": slot.end if slot else "",
            "expected_count": slot.expected_count if slot else None, "departments": depts,
        })
    everyone = [p for people in groups.values() for p in people]
    per_hour = Counter(_hour(c.at_ms, offset) for p in everyone for c in p.captures
                       if c.decision == "accept" and local_date(c.at_ms, offset) == date)
    totals = _group_stats(everyone, date, offset, fees, None)
    totals["missing"] = len(totals["missing"])
    return {"date": date, "station_id": snap.station_id, "slots": slot_rows, "totals": totals,
            "students_per_hour": dict(sorted(per_hour.items()))}


CSV_COLUMNS = (
    ("slot", "场次"), ("room", "地点"), ("start", "开始"), ("end", "结束"), ("department", "院系"),
    ("expected", "应到"), ("captured", "已采集"), ("accepted", "已通过"), ("retakes", "重拍"),
    ("missing_count", "未采集人数"), ("missing_names", "未采集名单"), ("fee_count", "缴费人数"),
    ("fee_total", "应收金额"), ("fee_web", "网络维护费"), ("fee_capture", "采集认证费"),
    ("fee_received", "实收金额"),
)


def report_csv(report: dict[str, Any]) -> bytes:
    """UTF-8 with BOM so that Excel on Windows opens the Chinese headers correctly."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([zh for _, zh in CSV_COLUMNS])
    for slot in report["slots"]:
        for d in slot["departments"]:
            row = {"slot": slot["slot"], "room": slot["room"], "start": slot["start"], "end": slot["end"],
                   "department": d["department"], "expected": d["expected"], "captured": d["captured"],
                   "accepted": d["accepted"], "retakes": d["retakes"], "missing_count": len(d["missing"]),
                   "missing_names": "、".join(m["name"] for m in d["missing"]),
                   "fee_count": d["fees"]["count"], "fee_total": f'{d["fees"]["total_yuan"]:.2f}',
                   "fee_web": f'{d["fees"]["web_yuan"]:.2f}', "fee_capture": f'{d["fees"]["capture_yuan"]:.2f}',
                   "fee_received": f'{d["fees"]["received_yuan"]:.2f}'}
            writer.writerow([row[k] for k, _ in CSV_COLUMNS])
    t = report["totals"]
    writer.writerow(["合计", "", "", "", "", t["expected"], t["captured"], t["accepted"], t["retakes"],
                     t["missing"], "", t["fees"]["count"], f'{t["fees"]["total_yuan"]:.2f}',
                     f'{t["fees"]["web_yuan"]:.2f}', f'{t["fees"]["capture_yuan"]:.2f}',
                     f'{t["fees"]["received_yuan"]:.2f}'])
    return buf.getvalue().encode("utf-8-sig")


def report_json(report: dict[str, Any]) -> bytes:
    return (json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
