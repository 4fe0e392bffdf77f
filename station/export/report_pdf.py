"""The daily report as a one-glance PDF: the table of slots and departments, fees, missing names,
and a bar chart of students accepted per hour (drawn with rectangles: no plotting library needed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HEADERS = ("场次", "院系", "应到", "已采集", "已通过", "重拍", "未采集", "缴费人数", "应收(元)", "实收(元)")
WIDTHS = (22, 46, 14, 16, 16, 13, 16, 18, 20, 19)


def report_pdf(report: dict[str, Any], font: Path) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_font("cjk", fname=str(font))
    pdf.add_page()
    pdf.set_font("cjk", size=14)
    pdf.cell(0, 8, f"日报 Daily report  {report['date']}  {report.get('station_id', '')}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8)
    pdf.set_fill_color(230, 236, 245)
    for header, width in zip(HEADERS, WIDTHS, strict=True):
        pdf.cell(width, 6, header, border=1, align="C", fill=True)
    pdf.ln()
    for slot in report["slots"]:
        for d in slot["departments"]:
            values = (slot["slot"], d["department"], d["expected"], d["captured"], d["accepted"],
                      d["retakes"], len(d["missing"]), d["fees"]["count"],
                      f'{d["fees"]["total_yuan"]:.0f}', f'{d["fees"]["received_yuan"]:.0f}')
            _row(pdf, values)
    t = report["totals"]
    _row(pdf, ("合计", "", t["expected"], t["captured"], t["accepted"], t["retakes"], t["missing"],
               t["fees"]["count"], f'{t["fees"]["total_yuan"]:.0f}', f'{t["fees"]["received_yuan"]:.0f}'),
         bold_fill=True)
    pdf.ln(3)
    fees = t["fees"]
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(0, 5, f"费用：{fees['count']} 人 × {fees['fee_yuan']:.0f} 元 = {fees['total_yuan']:.2f} 元"
                         f"（网络维护费 {fees['web_yuan']:.2f} 元 + 采集认证费 {fees['capture_yuan']:.2f} 元）；"
                         f"实收 {fees['received_yuan']:.2f} 元", new_x="LMARGIN", new_y="NEXT")
    _chart(pdf, report.get("students_per_hour", {}))
    missing = [(slot["slot"], d["department"], m) for slot in report["slots"]
               for d in slot["departments"] for m in d["missing"]]
    if missing:
        pdf.ln(4)
        pdf.set_font("cjk", size=10)
        pdf.cell(0, 6, f"未采集名单 Missing ({len(missing)})", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)
        for slot_key, dept, m in missing:
            pdf.cell(0, 4.5, f"{slot_key}  {dept}  {m['student_no'] or ''}  {m['name']}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _row(pdf: Any, values: Iterable[object], bold_fill: bool = False) -> None:
    if bold_fill:
        pdf.set_fill_color(245, 245, 220)
    for value, width in zip(values, WIDTHS, strict=True):
        text = str(value)
        while pdf.get_string_width(text) > width - 1 and len(text) > 1:
            text = text[:-1]
        pdf.cell(width, 5.5, text, border=1, align="C", fill=bold_fill)
    pdf.ln()


def _chart(pdf: Any, per_hour: dict[str, int], height: float = 40) -> None:
    """Bars of students accepted per hour, 07–20 h, labelled with counts."""
    pdf.ln(3)
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 6, "每小时采集人数 Students per hour", new_x="LMARGIN", new_y="NEXT")
    hours = [f"{h:02d}" for h in range(7, 21)]
    hours += sorted(h for h in per_hour if h not in hours)
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
