"""From measurements to verdicts: pass/warn/fail per check, with the limit and what to do.

Messages come from ``station/messages/checks.toml``; ``checks.<name>.<case>`` tells the photographer
the fix ("raise the camera", "ask for a non-blue top"), not just what is wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from station.checks import bystander
from station.checks.report import Check
from station.i18n import both

if TYPE_CHECKING:
    from station.checks.calibration import Calibration
    from station.checks.measure import Measurements
    from station.checks.placement import Placement
    from station.checks.profile import Profile


def make(name: str, status: str, value: Any, limit: Any, case: str = "ok", **params: Any) -> Check:
    zh, en = both(f"checks.{name}.{case}", value=_fmt(value), limit=_fmt(limit), **params)
    return Check(name, status, value, limit, zh, en)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return "–".join(_fmt(v) for v in value)
    return str(value)


def _range(name: str, value: float | None, bounds: tuple[float, float], low_case: str,
           high_case: str) -> Check:
    lo, hi = bounds
    limit = [lo, hi]
    if value is None:
        return make(name, "fail", None, limit, "unknown")
    if value < lo:
        return make(name, "fail", value, limit, low_case)
    if value > hi:
        return make(name, "fail", value, limit, high_case)
    return make(name, "pass", value, limit)


def evaluate(m: Measurements, profile: Profile, calibration: Calibration | None, *,
             scale: float | None, window_share: float | None,
             placement: Placement | None = None) -> list[Check]:
    """All checks for one frame. With no face only the face count (and resolution) can be judged.

    ``placement`` is where the crop window went in a capture: when no window could meet every
    bound, the ``framing`` check says what stands in the way and what to change.
    """
    checks: list[Check] = []
    n = m.face_count
    if n == 0:
        checks.append(make("face_count", "fail", 0, 1, "none"))
        return checks
    checks.append(make("face_count", "pass" if n == 1 else "fail", n, 1, "ok" if n == 1 else "many"))
    checks.append(bystander.verdict(m.values, profile))  # someone half hidden, cut by the edge
    if placement is not None:
        checks.append(_framing(placement))
    g = profile.geometry
    face = m.face
    assert face is not None  # one or more faces were counted
    checks.append(_range("head_top", m.head_top, profile.safe_range("head_top"), "high", "low"))
    eye_y = face.eye_mid[1] if m.landmarks is not None else None
    checks.append(_range("eye_line", eye_y, profile.safe_range("eye_line"), "high", "low"))
    checks.append(_range("face_width", m.face_width, profile.safe_range("face_width"), "small", "large"))
    checks.append(_centring(m.face_centre_x if m.landmarks is not None else None, profile))
    roll = m.roll_deg if m.landmarks is not None else None
    if roll is None:
        checks.append(make("roll", "fail", None, g.roll_deg, "unknown"))
    else:
        ok = abs(roll) <= g.roll_deg
        checks.append(make("roll", "pass" if ok else "fail", roll, g.roll_deg, "ok" if ok else "tilted"))
    checks.extend(_backdrop(m.values, profile))
    checks.append(_clothing(m.values, profile))
    checks.append(_sharpness(m.values.get("sharpness", 0.0), m.values.get("sharpness_structure", 1.0),
                             profile, calibration))
    checks.append(_exposure(m.values, profile))
    lt = profile.lighting
    diff = m.values.get("lighting", 0.0)
    status = "fail" if diff > lt.difference_fail else "warn" if diff > lt.difference_warn else "pass"
    checks.append(make("lighting", status, diff, lt.difference_fail, "ok" if status == "pass" else "uneven"))
    if "eye_openness" in m.values:
        checks.append(_eyes_open(m.values["eye_openness"], profile))
    if "mouth_openness" in m.values:
        checks.append(_mouth_closed(m.values["mouth_openness"], profile))
    if "head_turn" in m.values:
        checks.append(_facing(m.values["head_turn"], profile))
    if "under_eye" in m.values:
        checks.append(_tint(m.values["under_eye"], profile))
    gl = profile.glare
    share = m.values.get("glare", 0.0)
    if m.values.get("over_share", 0.0) > profile.exposure.over_share:  # burnt face: glare unknowable
        checks.append(make("glasses_glare", "warn", share, gl.blob_share_fail, "unknown"))
        return _finish(checks, scale, window_share, profile)
    status = "fail" if share > gl.blob_share_fail else "warn" if share > gl.blob_share_warn else "pass"
    checks.append(make("glasses_glare", status, share, gl.blob_share_fail, "ok" if status == "pass" else "glare"))
    return _finish(checks, scale, window_share, profile)


def _framing(placement: Placement) -> Check:
    """Whether a crop window meets every bound; if not, the first obstacle and its fix."""
    if placement.feasible:
        return make("framing", "pass", None, None)
    reason = placement.blocked[0] if placement.blocked else "proportions"
    return make("framing", "fail", reason, None, reason)


def _centring(centre: float | None, profile: Profile) -> Check:
    limit = profile.geometry.centre_offset
    if centre is None:
        return make("centring", "fail", None, limit, "unknown")
    offset = centre - profile.size[0] / 2
    if abs(offset) <= limit:
        return make("centring", "pass", offset, limit)
    return make("centring", "fail", offset, limit, "left" if offset < 0 else "right")


def _banded(name: str, value: float, warn: float, fail: float, cases: tuple[str, str], *,
            floor: bool = False) -> Check:
    """Pass, warn past ``warn`` or fail past ``fail`` (below them with ``floor``, else above);
    ``cases``: the fail and warn messages. The limit shown is the failing one."""
    def beyond(limit: float) -> bool:
        return value < limit if floor else value > limit

    if beyond(fail):
        return make(name, "fail", value, fail, cases[0])
    if beyond(warn):
        return make(name, "warn", value, fail, cases[1])
    return make(name, "pass", value, fail)


def _eyes_open(openness: float, profile: Profile) -> Check:
    """Eyelid gap over eye width (the more closed eye counts): a blink or a squint is a retake."""
    e = profile.eyes
    return _banded("eyes_open", openness, e.warn_below, e.closed_below, ("closed", "narrow"),
                   floor=True)


def _mouth_closed(openness: float, profile: Profile) -> Check:
    """Inner-lip gap over mouth width: a smile passes, talking or a wide-open mouth does not."""
    mo = profile.mouth
    return _banded("mouth_closed", openness, mo.open_warn, mo.open_fail, ("open", "parted"))


def _facing(turn: float, profile: Profile) -> Check:
    """The head turned away from the camera (yaw): the ears no longer show alike (耳朵对称)."""
    side = "left" if turn < 0 else "right"
    return _banded("facing", abs(turn), profile.pose.turn_warn, profile.pose.turn_fail, (side, side))


def _tint(ratio: float, profile: Profile) -> Check:
    """The skin under the eyes much darker than the cheeks: a tinted lens (or the eye sockets in
    shadow); the eyes must show."""
    t = profile.tint
    return _banded("glasses_tint", ratio, t.under_eye_warn, t.under_eye_fail, ("dark", "dim"),
                   floor=True)


def _finish(checks: list[Check], scale: float | None, window_share: float | None,
            profile: Profile) -> list[Check]:
    if scale is not None or window_share is not None:
        checks.append(_resolution(scale, window_share, profile))
    return checks


def _backdrop(v: dict, profile: Profile) -> list[Check]:
    b = profile.backdrop
    out = []
    de = v.get("backdrop_delta_e", 0.0)
    status = "fail" if de > b.colour_fail else "warn" if de > b.colour_warn else "pass"
    out.append(make("backdrop_colour", status, de, b.colour_fail, "ok" if status == "pass" else "off"))
    uni = v.get("backdrop_uniformity")
    if uni is not None:
        status = "fail" if uni > b.uniformity_fail else "warn" if uni > b.uniformity_warn else "pass"
        out.append(make("backdrop_uniformity", status, uni, b.uniformity_fail,
                        "ok" if status == "pass" else "uneven"))
    sh = v.get("backdrop_shadow")
    if sh is not None:
        status = "fail" if sh > b.shadow_fail else "warn" if sh > b.shadow_warn else "pass"
        out.append(make("backdrop_shadow", status, sh, b.shadow_fail, "ok" if status == "pass" else "shadow"))
    return out


def _clothing(v: dict, profile: Profile) -> Check:
    c = profile.clothing
    de = v.get("clothing_delta_e")
    share = v.get("clothing_blue_share", 0.0)
    if de is None:
        return make("clothing_contrast", "warn", None, c.min_delta_e_fail, "unknown")
    # mostly backdrop-coloured shoulders fail only when what is there is not clearly another
    # colour either (narrow shoulders beside a dark jacket are not blue clothes)
    if de < c.min_delta_e_fail or (share > c.blue_share_fail and de < c.min_delta_e_warn):
        return make("clothing_contrast", "fail", de, c.min_delta_e_fail, "blue")
    if de < c.min_delta_e_warn:
        return make("clothing_contrast", "warn", de, c.min_delta_e_fail, "close")
    return make("clothing_contrast", "pass", de, c.min_delta_e_fail)


def _sharpness(value: float, structure: float, profile: Profile,
               calibration: Calibration | None) -> Check:
    s = profile.sharpness
    limit = s.min_focus
    if structure < s.min_structure:  # nothing left between fine noise and coarse shapes: the
        # focus figure then measures the noise, so the verdict reports the figure that decided it
        return make("sharpness", "fail", structure, s.min_structure, "no_detail")
    if calibration is not None and calibration.sharpness:
        # a camera whose sharp photos read low lowers the limit; calibration never raises it
        limit = min(limit, calibration.sharpness * s.calibrated_ratio)
    if value < limit:
        return make("sharpness", "fail", value, limit, "blurred")
    if value < limit * s.warn_ratio:
        return make("sharpness", "warn", value, limit, "soft")
    return make("sharpness", "pass", value, limit)


def _exposure(v: dict, profile: Profile) -> Check:
    e = profile.exposure
    mean = v.get("face_mean")
    if mean is None:
        return make("exposure", "warn", None, list(e.mean), "unknown")
    over, under = v.get("over_share", 0.0), v.get("under_share", 0.0)
    limit = list(e.mean)
    # the whole frame over-exposed: the backdrop washed out towards white and a face that is not
    # dark (a dark face 1.5 EV up reads 110–130 without clipping: only the backdrop tells)
    frame_bright = (v.get("backdrop_delta_l", 0.0) >= e.frame_bright_l and mean >= e.frame_bright_mean)
    if over > e.over_share or mean > e.mean[1] or frame_bright:
        return make("exposure", "fail", mean, limit, "over", share=f"{over:.0%}")
    frame_dark = (v.get("backdrop_delta_l", 0.0) <= -e.frame_dark_l and mean < e.frame_dark_mean)
    if under > e.under_share or mean < e.mean[0] or frame_dark:
        return make("exposure", "fail", mean, limit, "under", share=f"{under:.0%}")
    if mean > e.mean_warn[1]:
        return make("exposure", "warn", mean, limit, "bright")
    if mean < e.mean_warn[0]:
        return make("exposure", "warn", mean, limit, "dim")
    return make("exposure", "pass", mean, limit)


def _resolution(scale: float | None, window_share: float | None, profile: Profile) -> Check:
    """No upscaling (capture pixels per export pixel ≥ min_scale) and a subject that fills the frame.

    The live view does not know the capture's resolution, so there only the share counts.
    """
    r = profile.resolution
    if scale is not None and scale < r.min_scale:
        return make("resolution", "fail", scale, r.min_scale, "upscale")
    if window_share is not None and window_share < r.min_window_share:
        # enough pixels, but most of the frame is wasted: a warning, the photo itself is fine
        value = scale if scale is not None else window_share
        limit = r.min_scale if scale is not None else r.min_window_share
        status = "warn" if scale is not None else "fail"
        return make("resolution", status, value, limit, "far")
    if scale is None:
        return make("resolution", "pass", window_share, r.min_window_share)
    return make("resolution", "pass", scale, r.min_scale)


def file_size(data: bytes, profile: Profile) -> Check:
    """An export photo's file: inside the profile's size band and saved at quality ≥ the minimum."""
    from station.checks.imageio import jpeg_quality

    out = profile.output
    kb = len(data) / 1024
    limit = [out.min_kb, out.max_kb]
    quality = jpeg_quality(data)
    if quality is not None and quality < out.min_quality:
        return make("file_size", "fail", kb, limit, "quality", quality=quality, min_quality=out.min_quality)
    # quality is a hard rule; the size band is what the spec calls usual ("一般"): a warning
    if kb < out.min_kb:
        return make("file_size", "warn", kb, limit, "small")
    if kb > out.max_kb:
        return make("file_size", "warn", kb, limit, "large")
    return make("file_size", "pass", kb, limit)
