"""The student on a reduced decode of the capture, and the export frame placed on them.

``measure_subject`` reads the head top, eye line, cheeks and centre from a decode and its
landmarks; ``subject_framing`` places the export frame there (``placement.place``). The helpers
map between the decode's pixels, the full-size capture and the export frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.checks.framing import Framing
    from station.checks.placement import Subject
    from station.checks.profile import Profile


def subject_framing(base, lm, face, expected, profile: Profile, size: tuple[int, int],
             r: float) -> Framing:
    """Where the export frame sits in the capture: placed on the subject the landmarks measure."""
    from station.checks.framing import Framing
    from station.checks.placement import place

    if lm is None:  # a detection the mesh does not confirm: frame on the detection, geometry unknown
        return _fallback_framing(face, r, profile, size)
    spot = place(measure_subject(base, lm, expected, profile, r), profile, size)
    return Framing(spot.x0, spot.y0, spot.scale, spot)


def measure_subject(img, lm, expected, profile: Profile, reduction: float = 1.0) -> Subject:
    """Head top (backdrop mask), eye line, cheek width and face centre in full-size capture pixels,
    from a decode ``img`` at 1/``reduction`` and the landmarks found on it."""
    from station.checks.framing import (
        HEAD_TOP_HALF_IOD,
        backdrop_colour_near,
        head_top,
        head_top_mask,
        to_lab,
    )
    from station.checks.placement import Subject

    (lx, ly), (rx, ry) = lm.eye_left, lm.eye_right
    mid = ((lx + rx) / 2, (ly + ry) / 2)
    iod = lm.iod
    span = lm.cheek_span(profile.geometry.cheek_row_iod)
    # without a cheek row crossing (a face cut by the frame edge): the typical proportion
    width = span[1][0] - span[0][0] if span is not None else iod / 0.42
    # the backdrop's colour from a sparse sample of the upper part, the mask only over the
    # columns above the face: a few milliseconds even on a large decode
    centre = (span[0][0] + span[1][0]) / 2 if span is not None else mid[0]
    rows = int(max(4, min(img.shape[0], mid[1])))
    wide = int(max(4, 1.6 * width))
    x0, x1 = max(0, int(centre) - wide), min(img.shape[1], int(centre) + wide)
    step = max(1, int(((x1 - x0) * rows / 6000) ** 0.5))
    sample = to_lab(img[:rows:step, x0:x1:step])
    colour = backdrop_colour_near(sample, expected, sample.shape[0])
    band = int(iod * HEAD_TOP_HALF_IOD) + 2
    bx0, bx1 = max(0, int(centre) - band), min(img.shape[1], int(centre) + band + 1)
    mask = head_top_mask(to_lab(img[:rows, bx0:bx1]), colour, profile)
    top = head_top(mask, (centre - bx0, mid[1]), iod)
    return Subject(head_top=None if top is None else top * reduction, eye_y=mid[1] * reduction,
                   face_width=width * reduction, centre_x=centre * reduction)


def _fallback_framing(face, r: float, profile: Profile, size: tuple[int, int]) -> Framing:
    from station.checks.framing import Framing
    from station.checks.placement import Subject, place

    x, y, w, h = (v * r for v in face.box)
    mid = ((face.eye_left[0] + face.eye_right[0]) / 2 * r, (face.eye_left[1] + face.eye_right[1]) / 2 * r)
    subject = Subject(head_top=None, eye_y=mid[1], face_width=w, centre_x=mid[0])
    p = place(subject, profile, size)
    return Framing(p.x0, p.y0, p.scale, p)


def small_reduction(src, small) -> float:
    """Exact full-size / decoded-size ratio (DCT scaling rounds sizes up)."""
    return src.size[0] / small.shape[1]


def export_frame(src, reduction: int, framing: Framing, out: tuple[int, int], *,
                 wait: bool = True) -> tuple[Any, Framing] | None:
    """The export frame cut from ``src``'s decode at 1/``reduction`` (``framing.cut``).

    From a decode streaming ahead (``Source.prefetch``) it is cut as soon as the window's rows
    are in, and the stream stops there: the rows below the window are never decoded. Without
    ``wait``: None while they are not in yet. After a split analysis decode (``splitjpeg``) only
    the window's rows are decoded, from where that decode noted they start. The same pixels as
    a cut of the whole decode (within a level of rounding for the split decoder).
    """
    import cv2

    from station.checks.framing import cut, cut_region, cut_window
    from station.checks.rowstream import NotStreamed

    stream = src.streaming(reduction)
    if stream is None and not src.decoded(reduction) and src.indexed():
        # from the analysis decode's index of MCU starts: only the window's MCUs are decoded
        shape = (-(-src.size[1] // reduction), -(-src.size[0] // reduction), 3)
        window = cut_window(shape, framing, src.size, out)
        region = src.window(reduction, window)
        if region is not None:
            return cut_region(region, window, shape, framing, src.size, out)
    if stream is None:
        return cut(src.decode(reduction), framing, src.size, out)
    shape = (stream.height, stream.width, 3)
    window = cut_window(shape, framing, src.size, out)
    x, y, w, h = window
    stream.stop_at(y + h)
    if not wait and stream.rows < y + h:
        return None
    try:
        stream.wait(y + h)
    except NotStreamed:  # stopped above the window (a guess's), or a broken file: decode it all
        return cut(src.decode(reduction), framing, src.size, out)
    region = cv2.cvtColor(stream.rgbx[y:y + h, x:x + w], cv2.COLOR_RGBA2BGR)
    return cut_region(region, window, shape, framing, src.size, out)


def render_reduction(src, framing: Framing) -> int:
    usable = [r for r in (8, 4, 2, 1) if framing.scale / r >= 1.0 or r == 1]
    done = [r for r in usable if src.decoded(r)]
    return done[0] if done else usable[0]


def to_frame(a, r: float, framing: Framing):
    """Points (N, 2) of the reduced decode → export pixels."""
    return (a * r - [framing.x0, framing.y0]) / framing.scale
