"""Live-view tier: the same checks on every preview frame, fast enough for 25+ frames/s on one core.

Frames are reduced to ``profile.live.frame_width``; MTCNN runs every ``detect_every`` frames and
the face is tracked by template matching in between. The result carries the single most
important instruction for the photographer and guide geometry for the overlay, in the
coordinates of the frame that was passed in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from station.checks.detect import Face
from station.checks.profile import Profile
from station.checks.report import Check, top_instruction


@dataclass
class LiveReport:
    checks: list[Check]
    face: Face | None = None              # main face, frame coordinates
    guides: dict[str, Any] = field(default_factory=dict)
    tracked: bool = False                 # landmarks from tracking, not a fresh detection
    elapsed_ms: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.status != "fail" for c in self.checks)

    @property
    def top_instruction(self) -> tuple[str, str] | None:
        """The one fix to make first, (zh, en); None when everything passes."""
        return top_instruction(self.checks)

    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.status == "fail"]

    def to_json(self) -> dict:
        return {"passed": self.passed, "checks": [c.to_json() for c in self.checks],
                "top_instruction": list(self.top_instruction) if self.top_instruction else None,
                "guides": self.guides, "tracked": self.tracked, "elapsed_ms": round(self.elapsed_ms, 1)}


class LiveChecker:
    """Stateful per camera: keeps the face's landmarks between frames. Not thread-safe; one worker.

    The face mesh runs on every frame from the previous frame's landmarks (as MediaPipe tracks);
    MTCNN runs every ``detect_every`` frames to count faces, and whenever the mesh loses the face.
    """

    def __init__(self, profile: Profile | str | None = None, calibration=None,
                 capture_size: tuple[int, int] | None = None) -> None:
        from station.checks.pipeline import _profile, expected_backdrop

        self.profile = _profile(profile)
        self.calibration = calibration
        self.capture_size = capture_size
        self._expected = expected_backdrop(self.profile, calibration)
        self._frame_no = 0
        self._face: Face | None = None
        self._landmarks: Any = None
        self._faces: list[Face] = []  # the last detection's, main face first
        self._blocked: tuple[int, list[str]] | None = None

    def reset(self) -> None:
        self._face, self._landmarks, self._frame_no = None, None, 0

    def analyse(self, frame_bgr) -> LiveReport:
        import cv2

        from station.checks.framing import Framing, cut
        from station.checks.imageio import as_bgr
        from station.checks.landmarks import find_landmarks
        from station.checks.measure import Measurements, measure
        from station.checks.pipeline import count_faces
        from station.checks.placement import place
        from station.checks.subject import measure_subject
        from station.checks.verdict import evaluate

        started = time.perf_counter()
        frame = as_bgr(frame_bgr)
        prof = self.profile
        h, w = frame.shape[:2]
        f = min(1.0, prof.live.frame_width / w)
        small = frame if f == 1.0 else cv2.resize(frame, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)
        fresh = self._landmarks is None or self._frame_no % max(1, int(prof.live.detect_every)) == 0
        lm = None
        if not fresh:
            lm = find_landmarks(small, roi=self._landmarks.roi(), passes=1, refine=False)
            fresh = lm is None
        if fresh:
            lm = self._detect(small)
        self._frame_no += 1
        self._landmarks = lm
        if lm is None or self._face is None:
            checks = evaluate(Measurements(face_count=0), prof, self.calibration, scale=None,
                              window_share=None)
            return LiveReport(checks, elapsed_ms=(time.perf_counter() - started) * 1000)
        subject = measure_subject(small, lm, self._expected, prof)
        spot = place(subject, prof, (small.shape[1], small.shape[0]), min_scale=self._min_scale(small),
                     diagnose=self._diagnose_now())
        if not spot.feasible:
            if spot.blocked:
                self._blocked = (self._frame_no, spot.blocked)
            elif self._blocked is not None:
                spot.blocked = self._blocked[1]
        framing = Framing(spot.x0 / f, spot.y0 / f, spot.scale / f, spot)
        export, framing = cut(frame, framing, (w, h), prof.size)  # full detail for sharpness
        face = self._face_now(lm)
        x0, y0, k = framing.x0, framing.y0, 1.0 / framing.scale
        m = measure(export, [face.mapped(lambda p: ((p[0] / f - x0) * k, (p[1] / f - y0) * k))],
                    lm.mapped(lambda a: (a / f - [x0, y0]) * k), prof, self._expected)
        # the faces the export photo would show: someone at the edge of the view, outside it, is not
        # a retake (as the capture counts them)
        m.face_count = count_faces([g.mapped(lambda p: ((p[0] / f - x0) * k, (p[1] / f - y0) * k))
                                    for g in self._faces], prof, window=prof.size)
        scale = None
        if self.capture_size:
            scale = framing.scale * self.capture_size[0] / w
        share = prof.size[1] * framing.scale / h
        checks = [_advisory(c) for c in evaluate(m, prof, self.calibration, scale=scale,
                                                 window_share=share, placement=spot)]
        report = LiveReport(checks, face.mapped(lambda p: (p[0] / f, p[1] / f)), tracked=not fresh)
        report.guides = self._guides(framing, m)
        report.elapsed_ms = (time.perf_counter() - started) * 1000
        return report

    def _min_scale(self, small) -> float:
        """The smallest window (small-frame px per export px) that a capture can still fill:
        from the capture's resolution when known, else the profile's share of the frame height."""
        r = self.profile.resolution
        if self.capture_size:
            return float(r.min_scale) * small.shape[1] / self.capture_size[0]
        return float(r.min_window_share) * small.shape[0] / self.profile.size[1]

    def _diagnose_now(self) -> bool:
        """Working out why no crop fits takes a few solves: once every few frames is enough."""
        return self._blocked is None or self._frame_no - self._blocked[0] >= 4

    def _detect(self, small):
        from station.checks.detect import detect_faces, min_face_px
        from station.checks.landmarks import find_landmarks

        det = self.profile.detector
        faces = detect_faces(small, min_face_px(small.shape, det.min_face_share), det.min_score, fallback=False)
        self._faces = faces  # counted once the export window is placed (``analyse``)
        if not faces:
            self._face = None
            return None
        self._face = faces[0]
        return find_landmarks(small, faces[0], passes=2, refine=False)

    def _face_now(self, lm) -> Face:
        """The detection's box moved with the landmarks (tracked frames have no fresh box)."""
        from station.checks.landmarks import precise_face

        assert self._face is not None
        x, y, bw, bh = self._face.box
        cx, cy = lm.point(1)
        ox, oy = self._face.nose
        face = Face((x + cx - ox, y + cy - oy, bw, bh), self._face.score, self._face.eye_left,
                    self._face.eye_right, (cx, cy), self._face.mouth_left, self._face.mouth_right)
        return precise_face(face, lm)

    def _guides(self, framing, m) -> dict[str, Any]:
        """Export window, head-top line and bands, eye band, face width: live-frame coordinates."""
        prof = self.profile

        def back(x: float, y: float) -> list[float]:
            p = framing.back((x, y))
            return [round(float(p[0]), 1), round(float(p[1]), 1)]

        w, h = prof.size
        lo_t, hi_t = prof.safe_range("head_top")
        lo_e, hi_e = prof.safe_range("eye_line")
        guides: dict[str, Any] = {
            "window": [back(0, 0), back(w, 0), back(w, h), back(0, h)],
            "head_top_band": [[back(0, lo_t), back(w, lo_t)], [back(0, hi_t), back(w, hi_t)]],
            "eye_band": [[back(0, lo_e), back(w, lo_e)], [back(0, hi_e), back(w, hi_e)]],
            "scale": round(framing.scale, 4),
        }
        if m.head_top is not None:
            guides["head_top_line"] = [back(0, m.head_top), back(w, m.head_top)]
        if m.face_span is not None:
            lo_w, hi_w = prof.safe_range("face_width")
            guides["face_width"] = {"measured": [back(*m.face_span[0]), back(*m.face_span[1])],
                                    "min_px": round(lo_w * framing.scale, 1),
                                    "max_px": round(hi_w * framing.scale, 1)}
        return guides



# What the preview stream cannot judge for the capture: its focus (the camera focuses for the
# shot, and the preview is a small, compressed, upscaled picture). A clear blur is shown as a
# warning, a slightly soft preview not at all; the capture tier judges the photo itself.
ADVISORY = frozenset({"sharpness"})


def _advisory(check: Check) -> Check:
    if check.name not in ADVISORY or check.status == "pass":
        return check
    if check.status == "warn":
        from station.checks.verdict import make

        return make(check.name, "pass", check.value, check.limit)
    return Check(check.name, "warn", check.value, check.limit, check.message_zh, check.message_en)
