"""Print sheets of diploma photos: each photo at the profile's print size, name and number below.

Photos are placed on A4 or 6-inch (4×6 in) sheets in a grid, grouped by department (each department
starts a new sheet with its name on top) and resampled to the print size at 300 dpi, so the printer
does not scale them. The geometry is a pure function, so tests can find each photo cell again in a
rendered page.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

SHEETS_MM = {"a4": (210.0, 297.0), "6in": (101.6, 152.4)}
MARGIN_MM = {"a4": 10.0, "6in": 5.0}
HEADER_MM = 8.0
LABEL_MM = 9.0
GAP_X_MM = 5.0
GAP_Y_MM = 3.0

if TYPE_CHECKING:
    from station.export.snapshot import Snapshot


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

    with Image.open(io.BytesIO(jpeg)) as opened:
        im = opened.convert("RGB")
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
    """The PDF bytes and the page count. Entries are grouped by department in the order given."""
    from fpdf import FPDF

    geo = geometry(sheet, photo_w_mm, photo_h_mm)
    pdf = FPDF(unit="mm", format=(geo.page_w, geo.page_h))
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))   # same input → same bytes
    pdf.add_font("cjk", fname=str(font))
    groups: dict[str, list[SheetEntry]] = {}
    for e in entries:
        groups.setdefault(e.department, []).append(e)
    done = 0
    for department, people in groups.items():
        for start in range(0, len(people), geo.per_page):
            page_people = people[start:start + geo.per_page]
            pdf.add_page()
            pdf.set_font("cjk", size=9)
            pdf.set_text_color(0, 0, 0)
            pages_in_group = -(-len(people) // geo.per_page)
            header = f"{title}  {department}  {start // geo.per_page + 1}/{pages_in_group}".strip()
            pdf.text(geo.left, geo.top - HEADER_MM / 2, header)
            for index, entry in enumerate(page_people):
                x, y = geo.cell(index)
                image = print_image(read_image(entry.sha256), photo_w_mm, photo_h_mm, dpi)
                pdf.image(io.BytesIO(image), x=x, y=y, w=photo_w_mm, h=photo_h_mm)
                pdf.set_draw_color(180, 180, 180)
                pdf.set_line_width(0.1)
                pdf.rect(x - 0.3, y - 0.3, photo_w_mm + 0.6, photo_h_mm + 0.6)
                _label(pdf, x, y + photo_h_mm, photo_w_mm, entry)
                done += 1
                if progress is not None:
                    progress(done, len(entries), "sheets")
    if not entries:
        pdf.add_page()
    return bytes(pdf.output()), pdf.page_no()


def _label(pdf: Any, x: float, y: float, width: float, entry: SheetEntry) -> None:
    size = 9.0
    pdf.set_font("cjk", size=size)
    while size > 5 and pdf.get_string_width(entry.name) > width:
        size -= 0.5
        pdf.set_font("cjk", size=size)
    pdf.set_xy(x, y + 0.6)
    pdf.cell(width, 4, entry.name, align="C")
    pdf.set_font("cjk", size=8)
    pdf.set_xy(x, y + 4.6)
    pdf.cell(width, 3.6, entry.student_no, align="C")


def entries_from(snap: Snapshot, department: str | None = None, fee_cents: int = 3000) -> tuple[list[SheetEntry], list[dict[str, Any]]]:
    """Who gets a diploma photo printed (accepted and paid), grouped by department; and who not."""
    entries, left_out = [], []
    for p in sorted(snap.persons.values(), key=lambda p: (p.department, p.student_no or "", p.id_number)):
        if department and p.department != department:
            continue
        cap = p.accepted
        if cap is None or not cap.export_sha256:
            if p.on_roster:
                left_out.append({"id_number": p.id_number, "name": p.name, "reason": "not_accepted"})
            continue
        if p.paid_cents < fee_cents:
            left_out.append({"id_number": p.id_number, "name": p.name, "reason": "unpaid"})
            continue
        entries.append(SheetEntry(p.department, p.name, p.student_no, cap.export_sha256))
    return entries, left_out
