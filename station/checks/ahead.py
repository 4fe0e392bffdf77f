"""The face's share of a capture's analysis, made while the decode still runs on the other core.

``Ahead`` is fed the rows of the analysis decode as they come (``Source.decode_shrunk``); the
pipeline uses what it made only when the work after the decode would give exactly the same.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Future

    from station.checks.detect import Face
    from station.checks.frame_work import FrameWork
    from station.checks.framing import Framing
    from station.checks.profile import Profile
    from station.checks.workers import Stages


# Frame size → where the last capture's main face ended (share of the detection image's rows):
# the next capture's guesses during the decode start just below it (the same station, the same
# framing); a face ending too low for its work to end before the decode is not guessed at.
FACE_BOTTOM: dict[tuple[int, int], float] = {}

# Frame size → how long (seconds) the face's work took in the last capture of that size that
# made it during the decode: the guess it settled on, the mesh, the subject and its placement.
# A guess starts only while the decode, at its pace so far, has that long left to run: work
# that would end after the decode only delays what follows it (the same work is then made anyway).
WORK_TIME: dict[tuple[int, int], float] = {}


class Ahead:
    """The face's share of the analysis, made while the decode still runs on the other core.

    A portrait's face sits in the upper part of the frame. From 40 % of the rows on (or just
    below where the last capture of that size had its face; never after 85 %, at most three
    times, and only while the decode has as long left to run as this work took the last time),
    MTCNN looks at the rows fed so far (``FirstStage.guess``, rows below black). Once its main
    face lies well inside the rows the pyramid scales have seen (or was guessed the same on
    fewer rows), the face mesh, irises, subject and placement are made on the decode's rows
    (``made``); once the export window's rows are decoded too, the export frame, its
    measurements, BlazeFace and the encode (``work``: on the pool, while this thread goes on
    following the decode and ends the detection). They count only when the detection on
    the whole image finds exactly ``face`` and every row they read was decoded then: the same
    numbers as made after the decode, earlier (``threads=1`` makes them after it, in turn).
    """

    START = 0.4   # share of the detection image's rows decoded before the first guess ...
    AFTER = 0.05  # ... or this share after where the last capture's face ended
    LAST = 0.85   # no guess after this share: the face's work would end after the decode
    STEP = 0.1    # more rows between guesses
    GUESSES = 3   # at most
    MARGIN = 0.1  # the guessed face's box must end this share of its height above the rows seen
    TRIES = 2     # mesh runs at most (a second when the first read a row not yet decoded)
    PAY = 1.0     # the decode's time left must be this share of the last capture's work time
    FORGET = 0.8  # a capture that refused a guess keeps this share of that time: a slow moment
                  # (the machine busy) does not switch the guesses off for the whole session
    clock = staticmethod(time.perf_counter)

    def __init__(self, first, src, reduction: int, profile: Profile, expected, stages: Stages,
                 encode: bool) -> None:
        self.first, self.src, self.reduction = first, src, reduction
        self.profile, self.expected, self.stages, self.encode = profile, expected, stages, encode
        self.face: Face | None = None  # the guessed main face (detection-image pixels)
        self.made: tuple[Any, Framing] | None = None  # its landmarks and framing (decode pixels)
        self.work: FrameWork | None = None  # the export frame's work
        last = FACE_BOTTOM.get(src.size)
        self._next = self.START if last is None else last + self.AFTER
        self._guesses = 0
        self._last: Face | None = None  # the last guess not yet settled
        self._need = 0      # decode rows the mesh needs
        self._tries = 0
        self._frame_need = 0  # decode rows the export window needs
        self._finer = False  # the export frame comes from a finer decode than this one
        self._pending: Future[FrameWork | None] | None = None  # the frame's work on the pool
        self._base: Any = None  # the decode it is cut from
        self._small: Any = None  # the detection image followed
        self._off = False
        self._started = self.clock()  # the decode starts now
        self._spent = 0.0  # on the face's work so far (the guess it settled on, the mesh, ...)
        self._refused = False

    def feed(self, small, rows: int, base, base_rows: int) -> None:
        if rows >= small.shape[0]:  # the decode has ended (every row is in)
            if (not self._off and self.made is not None and self.work is None
                    and self._pending is None and not self._finer):
                # the export frame's work on the pool while this thread ends the detection
                self._pending = self.stages.submit(self._frame_work, small, base)
                self._base = base
            self.first.feed(small, rows)
            self._small = small
            return  # the rest is made as quickly after the decode
        self.first.feed(small, rows)
        self._small = small
        if self._off:
            return
        try:
            if self.made is None:
                self._face_work(small, rows, base, base_rows)
            if (self.made is not None and self.work is None and self._pending is None
                    and not self._finer):
                self._frame(small, base, base_rows)
        except Exception:  # a guess never fails a capture: the work after the
            self._off = True  # decode runs as without it (and meets any real error itself)
            self.made = self.work = None

    def frame(self) -> FrameWork | None:
        """The export frame's work made on the guessed face (on the pool, from the window's rows
        on); None when there is none (or it failed: the pipeline makes it itself)."""
        from station.checks.workers import result_here

        if self._pending is not None:
            pending, self._pending = self._pending, None
            try:
                self.work = result_here(pending, self._frame_work, self._small, self._base)
            except Exception:
                self.work = None
        return self.work

    def drop(self) -> None:
        """The guess is not used: the frame's work still running on the pool is let end first
        (it uses the models the work after the decode, or the next capture, is about to use)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            if not pending.cancel():
                with contextlib.suppress(Exception):  # its error, if any, the work after meets
                    self.work = pending.result()

    def fed(self, small) -> bool:
        """Whether ``small`` is the image this followed, every row of it."""
        return small is self._small and self.first.rows >= small.shape[0]

    def _face_work(self, small, rows: int, base, base_rows: int) -> None:
        from station.checks.detect import min_face_px
        from station.checks.landmarks import find_landmarks, roi_from_face, rows_read, rows_sampled
        from station.checks.subject import small_reduction, subject_framing

        height = small.shape[0]
        if self._tries >= self.TRIES:
            return
        if self.face is None:
            if rows < self._next * height or rows > self.LAST * height or self._guesses >= self.GUESSES:
                return
            if not self._pays(base_rows, base.shape[0]):
                return
            self._next = rows / height + self.STEP
            self._guesses += 1
            det = self.profile.detector
            began = self.clock()
            faces = self.first.guess(small, min_face_px(small.shape, det.min_face_share), det.min_score)
            self._spent = self.clock() - began
            # the face's work takes at least its guess: a guess that does not settle (a face too
            # low in the frame) must not keep being tried on too few rows
            WORK_TIME[self.src.size] = max(WORK_TIME.get(self.src.size, 0.0), self._spent)
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
        began = self.clock()
        with rows_read() as read:  # one thread: every row the models read is counted
            lm = find_landmarks(base, face, refine=False)
        self._spent += self.clock() - began
        self._need = max(read, default=0)
        if self._need > base_rows:
            return  # the second pass or an eye read rows not yet decoded: again once they are
        if lm is not None and (lm.eye_left[1] + lm.eye_right[1]) / 2 + 1 >= base_rows:
            return  # the subject's measures read the rows down to the eyes
        r = small_reduction(self.src, base)
        began = self.clock()
        self.made = lm, subject_framing(base, lm, face, self.expected, self.profile, self.src.size, r)
        WORK_TIME[self.src.size] = self._spent + self.clock() - began

    def _pays(self, decoded: int, height: int) -> bool:
        """Whether the decode, at its pace so far (``decoded`` of ``height`` rows), has as long
        left to run as the face's work took in the last capture of this frame size (none: yes)."""
        last = WORK_TIME.get(self.src.size)
        if last is None or decoded <= 0:
            return True
        left = (self.clock() - self._started) * (height - decoded) / decoded
        if left >= self.PAY * last:
            return True
        if not self._refused:  # once per capture: a later capture tries (and times) it again
            self._refused = True
            WORK_TIME[self.src.size] = last * self.FORGET
        return False

    def _in_decode(self, small, base) -> Face:
        """The guessed face in the decode's pixels (as ``_analyse`` maps it)."""
        from station.checks.imageio import detection_step

        assert self.face is not None
        k = detection_step(base.shape[1], self.profile.detector.detect_width)
        return self.face.mapped(lambda p: (p[0] * k, p[1] * k))

    def _frame(self, small, base, base_rows: int) -> None:
        """The export frame's work during the decode, once the window's rows are decoded."""
        from station.checks.framing import cut_window
        from station.checks.subject import render_reduction

        assert self.made is not None
        _, framing = self.made
        finer = render_reduction(self.src, framing)
        if finer != self.reduction:
            # the export frame comes from a finer decode: made here only from one streaming
            # ahead on the other core, once the window's rows are in
            self._finer = self.src.streaming(finer) is None
            if not self._finer:
                self.work = self._frame_work(small, base, wait=False)
            return
        if base_rows < self._frame_need:
            return
        _, y, _, h = cut_window(base.shape, framing, self.src.size, self.profile.size)
        self._frame_need = y + h  # the window's last row + 1
        if self._frame_need > base_rows:
            return
        # on the pool: this thread goes on following the decode (its last rows' conversion and
        # MTCNN's first stage on them), which otherwise waited for the frame's work to end
        # (the bench's first file, the one that takes this path: 0.636 → 0.625 of imread in an
        # A/B of 20 rounds under SCHED_FIFO, 0.684 either way under normal scheduling; the other
        # two files did not take it in 6 captures: their differences in that A/B were noise)
        self._pending = self.stages.submit(self._frame_work, small, base)
        self._base = base

    def _frame_work(self, small, base, *, wait: bool = True) -> FrameWork | None:
        """The export frame cut from the decode's rows (or a finer one's: ``export_frame``; None
        without ``wait`` while its rows are not in) and its work (``frame_work.frame_work``)."""
        from station.checks.frame_work import frame_work
        from station.checks.framing import cut
        from station.checks.subject import export_frame, render_reduction, small_reduction, to_frame

        assert self.made is not None
        lm, framing = self.made
        finer = render_reduction(self.src, framing)
        if finer == self.reduction:
            frame, window = cut(base, framing, self.src.size, self.profile.size)
        else:
            made = export_frame(self.src, finer, framing, self.profile.size, wait=wait)
            if made is None:
                return None
            frame, window = made
        r = small_reduction(self.src, base)
        face = self._in_decode(small, base).mapped(lambda p: window.point((p[0] * r, p[1] * r)))
        if lm is not None:
            lm = lm.mapped(lambda a: to_frame(a, r, window))
        return frame_work(frame, window, face, lm, self.profile, self.expected, self.stages,
                          self.encode, others=True, refine=True)
