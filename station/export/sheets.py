"""Print sheets of diploma photos: each photo at the profile's print size, name, number and
department below.

Photos are packed on A4 or 6-inch (4×6 in) sheets in a grid, in department order without a new
sheet per department (a department of 2–3 photos used to waste a page); each label names the
department and the page header lists the departments on it. Photos are resampled to the print
size at 300 dpi, so the printer does not scale them. The geometry is a pure function, so tests
can find each photo cell again in a rendered page.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from station.export.profile import BatchProfile
from station.store.facts import is_paid
from station.store.people import Snapshot

SHEETS_MM = {"a4": (210.0, 297.0), "6in": (101.6, 152.4)}
MARGIN_MM = {"a4": 10.0, "6in": 5.0}
HEADER_MM = 8.0
LABEL_MM = 12.0
GAP_X_MM = 5.0
GAP_Y_MM = 3.0


@dataclass(frozen=True)
class SheetEntry:
    department: str
    name: str
    student_no: str
    sha256: str


@dataclass(frozen=True)
class Geometry:
    sheet: str
    page_w: float
    page_h: float
    photo_w: float
    photo_h: float
    cols: int
    rows: int
    left: float
    top: float

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    def cell(self, index: int) -> tuple[float, float]:
        """Top-left corner (mm) of the photo in cell ``index`` of a page (row-major)."""
        row, col = divmod(index, self.cols)
        return (self.left + col * (self.photo_w + GAP_X_MM),
                self.top + row * (self.photo_h + LABEL_MM + GAP_Y_MM))


def geometry(sheet: str, photo_w_mm: float = 35, photo_h_mm: float = 49) -> Geometry:
    page_w, page_h = SHEETS_MM[sheet]
    margin = MARGIN_MM[sheet]
    usable_w = page_w - 2 * margin
    usable_h = page_h - 2 * margin - HEADER_MM
    cols = max(1, int((usable_w + GAP_X_MM) // (photo_w_mm + GAP_X_MM)))
    rows = max(1, int((usable_h + GAP_Y_MM) // (photo_h_mm + LABEL_MM + GAP_Y_MM)))
    grid_w = cols * photo_w_mm + (cols - 1) * GAP_X_MM
    left = (page_w - grid_w) / 2
    return Geometry(sheet, page_w, page_h, photo_w_mm, photo_h_mm, cols, rows, left, margin + HEADER_MM)


def print_image(jpeg: bytes, width_mm: float, height_mm: float, dpi: int = 300) -> bytes:
    """The photo cropped to the print aspect (centred) and resampled to exactly ``dpi``."""
    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as source:
        im = source.convert("RGB")
        target = (round(width_mm / 25.4 * dpi), round(height_mm / 25.4 * dpi))
        aspect = target[0] / target[1]
        w, h = im.size
        if w / h > aspect:             # too wide: trim the sides
            new_w = round(h * aspect)
            box = ((w - new_w) // 2, 0, (w - new_w) // 2 + new_w, h)
        else:                          # too tall: trim top and bottom equally
            new_h = round(w / aspect)
            box = (0, (h - new_h) // 2, w, (h - new_h) // 2 + new_h)
        out = im.crop(box).resize(target, Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=95, dpi=(dpi, dpi))
        return buf.getvalue()


def render_sheets(entries: list[SheetEntry], read_image: Callable[[str], bytes], font: Path, *,
                  sheet: str = "a4", photo_w_mm: float = 35, photo_h_mm: float = 49, dpi: int = 300,
                  title: str = "", progress: Callable[[int, int, str], None] | None = None) -> tuple[bytes, int]:
    """The PDF bytes and the page count. Entries are placed in the order given, page after page."""
    from fpdf import FPDF

    geo = geometry(sheet, photo_w_mm, photo_h_mm)
    pdf = FPDF(unit="mm", format=(geo.page_w, geo.page_h))
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))   # same input → same bytes
    pdf.add_font("cjk", fname=str(font))
    pages = max(1, -(-len(entries) // geo.per_page))
    for number, start in enumerate(range(0, len(entries), geo.per_page), start=1):
        page_people = entries[start:start + geo.per_page]
        pdf.add_page()
        pdf.set_font("cjk", size=9)
        pdf.set_text_color(0, 0, 0)
        departments = "、".join(dict.fromkeys(e.department for e in page_people))
        header = f"{title}  {departments}  {number}/{pages}".strip()
        while pdf.get_string_width(header) > geo.page_w - 2 * geo.left and pdf.font_size_pt > 5:
            pdf.set_font("cjk", size=pdf.font_size_pt - 0.5)
        pdf.text(geo.left, geo.top - HEADER_MM / 2, header)
        for index, entry in enumerate(page_people):
            x, y = geo.cell(index)
            image = print_image(read_image(entry.sha256), photo_w_mm, photo_h_mm, dpi)
            pdf.image(io.BytesIO(image), x=x, y=y, w=photo_w_mm, h=photo_h_mm)
            pdf.set_draw_color(180, 180, 180)
            pdf.set_line_width(0.1)
            pdf.rect(x - 0.3, y - 0.3, photo_w_mm + 0.6, photo_h_mm + 0.6)
            _label(pdf, x, y + photo_h_mm, photo_w_mm, entry)
            if progress is not None:
                progress(start + index + 1, len(entries), "sheets")
    if not entries:
        pdf.add_page()
    return bytes(pdf.output()), pdf.page_no()


def _fit(pdf: Any, text: str, width: float, size: float, least: float = 5.0) -> None:
    pdf.set_font("cjk", size=size)
    while size > least and pdf.get_string_width(text) > width:
        size -= 0.5
        pdf.set_font("cjk", size=size)


def _label(pdf: Any, x: float, y: float, width: float, entry: SheetEntry) -> None:
    _fit(pdf, entry.name, width, 9.0)
    pdf.set_xy(x, y + 0.6)
    pdf.cell(width, 4, entry.name, align="C")
    _fit(pdf, entry.student_no, width, 8.0)
    pdf.set_xy(x, y + 4.6)
    pdf.cell(width, 3.6, entry.student_no, align="C")
    _fit(pdf, entry.department, width, 6.5)
    pdf.set_xy(x, y + 8.2)
    pdf.cell(width, 3.2, entry.department, align="C")


def entries_from(snap: Snapshot, department: str | None = None, profile: BatchProfile | None = None,
                 fee_cents: int = 3000, school_code: str | None = None) -> tuple[list[SheetEntry], list[dict[str, Any]]]:
    """Who gets a diploma photo printed, in department order; and who not, with the reason.

    The same rules as a batch (``selection``): one school's people (``school_code``, default this
    store's), an accepted photo, the fee paid in full, and an identity read from the card unless
    the profile takes typed ones — so print sheets and exports agree on who is done.
    """
    from station.export.selection import check_department, may_go_out

    check_department(snap, department)
    profile = profile or BatchProfile("chsi", Path("chsi-batch.toml"))
    school = school_code or snap.school_code
    entries, left_out = [], []
    for p in sorted(snap.persons.values(), key=lambda p: (p.department, p.student_no or "", p.id_number)):
        if (department and p.department != department) or snap.school_of(p) != school:
            continue
        cap = p.accepted
        if cap is None or not cap.export_sha256:
            if not p.captures:           # the export's words for each case (selection)
                reason = "not_captured" if p.on_roster and p.eligible else None
            elif cap is None and p.captures[-1].decision == "reject":
                reason = "rejected"
            else:
                reason = "not_accepted"
            if reason is not None:
                left_out.append({"id_number": p.id_number, "name": p.name, "reason": reason})
            continue
        if not may_go_out(p, cap):
            left_out.append({"id_number": p.id_number, "name": p.name, "reason": "ineligible"})
            continue
        if not is_paid(p.paid_cents, fee_cents):
            left_out.append({"id_number": p.id_number, "name": p.name, "reason": "unpaid"})
            continue
        if not cap.verified and not profile.allow_unverified_identity:
            left_out.append({"id_number": p.id_number, "name": p.name, "reason": "unverified"})
            continue
        entries.append(SheetEntry(p.department, p.name, p.student_no, cap.export_sha256))
    return entries, left_out
