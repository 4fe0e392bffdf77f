"""Where the export window goes in a capture: a scale and an offset, never a rotation.

The national spec forbids rotating or mirroring the photo, and padding would invent pixels, so
the crop is a window of the capture at the export's aspect, resampled to the export size. The
window is found as a small constrained problem: every geometry bound of the profile holds with its
safety margin (head top, eye line, face width, centring), the window stays inside the capture and
never needs upscaling, and among those windows the one closest to the profile's targets is taken.
When no window exists, the bound that cannot be met and the frame edge that blocks it say what
the photographer should change (zoom out, raise the camera, …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from station.checks.profile import Profile

PENALTY = 1e4          # weight of a bound's violation against the distance to the targets
KEEP_WEIGHT = 10.0     # weight of coming closer than placement.keep_inside to a bound
SNAP = 1.5             # export px kept inside every bound: the window is later snapped to whole pixels
S_STEPS = 160          # scales tried between the smallest and largest possible window


@dataclass(frozen=True)
class Subject:
    """What the placement needs to know about the person, in capture pixels."""

    head_top: float | None   # y of the head top (hair included), None when not measurable
    eye_y: float             # y of the eye line (mean of both eye centres)
    face_width: float        # cheek to cheek
    centre_x: float          # x of the face's centre line


@dataclass
class Placement:
    """Window (x0, y0) and scale (capture px per export px); ``blocked`` says why no window fits."""

    x0: float
    y0: float
    scale: float
    feasible: bool
    blocked: list[str] = field(default_factory=list)

    def matrix(self) -> list[list[float]]:
        """2×3 affine capture → export: a scale and a shift only."""
        k = 1.0 / self.scale
        return [[k, 0.0, -self.x0 * k], [0.0, k, -self.y0 * k]]


def _bounds(profile: Profile) -> dict[str, tuple[float, float]]:
    """The profile's safe ranges, each a little tighter so snapping the window cannot leave them."""
    w = profile.size[0]
    c = float(profile.geometry.centre_offset)
    ranges = {"head_top": profile.safe_range("head_top"), "eye_line": profile.safe_range("eye_line"),
              "face_width": profile.safe_range("face_width"), "centring": (w / 2 - c, w / 2 + c)}
    return {k: (lo + SNAP, hi - SNAP) for k, (lo, hi) in ranges.items()}


def _viol(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    import numpy as np

    return np.maximum(0.0, lo - v) + np.maximum(0.0, v - hi)


def _viol_squared(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``_viol(v, lo, hi) ** 2`` in two new arrays instead of five: the same values."""
    import numpy as np

    out = np.subtract(lo, v)
    np.maximum(0.0, out, out=out)
    above = np.subtract(v, hi)
    np.maximum(0.0, above, out=above)
    out += above
    return np.square(out, out=out)


@cache
def _unit_steps(n: int) -> np.ndarray:
    """``np.linspace(0.0, 1.0, n)``, made once per n (never written to)."""
    import numpy as np

    steps = np.linspace(0.0, 1.0, n)
    steps.setflags(write=False)
    return steps


def _costs(subject: Subject, profile: Profile, capture: tuple[int, int], s: np.ndarray,
           frame_edges: frozenset[str]):
    """For each scale in ``s``: best (x0, y0), distance to targets and total bound violation.

    ``frame_edges`` are the capture edges the window must respect (all four normally; fewer when
    asking which edge blocks a placement).
    """
    import numpy as np

    out_w, out_h = profile.size
    place = profile.placement
    b = _bounds(profile)
    cap_w, cap_h = capture
    # horizontal: centre the face, then keep the window inside the capture
    x0 = subject.centre_x - s * out_w / 2
    if "left" in frame_edges:
        x0 = np.maximum(x0, 0.0)
    if "right" in frame_edges:
        x0 = np.minimum(x0, cap_w - out_w * s)
    if "left" in frame_edges and "right" in frame_edges:
        x0 = np.where(cap_w - out_w * s < 0, np.nan, x0)
    centre = (subject.centre_x - x0) / s
    # vertical: a 1-D convex problem per scale, solved on a fine grid of y0 then refined
    y_lo = np.zeros_like(s) if "top" in frame_edges else np.full_like(s, -cap_h)
    y_hi = cap_h - out_h * s if "bottom" in frame_edges else np.full_like(s, 2.0 * cap_h)
    y_lo = np.where(y_hi < y_lo, np.nan, y_lo)

    keep = float(place.keep_inside)

    def near(v: np.ndarray, name: str) -> np.ndarray:
        """How far ``v`` comes closer than ``keep`` px to a bound (squared, weighted): the crop
        is checked again later (`station check` on the file), so its values should not sit on
        an edge where a pixel of measurement difference flips the verdict."""
        lo, hi = b[name]
        out = _viol_squared(v, lo + keep, hi - keep)
        out *= KEEP_WEIGHT
        return out

    def vertical(y0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # (eye - line)² + near(eye) [+ (top - target)² + near(top)], and the squared violations,
        # summed in that order into arrays made once (the same float operations as the plain
        # expressions, fewer arrays: this runs four times per scale grid)
        eye = (subject.eye_y - y0) / s[:, None]
        dist = eye - place.eye_line
        np.square(dist, out=dist)
        dist += near(eye, "eye_line")
        viol = _viol_squared(eye, *b["eye_line"])
        if subject.head_top is not None:
            top = (subject.head_top - y0) / s[:, None]
            part = top - place.head_top
            dist += np.square(part, out=part)
            dist += near(top, "head_top")
            viol += _viol_squared(top, *b["head_top"])
        return dist, viol

    valid = ~np.isnan(y_lo)
    y_lo_v, y_hi_v = np.where(valid, y_lo, 0.0), np.where(valid, y_hi, 0.0)
    lo, hi, rows = y_lo_v, y_hi_v, np.arange(len(s))
    for n in (41, 21, 21):
        grid = lo[:, None] + (hi - lo)[:, None] * _unit_steps(n)[None, :]
        dist, viol = vertical(grid)
        y_best = grid[rows, np.argmin(dist + PENALTY * viol, axis=1)]
        step = (hi - lo) / (n - 1)
        lo, hi = np.maximum(y_lo_v, y_best - step), np.minimum(y_hi_v, y_best + step)
    y_best = np.where(valid, y_best, np.nan)
    y0 = y_best
    dist_y, viol_y = (a[:, 0] for a in vertical(y0[:, None]))
    width = subject.face_width / s
    dist = (dist_y + (width - place.face_width) ** 2 + near(width, "face_width")
            + (centre - out_w / 2) ** 2)
    viol = viol_y + _viol(width, *b["face_width"]) ** 2 + _viol(centre, *b["centring"]) ** 2
    return x0, y0, dist, viol


def _scales(subject: Subject, profile: Profile, capture: tuple[int, int], *, limit_small: bool,
            limit_large: bool, min_scale: float | None) -> np.ndarray:
    import numpy as np

    out_w, out_h = profile.size
    lo_fw, hi_fw = profile.safe_range("face_width")
    floor = float(profile.resolution.min_scale) if min_scale is None else min_scale
    s_min = floor if limit_small else 0.05
    s_max = min(capture[0] / out_w, capture[1] / out_h) if limit_large else 4 * max(capture) / out_h
    # scales that put the face width in bounds are where the answer lies; include them densely
    s_fw = (subject.face_width / hi_fw, subject.face_width / lo_fw)
    lo, hi = min(s_min, s_fw[0]), max(s_max, s_fw[1])
    grid = np.geomspace(max(lo, 1e-3), max(hi, 2e-3), S_STEPS)
    dense = np.linspace(*s_fw, S_STEPS // 2)
    s = np.unique(np.concatenate([grid, dense, [s_min, s_max]]))
    return s[(s >= s_min) & (s <= s_max)]


def _solve(subject: Subject, profile: Profile, capture: tuple[int, int],
           edges: frozenset[str] | None = None, limit_small: bool = True, limit_large: bool = True,
           min_scale: float | None = None) -> Placement | None:
    import numpy as np

    edges = ALL_EDGES if edges is None else edges
    s = _scales(subject, profile, capture, limit_small=limit_small, limit_large=limit_large,
                min_scale=min_scale)
    if s.size == 0:
        return None
    x0, y0, dist, viol = _costs(subject, profile, capture, s, edges)
    total = dist + PENALTY * viol
    total = np.where(np.isnan(x0) | np.isnan(y0), np.inf, total)
    if not np.isfinite(total).any():
        return None
    i = int(np.argmin(total))
    feasible = bool(viol[i] < 0.25)  # within half a pixel of every bound
    if feasible and 0 < i < len(s) - 1:  # refine the scale between its neighbours
        fine = np.linspace(s[i - 1], s[i + 1], 41)
        fx, fy, fd, fv = _costs(subject, profile, capture, fine, edges)
        ft = np.where(np.isnan(fx) | np.isnan(fy), np.inf, fd + PENALTY * fv)
        j = int(np.argmin(ft))
        if ft[j] <= total[i]:
            return Placement(float(fx[j]), float(fy[j]), float(fine[j]), bool(fv[j] < 0.25))
    return Placement(float(x0[i]), float(y0[i]), float(s[i]), feasible)


def place(subject: Subject, profile: Profile, capture: tuple[int, int], *,
          min_scale: float | None = None, diagnose: bool = True) -> Placement:
    """The window closest to the profile's targets with every bound met, or the best compromise
    (``feasible`` False) with ``blocked`` naming what stands in the way.

    ``min_scale`` replaces the profile's (capture px per export px) when the frame is not the
    capture itself (the live view); ``diagnose`` False skips working out the reasons.
    """
    best = _solve(subject, profile, capture, min_scale=min_scale)
    if best is not None and best.feasible:
        return best
    blocked = why(subject, profile, capture, min_scale=min_scale) if diagnose else []
    if best is None:  # the capture is smaller than the export: take what there is
        s = min(capture[0] / profile.size[0], capture[1] / profile.size[1])
        best = Placement(0.0, 0.0, s, False)
    best.feasible = False
    best.blocked = blocked
    return best


_EDGES = {"top": "no_room_above", "bottom": "no_room_below", "left": "no_room_left",
          "right": "no_room_right"}
ALL_EDGES = frozenset(_EDGES)


def why(subject: Subject, profile: Profile, capture: tuple[int, int],
        min_scale: float | None = None) -> list[str]:
    """Why no window fits, as what the photographer should change:

    ``too_small`` (the face would need upscaling: zoom in), ``too_large`` (the face, or the room
    it needs around it, is bigger than the capture: zoom out), ``no_room_above|below|left|right``
    (a capture edge cuts through the window: move the camera that way), ``proportions`` (head top
    and eye line cannot both meet their bounds at a valid face width: tall hair or a hat).
    """
    out_w, out_h = profile.size
    lo_fw, hi_fw = _bounds(profile)["face_width"]
    s_cap = min(capture[0] / out_w, capture[1] / out_h)
    if subject.face_width / hi_fw > s_cap:
        return ["too_large"]
    floor = float(profile.resolution.min_scale) if min_scale is None else min_scale
    if subject.face_width / lo_fw < floor:
        return ["too_small"]

    def fits(**kw) -> bool:
        result = _solve(subject, profile, capture, min_scale=min_scale, **kw)
        return result is not None and result.feasible

    single = [_EDGES[e] for e in ("top", "bottom", "left", "right") if fits(edges=ALL_EDGES - {e})]
    if single:
        return single
    for pair in (("top", "bottom"), ("left", "right")):
        if fits(edges=ALL_EDGES - set(pair)):
            return ["too_large"]  # squeezed on both sides: only a wider view helps
    for a, b in (("top", "left"), ("top", "right"), ("bottom", "left"), ("bottom", "right")):
        if fits(edges=ALL_EDGES - {a, b}):
            return [_EDGES[a], _EDGES[b]]
    if fits(edges=frozenset(), limit_large=False):
        return ["too_large"]
    return ["proportions"]
