"""Pictures in the terminal: a BGR frame as half-block characters, with the framing guides.

Each character cell shows two pixels (upper half block ``▀``: foreground = top pixel, background =
bottom pixel). Works in every terminal and in SVG snapshots; textual-image is used instead where
the terminal speaks a graphics protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.color import Color
from rich.segment import Segment
from rich.style import Style

if TYPE_CHECKING:
    from station.checks.profile import Profile

# Guide colours (BGR) drawn into the picture before it is reduced to cells.
GUIDE_HEAD = (0, 215, 255)    # amber: head-top band
GUIDE_EYES = (80, 220, 80)    # green: eye band
GUIDE_FACE = (255, 160, 60)   # blue-ish: face width
HALF = "\u2580"              # upper half block


@dataclass(frozen=True)
class Guides:
    """Framing bounds in the export frame's pixels (from the photo profile)."""

    frame_w: int = 480
    frame_h: int = 640
    head_top: tuple[int, int] = (50, 110)
    eye_line: tuple[int, int] = (200, 300)
    face_width: tuple[int, int] = (180, 300)

    @classmethod
    def from_profile(cls, profile: Profile) -> Guides:
        """The profile's published bounds (a loaded profile has all three: it is refused else)."""

        def pair(value: Sequence[float]) -> tuple[int, int]:
            return int(value[0]), int(value[1])

        geometry = profile.geometry
        width, height = profile.size
        return cls(frame_w=width, frame_h=height, head_top=pair(geometry.head_top),
                   eye_line=pair(geometry.eye_line), face_width=pair(geometry.face_width))


def fit(width: int, height: int, cols: int, rows: int) -> tuple[int, int]:
    """Cell size (cols, rows) that shows a width×height picture whole, keeping its aspect."""
    cols, rows = max(cols, 1), max(rows, 1)
    # a cell is one pixel wide and two pixels high
    scale = min(cols / width, (rows * 2) / height)
    return max(1, int(width * scale)), max(1, int(height * scale / 2))


def draw_guides(img: Any, guides: Guides) -> Any:
    """A copy of the export-frame picture with the guide lines drawn (2 px, visible when small)."""
    import cv2

    out = img.copy()
    h, w = out.shape[:2]
    sy, sx = h / guides.frame_h, w / guides.frame_w
    thick = max(2, int(round(4 * sy)))
    for y in guides.head_top:
        cv2.line(out, (0, int(y * sy)), (w - 1, int(y * sy)), GUIDE_HEAD, thick)
    for y in guides.eye_line:
        cv2.line(out, (0, int(y * sy)), (w - 1, int(y * sy)), GUIDE_EYES, thick)
    cx = w / 2
    for half in (guides.face_width[0] / 2, guides.face_width[1] / 2):
        for x in (cx - half * sx, cx + half * sx):
            cv2.line(out, (int(x), int(guides.head_top[0] * sy)),
                     (int(x), int(guides.eye_line[1] * sy * 1.25)), GUIDE_FACE, thick)
    return out


# Half-block styles are shared by every picture (and thread): a live frame mostly repeats the
# colours of the one before, and a Style that was drawn once keeps its terminal codes cached.
_STYLES: dict[int, Style] = {}
_STYLE_LIMIT = 1 << 16
QUANT_MASK = 0xF8   # 5 bits a channel: unseen in a 2-pixel cell; 2.6× fewer segments a frame


def _style(key: int) -> Style:
    style = _STYLES.get(key)
    if style is None:
        if len(_STYLES) >= _STYLE_LIMIT:
            _STYLES.clear()
        top, bottom = key >> 24, key & 0xFFFFFF
        style = Style(color=Color.from_rgb(top >> 16, (top >> 8) & 255, top & 255),
                      bgcolor=Color.from_rgb(bottom >> 16, (bottom >> 8) & 255, bottom & 255))
        _STYLES[key] = style
    return style


def to_cells(img: Any, cols: int, rows: int) -> list[list[Segment]]:
    """The BGR picture as at most ``rows`` lines of half-block segments at most ``cols`` wide;
    neighbouring cells of one colour pair share one segment."""
    import cv2
    import numpy as np

    h, w = img.shape[:2]
    cw, ch = fit(w, h, cols, rows)
    small = cv2.resize(img, (cw, ch * 2), interpolation=cv2.INTER_AREA)
    q = (small & QUANT_MASK).astype(np.int64)
    packed = (q[:, :, 2] << 16) | (q[:, :, 1] << 8) | q[:, :, 0]      # BGR pixels → 0xRRGGBB
    keys = (packed[0::2] << 24) | packed[1::2]                          # (top, bottom) per cell
    lines: list[list[Segment]] = []
    for row in keys.tolist():
        segs: list[Segment] = []
        run_key, run = row[0], 0
        for key in row:
            if key == run_key:
                run += 1
                continue
            segs.append(Segment(HALF * run, _style(run_key)))
            run_key, run = key, 1
        segs.append(Segment(HALF * run, _style(run_key)))
        lines.append(segs)
    return lines


def export_frame(img: Any, guides: Guides) -> Any:
    """Centre-crop a live frame to the export aspect so the guides sit where the crop will be."""
    h, w = img.shape[:2]
    target = guides.frame_w / guides.frame_h
    if w / h > target:
        new_w = int(h * target)
        x0 = (w - new_w) // 2
        return img[:, x0:x0 + new_w]
    new_h = int(w / target)
    y0 = (h - new_h) // 2
    return img[y0:y0 + new_h]


def draw_live_guides(img: Any, guides: dict) -> Any:
    """The live frame cut to the export window (the live checker's guides, frame coordinates),
    with the head-top band, the eye band and the measured face width drawn in."""
    import cv2
    import numpy as np

    out = img.copy()
    h, w = out.shape[:2]
    window = np.array(guides["window"], np.float32)
    thick = max(2, int(round(w / 240)))

    def line(seg: Any, colour: tuple[int, int, int]) -> None:
        (x0, y0), (x1, y1) = seg
        cv2.line(out, (int(x0), int(y0)), (int(x1), int(y1)), colour, thick)

    for seg in guides.get("head_top_band", []):
        line(seg, GUIDE_HEAD)
    for seg in guides.get("eye_band", []):
        line(seg, GUIDE_EYES)
    face = guides.get("face_width")
    if isinstance(face, dict) and face.get("measured"):
        line(face["measured"], GUIDE_FACE)
    x0, y0 = np.maximum(window.min(axis=0), 0).astype(int)
    x1, y1 = np.minimum(window.max(axis=0), [w, h]).astype(int)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return out
    return out[y0:y1, x0:x1]
