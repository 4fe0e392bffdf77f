"""Capture tier: check a capture as the export would frame it, and make the export JPEG.

A capture is decoded twice at reduced size (JPEG DCT scaling): small to find the face and the
framing, then at the largest reduction that still needs no upscaling to render the export frame.
Every check then runs on that export frame, so what is checked is exactly what is exported.
An image already at the profile's output size is the export frame itself.

Stages that do not need each other's results run side by side (``station.checks.workers``): the
finer decode a landscape frame may need beside the analysis of the coarse one (streamed too: the
export frame is cut once the window's rows are in, and that decode stops there), BlazeFace and the
export encode beside the frame measurements. The analysis decode itself streams its rows
(``station.checks.rowstream``) while this thread makes the detection image and MTCNN's first
stage from them (``detect.FirstStage``), and, once the rows cover the face, the face's own work:
MTCNN's later stages, mesh, irises, subject and placement (``ahead.Ahead``; kept only when the same
face and rows give them after the decode). With one thread the same stages run in turn and give
the same verdicts and the same JPEG bytes.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.checks.errors import CropError
from station.checks.report import Report
from station.checks.workers import Stages

if TYPE_CHECKING:
    from station.checks.calibration import Calibration
    from station.checks.framing import Framing
    from station.checks.measure import Measurements
    from station.checks.profile import Profile


@dataclass
class Analysis:
    report: Report
    frame: Any = None                  # export-frame BGR pixels (None when no face)
    framing: Framing | None = None
    measurements: Measurements | None = None
    encoding: tuple[Profile, Future[bytes]] | None = None  # the export JPEG, started early

    def export_jpeg(self, profile: Profile, *, strict: bool = False) -> bytes:
        """The export JPEG of ``frame`` (``imageio.encode_jpeg``): the encode started during the
        analysis when there was one for this profile, else made now."""
        from station.checks.imageio import encode_jpeg

        if self.frame is None:
            raise ValueError("no export frame: the capture has no face to frame")
        if self.encoding is not None and self.encoding[0] is profile:
            try:
                return self.encoding[1].result()  # made with strict=True
            except CropError:
                if strict:
                    raise
        return encode_jpeg(self.frame, profile, strict=strict)


ANALYSIS_MIN_SIDE = 900  # the first decode keeps at least this many pixels on the short side


def _name(source: Any) -> str:
    return str(source) if isinstance(source, (str, Path)) else "image"


def _reduction(size: tuple[int, int], minimum: int) -> int:
    for r in (8, 4, 2):
        if min(size) / r >= minimum:
            return r
    return 1


def expected_backdrop(profile: Profile, calibration: Calibration | None):
    import numpy as np

    from station.checks.framing import rgb_to_lab

    if calibration is not None:
        return np.array(calibration.backdrop_lab, dtype=np.float32)
    return rgb_to_lab(profile.backdrop.reference_rgb)


# Another face counts when it lies in the export photo or near it: within this many widths (of the
# main face's detection box) of the export window. Two people shoulder to shoulder stand about 3–4
# box widths apart, centre to centre (the bench's real two-person photo fr_two_people: 3.6), 1.5–2
# widths beyond the window's edge: someone there is in the student's space, their shoulder or hair
# likely in the photo. A face farther out, someone waiting at the edge of a wide camera frame, is
# in neither: a retake for it would be futile.
NEAR_WINDOW = 2.0


def count_faces(faces, profile: Profile, window: tuple[int, int] | None = None) -> int:
    """Faces that matter: the main one and any other at least ``second_face_share`` of its size
    (and, given the export ``window`` (width, height) the faces are mapped into, reaching within
    ``NEAR_WINDOW`` widths of the main face's box of it)."""
    if not faces:
        return 0
    main = faces[0].box[2]
    near = NEAR_WINDOW * main
    return 1 + sum(1 for f in faces[1:] if f.box[2] >= main * profile.detector.second_face_share
                   and (window is None or _reaches(f.box, window, near)))


def _reaches(box: tuple[float, float, float, float], window: tuple[int, int], margin: float) -> bool:
    """Whether ``box`` (x, y, w, h) overlaps the rectangle (0, 0)–``window`` grown by ``margin``."""
    x, y, w, h = box
    return (x < window[0] + margin and x + w > -margin
            and y < window[1] + margin and y + h > -margin)


def analyse(source: Any, profile: Profile, calibration: Calibration | None = None,
            name: str | None = None, *, threads: int | None = None,
            encode: bool = False) -> Analysis:
    """Check one capture (path, bytes or BGR array); never raises for a bad image.

    ``threads``: how many the stages of this capture may use (None: two where there are two
    cores; 1: all in this thread). ``encode``: start the export JPEG as soon as the export frame
    exists (a caller that will crop); ``Analysis.export_jpeg`` hands it over.
    """
    from station.checks.imageio import ImageError, open_source
    from station.checks.verdict import make

    started = time.perf_counter()
    label = name or _name(source)
    stages = Stages(threads)
    try:
        src = open_source(source, name=label)
        result = _analyse(src, profile, calibration, stages, encode)
    except ImageError as exc:
        zh, en = exc.messages
        check = make("readable", "fail", None, None, "bad", error=str(exc))
        check.message_zh, check.message_en = f"{check.message_zh}（{zh}）", f"{check.message_en} ({en})"
        result = Analysis(Report(label, [check]))
    result.report.image = label
    result.report.elapsed_ms = (time.perf_counter() - started) * 1000
    return result


def _analyse(src, profile: Profile, calibration: Calibration | None, stages: Stages,
             encode: bool) -> Analysis:
    from station.checks.ahead import FACE_BOTTOM, Ahead
    from station.checks.detect import FirstStage, detect_faces, min_face_px
    from station.checks.frame_work import frame_work
    from station.checks.framing import identity_framing
    from station.checks.imageio import detection_step
    from station.checks.landmarks import find_landmarks
    from station.checks.subject import small_reduction, subject_framing, to_frame
    from station.checks.verdict import evaluate
    from station.checks.verdict import make as make_check

    out = profile.size
    det = profile.detector
    expected = expected_backdrop(profile, calibration)
    as_is = src.size == out
    work = None
    if as_is:
        frame = src.decode(1)
        # an export photo is portrait by definition: the smallest face stays a share of its
        # width, as its checks were measured (``min_face_px`` is about a camera that turns)
        faces = detect_faces(frame, det.min_face_share * out[0], det.min_score)
        n_faces = count_faces(faces, profile)
        if not faces:
            return _no_face(frame, profile, calibration, src.size)
        lm = find_landmarks(frame, faces[0], stages=stages)
        framing = identity_framing()
    else:
        # One decode serves finding the face, its landmarks and (usually) the crop: for noisy
        # camera JPEGs Huffman decoding costs the same at any DCT scale, so a second is not cheap.
        reduction = _reduction(src.size, ANALYSIS_MIN_SIDE)
        # (not when the analysis decode is split: its index of MCU starts gives the window at the
        # finer scale later, and a finer decode beside it would take a core from its halves;
        # paired A/B on 28 real 24 MP frames × 3 rounds: -0.02 of imread)
        if (stages.concurrent and may_need_finer(src.size, reduction)
                and not src.splits(reduction)):
            src.prefetch(reduction // 2, stages)  # on the second core while this one analyses
        # the faces are found on a reduction of that decode, made (and MTCNN's first stage run
        # on it) as its rows come; the face's own work starts once the rows cover it
        first = FirstStage(det.min_face_share, stages=stages) if stages.concurrent else None
        ahead = (Ahead(first, src, reduction, profile, expected, stages, encode)
                 if first is not None else None)
        base, small = src.decode_shrunk(reduction, det.detect_width, stages,
                                        ahead.feed if ahead is not None else None)
        try:
            faces = detect_faces(small, min_face_px(small.shape, det.min_face_share), det.min_score,
                                 stages=stages, first=first)
        except BaseException:
            if ahead is not None:
                ahead.drop()  # no work on the pool outlives its capture
            raise
        if not faces:
            if ahead is not None:
                ahead.drop()
            return _no_face(small, profile, calibration, src.size)
        # the face guessed during the decode, on the rows of this decode (not a fallback's)
        same = ahead is not None and ahead.fed(small) and faces[0] == ahead.face
        FACE_BOTTOM[src.size] = (faces[0].box[1] + faces[0].box[3]) / small.shape[0]
        k = detection_step(base.shape[1], det.detect_width)  # decode pixels per detection pixel
        faces = [f.mapped(lambda p: (p[0] * k, p[1] * k)) for f in faces]
        r = small_reduction(src, base)
        if same and ahead is not None and ahead.made is not None:  # made on the same face and rows
            lm, framing = ahead.made
            work = ahead.frame()
        else:
            if ahead is not None:
                ahead.drop()
            lm = find_landmarks(base, faces[0], refine=False,  # refined below, on the export frame
                                stages=stages)
            framing = subject_framing(base, lm, faces[0], expected, profile, src.size, r)
        _NEEDED_FINER[src.size] = framing.scale < reduction  # the crop needs a finer decode
        if work is not None:
            frame, framing = work.frame, work.framing
        else:
            frame, framing = _render(src, framing, out)
        src.stop_streams()  # a finer decode started ahead and not (or no longer) needed
        window = framing
        faces = [f.mapped(lambda p: window.point((p[0] * r, p[1] * r))) for f in faces]
        if lm is not None:
            lm = lm.mapped(lambda a: to_frame(a, r, window))
        n_faces = count_faces(faces, profile, window=out)  # those in or near the export photo
    if work is None:
        work = frame_work(frame, framing, faces[0], lm, profile, expected, stages, encode,
                           others=n_faces == 1, refine=not as_is)
    m, encoding = work.measurements, work.encoding
    if n_faces == 1 and work.others is not None:
        n_faces += work.others.result()
    m.face_count = n_faces
    window_share = None if as_is else out[1] * framing.scale / src.size[1]
    checks = evaluate(m, profile, calibration, scale=None if as_is else framing.scale,
                      window_share=window_share, placement=framing.placement)
    if as_is and src.jpeg and src.data is not None:  # an export photo: its file must fit the band
        from station.checks.verdict import file_size

        checks.append(file_size(src.data, profile))
    if colourless(frame):
        checks.insert(0, make_check("readable", "fail", None, None, "grayscale"))
    report = Report("", checks, geometry(m, framing))
    return Analysis(report, frame, framing, m, encoding)


# Frame size → whether the last capture of that size needed a finer decode for its crop. A
# station's camera, zoom and distance stay put through a session, so the next capture likely
# needs the same. Only the speed depends on this guess, never a result.
_NEEDED_FINER: dict[tuple[int, int], bool] = {}


def may_need_finer(size: tuple[int, int], reduction: int) -> bool:
    """Whether to start a finer decode than the analysis one ahead, on another core: as the last
    capture of this size did; without one, for landscape frames (on the real-face bench half the
    24 MP landscape frames needed it: the student fills less of the height; no portrait frame)."""
    if reduction == 1:
        return False
    last = _NEEDED_FINER.get(size)
    return last if last is not None else size[0] > size[1]


def _render(src, framing: Framing, out):
    """The export frame from the smallest decode that needs no upscaling (one already made if any)."""
    from station.checks.subject import export_frame, render_reduction

    made = export_frame(src, render_reduction(src, framing), framing, out)
    assert made is not None  # it waits for the rows
    return made


def _no_face(img, profile: Profile, calibration: Calibration | None,
             size: tuple[int, int]) -> Analysis:
    """Only the face count can be judged; a burnt-out or black frame says why no face was found,
    and an image smaller than the export photo (``size``, as shown) that it is too small."""
    import cv2

    from station.checks.measure import Measurements
    from station.checks.verdict import evaluate, make

    checks = evaluate(Measurements(face_count=0), profile, calibration, scale=None,
                      window_share=None)
    out = profile.size
    if size[0] < out[0] or size[1] < out[1]:
        # a thumbnail or a stray icon: no photo could be cut from it, whatever it shows
        checks.insert(0, make("readable", "fail", list(size), list(out), "too_small",
                              width=size[0], height=size[1], need_w=out[0], need_h=out[1]))
        return Analysis(Report("", checks, {"face_count": 0}))
    if colourless(img):
        checks.insert(0, make("readable", "fail", None, None, "grayscale"))
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    e = profile.exposure
    mean = float(gray.mean())
    over = float((gray >= 235).mean())  # burnt: most of the frame near white
    under = float((gray <= e.under_level).mean())
    if over > 0.3 or mean > e.mean[1]:
        checks.append(make("exposure", "fail", mean, list(e.mean), "over", share=f"{over:.0%}"))
    elif under > 0.5 or mean < e.under_level * 2:
        checks.append(make("exposure", "fail", mean, list(e.mean), "under", share=f"{under:.0%}"))
    return Analysis(Report("", checks, {"face_count": 0}))


GRAY_SPREAD = 3.0  # levels: the mean spread of B, G, R under which a photo is black and white
GRAY_CONTENT = 8.0  # levels of luma deviation a picture has at least (not a black, white or flat frame)


def colourless(img) -> bool:
    """Whether a BGR image is a black-and-white picture (a grayscale file, or a camera set to a
    monochrome picture style): its channels spread less than ``GRAY_SPREAD`` levels on average,
    while it shows something (a black, burnt-out or flat frame is the exposure's business). The
    photo must be 24-bit colour, and every colour check (backdrop, clothing, skin) is meaningless
    on it."""
    import numpy as np

    step = max(1, img.shape[1] // 160)
    px = img[::step, ::step].astype(np.int16)
    spread = px.max(axis=2) - px.min(axis=2)
    if spread.mean() >= GRAY_SPREAD:
        return False
    luma = px.mean(axis=2)
    return bool(luma.std() >= GRAY_CONTENT and 20.0 <= luma.mean() <= 235.0)


def geometry(m: Measurements, framing: Framing) -> dict[str, Any]:
    """The check --json geometry block, in export-frame coordinates."""
    out: dict[str, Any] = {"face_count": m.face_count}
    f = m.face
    if f is None:
        return out
    out.update(eye_left=list(f.eye_left), eye_right=list(f.eye_right), face_box=list(f.box),
               head_top_y=m.head_top, scale=framing.scale, face_width=m.face_width,
               roll_deg=m.roll_deg, window=[framing.x0, framing.y0, framing.scale])
    if m.face_span is not None:
        out["cheeks"] = [list(p) for p in m.face_span]
    return out


def check_image(source: Any, profile: Profile | str | None = None,
                calibration: Calibration | None = None, *, threads: int | None = None) -> Report:
    """Run every check on a capture or export photo (path, bytes or BGR array)."""
    return analyse(source, _profile(profile), calibration, threads=threads).report


def crop_image(source: Any, profile: Profile | str | None = None,
               calibration: Calibration | None = None, *, threads: int | None = None) -> bytes:
    """The export JPEG, or CropError when the capture cannot meet the profile."""
    return check_and_crop(source, profile, calibration, threads=threads)[1]


def check_and_crop(source: Any, profile: Profile | str | None = None,
                   calibration: Calibration | None = None, *,
                   threads: int | None = None) -> tuple[Report, bytes]:
    """Check and encode in one pass (the capture tier). Raises CropError if checks fail."""
    from station.i18n import Bilingual

    prof = _profile(profile)
    result = analyse(source, prof, calibration, threads=threads, encode=True)
    if result.frame is None or not result.report.passed:
        failed = ", ".join(result.report.failed()) or "readable"
        advice = result.report.top_instruction
        if advice is None:
            raise CropError("checks.cannot_crop", image=result.report.image, failed=failed)
        raise CropError("checks.cannot_crop_advice", image=result.report.image, failed=failed,
                        advice=Bilingual(*advice))
    return result.report, result.export_jpeg(prof, strict=True)


def _profile(profile: Profile | str | None) -> Profile:
    from station.checks.profile import Profile, load_profile

    if isinstance(profile, Profile):
        return profile
    return load_profile(profile or "chsi")
