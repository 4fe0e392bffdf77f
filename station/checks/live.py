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
    """Stateful per camera: keeps the tracked face between detections. Not thread-safe; one worker."""

    def __init__(self, profile: Profile | str | None = None, calibration=None,
                 capture_size: tuple[int, int] | None = None) -> None:
        from station.checks.pipeline import _profile, expected_backdrop

        self.profile = _profile(profile)
        self.calibration = calibration
        self.capture_size = capture_size
        self._expected = expected_backdrop(self.profile, calibration)
        self._frame_no = 0
        self._face: Face | None = None
        self._template: tuple[Any, tuple[int, int]] | None = None
        self._faces = 0
        self._eyes = None

    def reset(self) -> None:
        self._face, self._template, self._frame_no = None, None, 0

    def analyse(self, frame_bgr) -> LiveReport:
        import cv2

        from station.checks.framing import frame_capture, warp
        from station.checks.imageio import as_bgr
        from station.checks.measure import measure
        from station.checks.verdict import evaluate

        started = time.perf_counter()
        frame = as_bgr(frame_bgr)
        prof = self.profile
        h, w = frame.shape[:2]
        f = min(1.0, prof.live.frame_width / w)
        small = frame if f == 1.0 else cv2.resize(frame, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        fresh = self._face is None or self._frame_no % max(1, int(prof.live.detect_every)) == 0
        face = None
        if not fresh:
            face = self._track(gray)
            fresh = face is None
        if fresh:
            face = self._detect(small, gray)
        self._frame_no += 1
        if face is None:
            from station.checks.measure import Measurements

            checks = evaluate(Measurements(face_count=0), prof, self.calibration, scale=None, window_share=None)
            return LiveReport(checks, elapsed_ms=(time.perf_counter() - started) * 1000)
        framing = frame_capture(small, face, prof)
        out = prof.size
        export = warp(frame, framing.for_reduction(f), out, fast=True)  # full detail for sharpness
        mapped = face.mapped(framing.point)
        m = measure(export, [mapped], prof, self._expected, eyes=fresh)
        m.face_count = self._faces
        if fresh:
            self._eyes = m.values.get("eyes_found")
        elif self._eyes is not None:
            m.values["eyes_found"] = self._eyes
        scale = None
        if self.capture_size:
            scale = framing.scale * self.capture_size[0] / small.shape[1]
        share = out[1] * framing.scale / small.shape[0]
        checks = evaluate(m, prof, self.calibration, scale=scale, window_share=share)
        report = LiveReport(checks, face.mapped(lambda p: (p[0] / f, p[1] / f)), tracked=not fresh)
        report.guides = self._guides(framing, m, f)
        report.elapsed_ms = (time.perf_counter() - started) * 1000
        return report

    def _detect(self, small, gray) -> Face | None:
        from station.checks.detect import detect_faces
        from station.checks.pipeline import count_faces

        det = self.profile.detector
        faces = detect_faces(small, det.min_face_share * small.shape[1], det.min_score, fallback=False)
        self._faces = count_faces(faces, self.profile)
        if not faces:
            self._face, self._template = None, None
            return None
        self._face = faces[0]
        x, y, bw, bh = (int(v) for v in faces[0].box)
        x, y = max(0, x), max(0, y)
        self._template = (gray[y:y + bh, x:x + bw].copy(), (x, y))
        return self._face

    def _track(self, gray) -> Face | None:
        """Follow the last detected face by template matching in a window around it."""
        import cv2

        if self._template is None or self._face is None:
            return None
        tpl, (tx, ty) = self._template
        th, tw = tpl.shape[:2]
        if th < 8 or tw < 8:
            return None
        pad = int(0.3 * max(tw, th))
        x0, y0 = max(0, tx - pad), max(0, ty - pad)
        region = gray[y0:ty + th + pad, x0:tx + tw + pad]
        if region.shape[0] < th or region.shape[1] < tw:
            return None
        res = cv2.matchTemplate(region, tpl, cv2.TM_CCOEFF_NORMED)
        _, score, _, loc = cv2.minMaxLoc(res)
        if score < 0.6:
            return None
        dx, dy = x0 + loc[0] - tx, y0 + loc[1] - ty
        return self._face.mapped(lambda p: (p[0] + dx, p[1] + dy))

    def _guides(self, framing, m, f: float) -> dict[str, Any]:
        """Export window, head-top line and bands, eye band, face width: live-frame coordinates."""
        import numpy as np

        prof = self.profile
        inv = np.linalg.inv(np.vstack([np.array(framing.matrix), [0, 0, 1]]))[:2]

        def back(x: float, y: float) -> list[float]:
            p = inv @ np.array([x, y, 1.0])
            return [round(float(p[0]) / f, 1), round(float(p[1]) / f, 1)]

        w, h = prof.size
        lo_t, hi_t = prof.safe_range("head_top")
        lo_e, hi_e = prof.safe_range("eye_line")
        guides: dict[str, Any] = {
            "window": [back(0, 0), back(w, 0), back(w, h), back(0, h)],
            "head_top_band": [[back(0, lo_t), back(w, lo_t)], [back(0, hi_t), back(w, hi_t)]],
            "eye_band": [[back(0, lo_e), back(w, lo_e)], [back(0, hi_e), back(w, hi_e)]],
            "scale": round(framing.scale / f, 4),
        }
        if m.head_top is not None:
            guides["head_top_line"] = [back(0, m.head_top), back(w, m.head_top)]
        if m.face_span is not None and m.face is not None:
            y = m.face.eye_mid[1] + prof.geometry.cheek_row_iod * m.face.iod
            lo_w, hi_w = prof.safe_range("face_width")
            guides["face_width"] = {"measured": [back(m.face_span[0], y), back(m.face_span[1], y)],
                                    "min_px": round(lo_w * framing.scale / f, 1),
                                    "max_px": round(hi_w * framing.scale / f, 1)}
        return guides
