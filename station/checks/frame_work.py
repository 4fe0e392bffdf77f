"""What the analysis makes from the export frame: the frame measurements of the main face, with
BlazeFace's look for faces beside it and the export encode on the stage pool meanwhile."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.checks.framing import Framing
    from station.checks.measure import Measurements
    from station.checks.profile import Profile
    from station.checks.workers import Stages


@dataclass
class FrameWork:
    """What the analysis makes from the export frame, its main face and landmarks."""

    frame: Any
    framing: Framing
    measurements: Measurements
    others: Future[int] | None          # BlazeFace's count of faces beside the main one
    encoding: tuple[Profile, Future[bytes]] | None


def frame_work(frame, framing: Framing, face, lm, profile: Profile, expected, stages: Stages,
                encode: bool, *, others: bool, refine: bool) -> FrameWork:
    """The frame measurements of ``face`` (export pixels) with BlazeFace's count of faces beside
    it (``others``) and the export encode beside them."""
    from station.checks.bystander import probe_faces
    from station.checks.detect import other_faces
    from station.checks.landmarks import near_roll_limit, refine_irises
    from station.checks.measure import measure

    # MTCNN misses a face half hidden behind the student: ask BlazeFace too
    beside = stages.submit(other_faces, frame, face, profile.detector.second_face_share) if others else None
    encoding = (profile, stages.submit(encode_strict, frame, profile)) if encode else None
    if refine and lm is not None and near_roll_limit(lm):
        # the roll near its limit is read on the export frame itself, as `station check` reads
        # it on the crop: both tiers give the same verdict on the same pixels
        lm = refine_irises(frame, lm, stages)
    m = measure(frame, [face], lm, profile, expected)  # the main face only
    if lm is not None:  # someone half hidden beside the head: the face mesh asked there (bystander)
        m.values.update(probe_faces(frame, m.values, lm, m.face_span, stages))
    return FrameWork(frame, framing, m, beside, encoding)


def encode_strict(frame, profile: Profile) -> bytes:
    from station.checks.imageio import encode_jpeg

    return encode_jpeg(frame, profile, strict=True)
