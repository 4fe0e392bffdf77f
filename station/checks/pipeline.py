"""Capture tier: check a capture as the export would frame it, and make the export JPEG.

A capture is decoded twice at reduced size (JPEG DCT scaling): small to find the face and the
framing, then at the largest reduction that still needs no upscaling to render the export frame.
Every check then runs on that export frame, so what is checked is exactly what is exported.
An image already at the profile's output size is the export frame itself.

Stages that do not need each other's results run side by side (``station.checks.workers``): the
finer decode a landscape frame may need beside the analysis of the coarse one, BlazeFace and the
export encode beside the frame measurements. The analysis decode itself streams its rows
(``station.checks.rowstream``) while this thread makes the detection image and MTCNN's first
stage from them (``detect.FirstStage``), and, once the rows cover the face, the face's own work:
MTCNN's later stages, mesh, irises, subject and placement (``_Ahead``; kept only when the same
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
    from station.checks.detect import Face
    from station.checks.framing import Framing
    from station.checks.measure import Measurements
    from station.checks.placement import Subject
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


def count_faces(faces, profile: Profile) -> int:
    """Faces that matter: the main one and any other at least ``second_face_share`` of its size."""
    if not faces:
        return 0
    main = faces[0].box[2]
    return 1 + sum(1 for f in faces[1:] if f.box[2] >= main * profile.detector.second_face_share)


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
    from station.checks.detect import FirstStage, detect_faces
    from station.checks.framing import cut, identity_framing
    from station.checks.landmarks import find_landmarks
    from station.checks.verdict import evaluate

    out = profile.size
    det = profile.detector
    expected = expected_backdrop(profile, calibration)
    as_is = src.size == out
    work = None
    if as_is:
        frame = src.decode(1)
        faces = detect_faces(frame, det.min_face_share * out[0], det.min_score)
        n_faces = count_faces(faces, profile)
        if not faces:
            return _no_face(frame, profile, calibration)
        lm = find_landmarks(frame, faces[0], stages=stages)
        framing = identity_framing()
    else:
        # One decode serves finding the face, its landmarks and (usually) the crop: for noisy
        # camera JPEGs Huffman decoding costs the same at any DCT scale, so a second is not cheap.
        reduction = _reduction(src.size, ANALYSIS_MIN_SIDE)
        if stages.concurrent and may_need_finer(src.size, reduction):
            src.prefetch(reduction // 2, stages)  # on the second core while this one analyses
        # the faces are found on a reduction of that decode, made (and MTCNN's first stage run
        # on it) as its rows come; the face's own work starts once the rows cover it
        first = FirstStage(det.min_face_share) if stages.concurrent else None
        ahead = (_Ahead(first, src, reduction, profile, expected, stages, encode)
                 if first is not None else None)
        base, small = src.decode_shrunk(reduction, det.detect_width, stages,
                                        ahead.feed if ahead is not None else None)
        faces = detect_faces(small, det.min_face_share * small.shape[1], det.min_score,
                             stages=stages, first=first)
        n_faces = count_faces(faces, profile)
        if not faces:
            return _no_face(small, profile, calibration)
        # the face guessed during the decode, on the rows of this decode (not a fallback's)
        same = ahead is not None and ahead.fed(small) and faces[0] == ahead.face
        _FACE_BOTTOM[src.size] = (faces[0].box[1] + faces[0].box[3]) / small.shape[0]
        k = base.shape[1] / small.shape[1]
        faces = [f.mapped(lambda p: (p[0] * k, p[1] * k)) for f in faces]
        r = small_reduction(src, base)
        if same and ahead is not None and ahead.made is not None:  # made on the same face and rows
            lm, framing = ahead.made
            work = ahead.work
        else:
            lm = find_landmarks(base, faces[0], refine=False,  # refined below, on the export frame
                                stages=stages)
            framing = _framing(base, lm, faces[0], expected, profile, src.size, r)
        _NEEDED_FINER[src.size] = framing.scale < reduction  # the crop needs a finer decode
        if work is not None:
            frame, framing = work.frame, work.framing
        else:
            frame, framing = _render(src, framing, out, cut)
        window = framing
        faces = [f.mapped(lambda p: window.point((p[0] * r, p[1] * r))) for f in faces]
        if lm is not None:
            lm = lm.mapped(lambda a: _map_array(a, r, window))
    if work is None:
        work = _frame_work(frame, framing, faces[0], lm, profile, expected, stages, encode,
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
    report = Report("", checks, geometry(m, framing))
    return Analysis(report, frame, framing, m, encoding)


@dataclass
class _FrameWork:
    """What the analysis makes from the export frame, its main face and landmarks."""

    frame: Any
    framing: Framing
    measurements: Measurements
    others: Future[int] | None          # BlazeFace's count of faces beside the main one
    encoding: tuple[Profile, Future[bytes]] | None


def _frame_work(frame, framing: Framing, face, lm, profile: Profile, expected, stages: Stages,
                encode: bool, *, others: bool, refine: bool) -> _FrameWork:
    """The frame measurements of ``face`` (export pixels) with BlazeFace's count of faces beside
    it (``others``) and the export encode beside them."""
    from station.checks.bystander import probe_faces
    from station.checks.detect import other_faces
    from station.checks.landmarks import near_roll_limit, refine_irises
    from station.checks.measure import measure

    # MTCNN misses a face half hidden behind the student: ask BlazeFace too
    beside = stages.submit(other_faces, frame, face, profile.detector.second_face_share) if others else None
    encoding = (profile, stages.submit(_encode_strict, frame, profile)) if encode else None
    if refine and lm is not None and near_roll_limit(lm):
        # the roll near its limit is read on the export frame itself, as `station check` reads
        # it on the crop: both tiers give the same verdict on the same pixels
        lm = refine_irises(frame, lm, stages)
    m = measure(frame, [face], lm, profile, expected)  # the main face only
    if lm is not None:  # someone half hidden beside the head: the face mesh asked there (bystander)
        m.values.update(probe_faces(frame, m.values, lm, m.face_span, stages))
    return _FrameWork(frame, framing, m, beside, encoding)


def _framing(base, lm, face, expected, profile: Profile, size: tuple[int, int],
             r: float) -> Framing:
    """Where the export frame sits in the capture: placed on the subject the landmarks measure."""
    from station.checks.framing import Framing
    from station.checks.placement import place

    if lm is None:  # a detection the mesh does not confirm: frame on the detection, geometry unknown
        return _fallback_framing(face, r, profile, size)
    spot = place(measure_subject(base, lm, expected, profile, r), profile, size)
    return Framing(spot.x0, spot.y0, spot.scale, spot)


class _Ahead:
    """The face's share of the analysis, made while the decode still runs on the other core.

    A portrait's face sits in the upper part of the frame. From 40 % of the rows on (or just
    below where the last capture of that size had its face; never after 85 %, at most three
    times), MTCNN looks at the rows fed so far (``FirstStage.guess``, rows below black). Once
    its main face lies well inside the rows the pyramid scales have seen (or was guessed the
    same on fewer rows), the face mesh, irises, subject and placement are made on the decode's
    rows (``made``); once the export window's rows are decoded too, the export frame, its
    measurements, BlazeFace and the encode (``work``). They count only when the detection on the whole image finds
    exactly ``face`` and every row they read was decoded then: the same numbers as made after
    the decode, earlier (``threads=1`` makes them after it, in turn).
    """

    START = 0.4   # share of the detection image's rows decoded before the first guess ...
    AFTER = 0.05  # ... or this share after where the last capture's face ended
    LAST = 0.85   # no guess after this share: the face's work would end after the decode
    STEP = 0.1    # more rows between guesses
    GUESSES = 3   # at most
    MARGIN = 0.1  # the guessed face's box must end this share of its height above the rows seen
    TRIES = 2     # mesh runs at most (a second when the first read a row not yet decoded)

    def __init__(self, first, src, reduction: int, profile: Profile, expected, stages: Stages,
                 encode: bool) -> None:
        self.first, self.src, self.reduction = first, src, reduction
        self.profile, self.expected, self.stages, self.encode = profile, expected, stages, encode
        self.face: Face | None = None  # the guessed main face (detection-image pixels)
        self.made: tuple[Any, Framing] | None = None  # its landmarks and framing (decode pixels)
        self.work: _FrameWork | None = None  # the export frame's work
        last = _FACE_BOTTOM.get(src.size)
        self._next = self.START if last is None else last + self.AFTER
        self._guesses = 0
        self._last: Face | None = None  # the last guess not yet settled
        self._need = 0      # decode rows the mesh needs
        self._tries = 0
        self._frame_need = 0  # decode rows the export window needs (-1: not from this decode)
        self._small: Any = None  # the detection image followed
        self._off = False

    def feed(self, small, rows: int, base, base_rows: int) -> None:
        self.first.feed(small, rows)
        self._small = small
        if rows >= small.shape[0] or self._off:
            return  # the decode has ended: the ordinary path is as quick
        try:
            if self.made is None:
                self._face_work(small, rows, base, base_rows)
            if self.made is not None and self.work is None and self._frame_need >= 0:
                self._frame(small, base, base_rows)
        except Exception:  # a guess never fails a capture: the work after the
            self._off = True  # decode runs as without it (and meets any real error itself)
            self.made = self.work = None

    def fed(self, small) -> bool:
        """Whether ``small`` is the image this followed, every row of it."""
        return small is self._small and self.first.rows >= small.shape[0]

    def _face_work(self, small, rows: int, base, base_rows: int) -> None:
        from station.checks.landmarks import find_landmarks, roi_from_face, rows_read, rows_sampled

        height = small.shape[0]
        if self._tries >= self.TRIES:
            return
        if self.face is None:
            if rows < self._next * height or rows > self.LAST * height or self._guesses >= self.GUESSES:
                return
            self._next = rows / height + self.STEP
            self._guesses += 1
            det = self.profile.detector
            faces = self.first.guess(small, det.min_face_share * small.shape[1], det.min_score)
            if not faces:
                return
            _, y, _, h = faces[0].box
            # settled when the rows every scale that finds faces from half to twice its size
            # has seen pass it well (smaller and larger candidates cannot take its place); or
            # when the same face was guessed on fewer rows
            seen = min(rows, self.first.covered(h / 2, 2 * h))
            if faces[0] != self._last and y + h * (1 + self.MARGIN) > seen:
                self._last = faces[0]
                return
            self.face = faces[0]
        face = self._in_decode(small, base)
        self._need = max(self._need, rows_sampled(base.shape[0], roi_from_face(face)))
        if base_rows < self._need:
            return
        self._tries += 1
        with rows_read() as read:  # one thread: every row the models read is counted
            lm = find_landmarks(base, face, refine=False)
        self._need = max(read, default=0)
        if self._need > base_rows:
            return  # the second pass or an eye read rows not yet decoded: again once they are
        if lm is not None and (lm.eye_left[1] + lm.eye_right[1]) / 2 + 1 >= base_rows:
            return  # the subject's measures read the rows down to the eyes
        r = small_reduction(self.src, base)
        self.made = lm, _framing(base, lm, face, self.expected, self.profile, self.src.size, r)

    def _in_decode(self, small, base) -> Face:
        """The guessed face in the decode's pixels (as ``_analyse`` maps it)."""
        assert self.face is not None
        k = base.shape[1] / small.shape[1]
        return self.face.mapped(lambda p: (p[0] * k, p[1] * k))

    def _frame(self, small, base, base_rows: int) -> None:
        from station.checks.framing import cut

        assert self.made is not None
        lm, framing = self.made
        if _render_reduction(self.src, framing) != self.reduction:
            self._frame_need = -1  # the export frame comes from a finer decode
            return
        if base_rows < self._frame_need:
            return
        out = self.profile.size
        frame, window = cut(base, framing, self.src.size, out)
        ky = base.shape[0] / self.src.size[1]
        bottom = round((window.y0 + window.scale * out[1]) * ky)  # the window's last row + 1
        if bottom > base_rows:
            self._frame_need = -1 if bottom >= base.shape[0] else bottom
            return
        r = small_reduction(self.src, base)
        face = self._in_decode(small, base).mapped(lambda p: window.point((p[0] * r, p[1] * r)))
        if lm is not None:
            lm = lm.mapped(lambda a: _map_array(a, r, window))
        self.work = _frame_work(frame, window, face, lm, self.profile, self.expected, self.stages,
                                self.encode, others=True, refine=True)


def _encode_strict(frame, profile: Profile) -> bytes:
    from station.checks.imageio import encode_jpeg

    return encode_jpeg(frame, profile, strict=True)


# Frame size → whether the last capture of that size needed a finer decode for its crop. A
# station's camera, zoom and distance stay put through a session, so the next capture likely
# needs the same. Only the speed depends on this guess, never a result.
_NEEDED_FINER: dict[tuple[int, int], bool] = {}


# Frame size → where the last capture's main face ended (share of the detection image's rows):
# the next capture's guesses during the decode start just below it (the same station, the same
# framing); a face ending too low for its work to end before the decode is not guessed at.
_FACE_BOTTOM: dict[tuple[int, int], float] = {}


def may_need_finer(size: tuple[int, int], reduction: int) -> bool:
    """Whether to start a finer decode than the analysis one ahead, on another core: as the last
    capture of this size did; without one, for landscape frames (on the real-face bench half the
    24 MP landscape frames needed it: the student fills less of the height; no portrait frame)."""
    if reduction == 1:
        return False
    last = _NEEDED_FINER.get(size)
    return last if last is not None else size[0] > size[1]


def _map_array(a, r: float, framing: Framing):
    """Points (N, 2) of the reduced decode → export pixels."""
    return (a * r - [framing.x0, framing.y0]) / framing.scale


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


def _render(src, framing: Framing, out, cut):
    """The export frame from the smallest decode that needs no upscaling (one already made if any)."""
    return cut(src.decode(_render_reduction(src, framing)), framing, src.size, out)


def _render_reduction(src, framing: Framing) -> int:
    usable = [r for r in (8, 4, 2, 1) if framing.scale / r >= 1.0 or r == 1]
    done = [r for r in usable if src.decoded(r)]
    return done[0] if done else usable[0]


def _no_face(img, profile: Profile, calibration: Calibration | None) -> Analysis:
    """Only the face count can be judged; a burnt-out or black frame says why no face was found."""
    import cv2

    from station.checks.measure import Measurements
    from station.checks.verdict import evaluate, make

    checks = evaluate(Measurements(face_count=0), profile, calibration, scale=None,
                      window_share=None)
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
