"""The daily report as a one-glance PDF: the table of slots and departments, fees, missing names,
people not eligible, and a bar chart of students accepted per hour (drawn with rectangles: no
plotting library needed).

Landscape A4 so that every column fits; a cell whose text is too wide is set in a smaller font,
never cut ("2017-10-25 08:0" was the old truncation of a slot).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HEADERS = ("场次", "院系", "学校代码", "应到", "已通过", "当日", "此前", "未采集", "他日场次", "当日拍摄", "重拍",
           "不符合条件", "缴费人数", "应收(元)", "实收(元)")
WIDTHS = (28, 44, 16, 13, 15, 13, 13, 15, 17, 17, 13, 19, 17, 17, 17)
MIN_FONT = 5.0
FONT = 8.0


def slot_label(slot: dict[str, Any]) -> str:
    """A slot as a reader of the day's report needs it: its hours (the date is in the title)."""
    if slot.get("start") or slot.get("end"):
        return f"{slot.get('start', '')}–{slot.get('end', '')}"
    return "其他 / other" if slot.get("slot") == "-" else str(slot.get("slot", ""))


def report_pdf(report: dict[str, Any], font: Path) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_font("cjk", fname=str(font))
    pdf.add_page()
    pdf.set_font("cjk", size=14)
    pdf.cell(0, 8, f"日报 Daily report  {report['date']}  {report.get('station_id', '')}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=FONT)
    pdf.set_fill_color(230, 236, 245)
    for header, width in zip(HEADERS, WIDTHS, strict=True):
        _cell(pdf, header, width, fill=True)
    pdf.ln()
    for slot in report["slots"]:
        for d in slot["departments"]:
            _row(pdf, (slot_label(slot), d["department"], d.get("school_code") or "", *_numbers(d)))
    t = report["totals"]
    _row(pdf, ("合计", "", "", *_numbers(t)), bold_fill=True)
    pdf.ln(3)
    fees = t["fees"]
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(0, 5, f"应到 = 已通过 + 未采集（只计符合采集条件的名单学生）；他日场次 = 当日通过但不属于当日场次"
                         f"（{t['unexpected_today']} 人）；不符合采集条件 {t['ineligible']} 人，其中当日拍摄 "
                         f"{t['ineligible_captured']} 人，不计入应到。", new_x="LMARGIN", new_y="NEXT")
    if t.get("off_roster"):
        pdf.multi_cell(0, 5, f"不在本站名单上（未导入该校名单）的当日拍摄 {t['off_roster']} 人：姓名取自身份证，"
                             f"学号、院系为空（院系一栏空白）。", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, f"费用：{fees['count']} 人 × {fees['fee_yuan']:.0f} 元 = {fees['total_yuan']:.2f} 元"
                         f"（网络维护费 {fees['web_yuan']:.2f} 元 + 采集认证费 {fees['capture_yuan']:.2f} 元）；"
                         f"实收 {fees['received_yuan']:.2f} 元", new_x="LMARGIN", new_y="NEXT")
    _chart(pdf, report.get("students_per_hour", {}))
    missing = [(slot_label(slot), d["department"], d.get("school_code") or "", m)
               for slot in report["slots"] for d in slot["departments"] for m in d["missing"]]
    if missing:
        pdf.ln(4)
        pdf.set_font("cjk", size=10)
        pdf.cell(0, 6, f"未采集名单 Missing ({len(missing)})", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)
        for label, dept, school, m in missing:
            pdf.cell(0, 4.5, f"{label}  {dept}  {school}  {m['student_no'] or ''}  {m['name']}",
                     new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _numbers(d: dict[str, Any]) -> tuple[Any, ...]:
    missing = len(d["missing"]) if isinstance(d["missing"], list) else d["missing"]
    return (d["expected"], d["accepted"], d["accepted_today"], d["accepted_before"], missing,
            d["unexpected_today"], d["captured"], d["retakes"], d["ineligible"], d["fees"]["count"], f'{d["fees"]["total_yuan"]:.0f}',
            f'{d["fees"]["received_yuan"]:.0f}')


def _cell(pdf: Any, text: str, width: float, fill: bool = False) -> None:
    """One table cell; the font shrinks (down to MIN_FONT) until the text fits."""
    size = FONT
    pdf.set_font("cjk", size=size)
    while pdf.get_string_width(text) > width - 1 and size > MIN_FONT:
        size -= 0.5
        pdf.set_font("cjk", size=size)
    pdf.cell(width, 5.5, text, border=1, align="C", fill=fill)
    pdf.set_font("cjk", size=FONT)


def _row(pdf: Any, values: tuple[Any, ...], bold_fill: bool = False) -> None:
    if bold_fill:
        pdf.set_fill_color(245, 245, 220)
    for value, width in zip(values, WIDTHS, strict=True):
        _cell(pdf, str(value), width, fill=bold_fill)
    pdf.ln()


def chart_hours(per_hour: dict[str, int]) -> list[str]:
    """The hour axis: 07–20 and any other hour with captures, in clock order (05 before 07)."""
    hours = {f"{h:02d}" for h in range(7, 21)} | {h for h in per_hour if h.isdigit()}
    return sorted(hours, key=int)


def _chart(pdf: Any, per_hour: dict[str, int], height: float = 40) -> None:
    """Bars of students accepted per hour, labelled with counts."""
    pdf.ln(3)
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 6, "每小时采集人数 Students per hour", new_x="LMARGIN", new_y="NEXT")
    hours = chart_hours(per_hour)
    peak = max([per_hour.get(h, 0) for h in hours] + [1])
    x0, y0 = pdf.l_margin + 8, pdf.get_y() + 2
    bar_w = (pdf.w - pdf.l_margin - pdf.r_margin - 10) / len(hours)
    pdf.set_draw_color(120, 120, 120)
    pdf.line(x0, y0 + height, x0 + bar_w * len(hours), y0 + height)
    pdf.set_font("cjk", size=7)
    for i, h in enumerate(hours):
        n = per_hour.get(h, 0)
        bar_h = height * n / peak
        x = x0 + i * bar_w
        if n:
            pdf.set_fill_color(60, 120, 200)
            pdf.rect(x + bar_w * 0.15, y0 + height - bar_h, bar_w * 0.7, bar_h, style="F")
            pdf.text(x + bar_w * 0.3, y0 + height - bar_h - 1, str(n))
        pdf.text(x + bar_w * 0.3, y0 + height + 3.5, h)
    pdf.set_y(y0 + height + 6)
