"""Someone or something else in the frame beside or behind the student, read from the backdrop.

Face detectors miss a second person half hidden behind the student's head and cut by the frame's
edge (a third of a face, an ear, some hair). The backdrop mask does not: on a uniform blue, the
student is one silhouette (head, hair, shoulders) rising from the bottom edge, and a seated
student's own body meets the frame's side edges only at the shoulders, below the chin.

- **beside**: the silhouette reaches a side edge of the frame above the mouth line. Long or
  voluminous hair can do that beside the face (loose hair reached it at 0.07–0.3 face widths below
  the eyes on the real-face bench), but then what touches the edge is the student's own hair
  colour; a second person brings a face, other hair or clothes. So a contact above the mouth line
  fails when most of what touches the edge is not the colour of the student's hair (sampled just
  inside the silhouette's outline above the forehead), and any contact above the forehead fails.
- **a face beside the head** (capture tier only, where a frame's few milliseconds allow it): when
  the silhouette reaches out beyond the student's head above the chin (long hair, or someone
  behind), the face-mesh model is asked whether a face is there, with the student's own face
  painted over with the backdrop's blue. Hair and ears read a presence ≤ 0.02 on the bench's good
  photos; a third of another person's face, cut by the edge, reads ≥ 0.9.
- **object**: a non-backdrop patch above the shoulders not joined to the student's silhouette,
  or the silhouette meeting the top edge away from the head (a hand, a sign, a stand, a clamp).

The silhouette's rules run on the half-resolution Lab frame and backdrop mask ``measure`` already
made (about 1 ms); the face probe (two face-mesh runs) only when the silhouette reaches out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from station.checks.detect import Face
    from station.checks.landmarks import Landmarks
    from station.checks.profile import Profile
    from station.checks.report import Check
    from station.checks.workers import Stages

EDGE_BAND = 1 / 60      # × frame width: the columns that count as the frame's side edge
EDGE_FILL = 0.75        # a row touches the edge when this share of the band is subject
OWN_HEAD = 0.75         # × face width: a frame edge closer than this to the face's centre line
                        # is reached by the student's own head (framing's business, not this)
NEAR_EDGE = 0.15        # × face width: what touches is read this far in from the edge
HAIR_RIM = 0.10         # × face width: hair is sampled this far inside the outline …
HAIR_ABOVE = 0.20       # … from rows this far above the eye line, …
HAIR_HALF_WIDTH = 0.45  # … over the columns within this of the face's centre line
HAIR_SIGMA2 = 9.0       # a pixel is the hair's colour within 3 sigma (Mahalanobis², Lab)
BEYOND_HEAD = 0.85      # × face width from the centre line: beyond the student's own head …
BEYOND_AREA = 0.03      # … this much silhouette (face widths², eyes to chin) is worth a face probe
PROBES = ((0.9, 0.15, 1.0), (1.1, 0.15, 1.0))  # (out, down, size) × face width: probe squares
MIN_PIECE = 0.005       # × face width²: smaller patches are specks, not looked at
NEAR_STUDENT = 0.04     # × face width: a patch this close to the silhouette belongs to it
TOP_BAND = 3            # rows that count as the frame's top edge
HEAD_HALF = 0.6         # × face width: the head's own columns at the top edge …
HEAD_TOP_HALF = 0.3     # … unless the head itself is cut by the top edge (then all of them are)


def _subject(mask: np.ndarray) -> np.ndarray:
    import cv2
    import numpy as np

    return cv2.morphologyEx((~mask).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def _hair_model(lab: np.ndarray, subject: np.ndarray, eye_y: float, cx: float,
                fw: float) -> tuple[Any, Any] | None:
    """Mean and inverse covariance (Lab) of the student's hair: the silhouette's rim above the forehead."""
    import cv2
    import numpy as np

    h, w = subject.shape
    rows = max(0, int(eye_y - HAIR_ABOVE * fw))
    x0, x1 = max(0, int(cx - HAIR_HALF_WIDTH * fw)), min(w, int(cx + HAIR_HALF_WIDTH * fw) + 1)
    if rows == 0 or x1 <= x0:
        return None     # no forehead rim inside the frame (a face found at or beyond its edge)
    # distances to the backdrop over that block and a margin around it (the outline's reach)
    pad = int(HAIR_RIM * fw) + 2
    px0, px1 = max(0, x0 - pad), min(w, x1 + pad)
    block = subject[:rows + pad, px0:px1]
    rim = cv2.distanceTransform(block, cv2.DIST_L2, 3)[:rows, x0 - px0:x1 - px0] <= HAIR_RIM * fw
    sel = (subject[:rows, x0:x1] > 0) & rim
    px = lab[:rows, x0:x1][sel].astype(np.float64)
    if px.shape[0] < 20:
        return None
    cov = np.cov(px.T) + np.eye(3) * 4.0  # a few units of slack: JPEG colour is coarse
    return px.mean(axis=0), np.linalg.inv(cov)


def hair_model(lab: np.ndarray, mask: np.ndarray, face: Face, span) -> tuple[Any, Any] | None:
    """Mean and inverse covariance (Lab) of the student's hair, from a frame's Lab pixels and
    backdrop mask (``face`` and ``span`` in the same pixels); None when no rim is in the frame."""
    fw = (span[1][0] - span[0][0]) if span else face.iod / 0.42
    if fw <= 4:
        return None
    cx = (span[0][0] + span[1][0]) / 2 if span else face.eye_mid[0]
    return _hair_model(lab, _subject(mask), face.eye_mid[1], cx, fw)


def in_hair_colour(lab_px: np.ndarray, hair: tuple[Any, Any]) -> np.ndarray:
    """Which Lab pixels (…, 3) are the student's hair colour (within 3 sigma)."""
    import numpy as np

    mean, inv = hair
    d = lab_px.astype(np.float64) - mean
    out: np.ndarray = np.einsum("...i,ij,...j->...", d, inv, d) < HAIR_SIGMA2
    return out


def _edge_contacts(subject: np.ndarray, cx: float, fw: float) -> list[tuple[str, int]]:
    """(side, highest row) where the silhouette touches the frame's left/right edge; a side the
    face itself is close to is left out (the student's own head, cut by a bad framing)."""
    import numpy as np

    w = subject.shape[1]
    band = max(2, int(round(w * EDGE_BAND)))
    found = []
    for side, cols, room in (("left", subject[:, :band], cx), ("right", subject[:, w - band:], w - cx)):
        if room < OWN_HEAD * fw:
            continue
        rows = np.flatnonzero(cols.sum(axis=1) >= EDGE_FILL * band)
        if rows.size:
            found.append((side, int(rows[0])))
    return found


def _hair_share(lab: np.ndarray, subject: np.ndarray, side: str, row: int, eye_y: float, fw: float,
                hair: tuple[Any, Any] | None) -> float:
    """Share of the silhouette next to the edge (contact row down to the mouth line) in hair colour."""
    import numpy as np

    if hair is None:
        return 0.0
    w = subject.shape[1]
    depth = max(2, int(NEAR_EDGE * fw))
    cols = slice(0, depth) if side == "left" else slice(w - depth, w)
    bottom = max(row + 1, int(eye_y + 0.35 * fw))
    px = lab[row:bottom, cols][subject[row:bottom, cols] > 0].astype(np.float64)
    if px.shape[0] == 0:
        return 0.0
    mean, inv = hair
    d = px - mean
    return float((np.einsum("ni,ij,nj->n", d, inv, d) < HAIR_SIGMA2).mean())


def _objects(subject: np.ndarray, face: Face, chin_y: float, cx: float, fw: float) -> float:
    """Largest non-backdrop area (face widths²) in the frame that is not the student."""
    import cv2
    import numpy as np

    h, w = subject.shape
    # 8-connected pieces of an h×w image are at most ⌈h/2⌉·⌈w/2⌉: 16-bit labels when they fit
    # (the same labels, a third less time than 32-bit ones on the half-resolution frame)
    ltype = cv2.CV_16U if ((h + 1) // 2) * ((w + 1) // 2) < 65535 else cv2.CV_32S
    n, labels, stats, _ = cv2.connectedComponentsWithStats(subject, connectivity=8, ltype=ltype)
    ex, ey = (int(min(max(v, 0), lim - 1)) for v, lim in zip(face.eye_mid, (w, h), strict=True))
    student = {int(labels[ey, ex])} | {int(v) for v in np.unique(labels[-2:][subject[-2:] > 0])}
    student.discard(0)
    small = MIN_PIECE * fw * fw  # specks cannot fail the check: not worth looking at
    others = [i for i in range(1, n) if i not in student and stats[i, cv2.CC_STAT_TOP] < chin_y
              and stats[i, cv2.CC_STAT_AREA] >= small]
    largest = 0.0
    if others:
        # pieces within a few pixels of the silhouette are the student's (a strand, a bun's edge)
        r = max(2, int(NEAR_STUDENT * fw))
        near = cv2.dilate(np.isin(labels, list(student)).astype(np.uint8),
                          np.ones((2 * r + 1, 2 * r + 1), np.uint8))
        touching = {int(v) for v in np.unique(labels[near > 0])}
        largest = max((float(stats[i, cv2.CC_STAT_AREA]) for i in others if i not in touching), default=0.0)
    top = np.flatnonzero(subject[:TOP_BAND].sum(axis=0) >= 2)
    head_cut = bool(np.any(np.abs(top - cx) <= HEAD_TOP_HALF * fw))  # framing's business
    far = top[np.abs(top - cx) > HEAD_HALF * fw]
    if far.size and not head_cut:  # the silhouette meets the top edge away from the head
        largest = max(largest, float(subject[: int(chin_y), far].sum()))
    return largest / (fw * fw)


def _beyond_head(subject: np.ndarray, eye_y: float, chin_y: float, cx: float, fw: float) -> list[str]:
    """Sides where the silhouette reaches out beyond the student's head between the eyes and chin."""
    w = subject.shape[1]
    y0, y1 = int(max(0.0, eye_y - 0.3 * fw)), int(max(0.0, chin_y))
    sides = []
    for side, room in (("left", cx), ("right", w - cx)):
        if room < OWN_HEAD * fw:  # the student's own head reaches that edge
            continue
        x = int(cx - BEYOND_HEAD * fw) if side == "left" else int(cx + BEYOND_HEAD * fw)
        band = subject[y0:y1, :max(0, x)] if side == "left" else subject[y0:y1, min(w, x):]
        if float(band.sum()) >= BEYOND_AREA * fw * fw:
            sides.append(side)
    return sides


def probe_faces(frame: np.ndarray, values: dict[str, Any], landmarks: Landmarks,
                span, stages: Stages | None = None) -> dict[str, Any]:
    """The face-mesh model's face presence beside the student's head, on the sides where the
    silhouette reaches out there (``values`` from ``measure_bystander``); the student's own face
    is painted over with the backdrop's blue first. Export-frame coordinates.

    With concurrent ``stages`` every other look runs on another thread (a second interpreter):
    the same presences, half the wait."""
    import cv2
    import numpy as np

    from station.checks.landmarks import FACE_OVAL, Roi, run_mesh
    from station.checks.workers import result_here

    sides = values.get("bystander_beyond") or []
    if not sides:
        return {}
    (lx, ly), (rx, ry) = landmarks.eye_left, landmarks.eye_right
    fw = (span[1][0] - span[0][0]) if span else landmarks.iod / 0.42
    cx = (span[0][0] + span[1][0]) / 2 if span else (lx + rx) / 2
    eye_y = (ly + ry) / 2
    masked = frame.copy()
    drawn = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(drawn, [np.round(landmarks.mesh[list(FACE_OVAL)]).astype(np.int32)], 255)
    grow = max(3, int(0.1 * fw) | 1)
    oval = cv2.dilate(drawn, np.ones((grow, grow), np.uint8))
    lab = values.get("backdrop_lab")
    blue = _lab_to_bgr(lab) if lab is not None else (255, 197, 100)
    masked[oval > 0] = blue
    looks = [(side, Roi(cx + (-1 if side == "left" else 1) * out * fw, eye_y + down * fw, size * fw, 0.0))
             for side in sides for out, down, size in PROBES]

    def presences(rois: list[Roi], copy: int) -> list[float]:
        return [run_mesh(masked, roi, copy)[1] for roi in rois]

    rois = [roi for _, roi in looks]
    if stages is not None and stages.concurrent and len(rois) > 1:
        beside = stages.submit(presences, rois[1::2], 1)
        found = [0.0] * len(rois)
        found[0::2] = presences(rois[0::2], 0)
        odd: list[float] = result_here(beside, presences, rois[1::2], 1)
        found[1::2] = odd
    else:
        found = presences(rois, 0)
    best, where = 0.0, None
    for (side, _), presence in zip(looks, found, strict=True):
        if presence > best:
            best, where = presence, side
    return {"bystander_face": best, "bystander_face_side": where}


def _lab_to_bgr(lab) -> tuple[int, int, int]:
    import cv2
    import numpy as np

    px = np.array([[lab]], np.float32)
    bgr = cv2.cvtColor(px, cv2.COLOR_Lab2BGR)[0, 0]
    return tuple(int(round(float(c) * 255)) for c in np.clip(bgr, 0, 1))  # type: ignore[return-value]


def measure_bystander(lab: np.ndarray, mask: np.ndarray, face: Face, span, chin_y: float,
                      edge_above: float) -> dict[str, Any]:
    """Values for the ``second_person`` check, from a frame's Lab pixels and backdrop mask
    (``face``, ``span`` and ``chin_y`` in the same pixels); the hair's colour is read only for
    side-edge contacts above ``edge_above`` (the profile's line, face widths below the eyes)."""
    fw = (span[1][0] - span[0][0]) if span else face.iod / 0.42
    if fw <= 4:
        return {}
    cx = (span[0][0] + span[1][0]) / 2 if span else face.eye_mid[0]
    eye_y = face.eye_mid[1]
    subject = _subject(mask)
    out: dict[str, Any] = {"bystander_object": _objects(subject, face, chin_y, cx, fw)}
    beyond = _beyond_head(subject, eye_y, chin_y, cx, fw)
    if beyond:
        out["bystander_beyond"] = beyond
    contacts = [(side, (row - eye_y) / fw, row) for side, row in _edge_contacts(subject, cx, fw)]
    high = [c for c in contacts if c[1] <= edge_above]  # only these need the hair's colour
    hair = _hair_model(lab, subject, eye_y, cx, fw) if high else None
    if contacts:
        out["bystander_edges"] = [
            (side, edge, _hair_share(lab, subject, side, row, eye_y, fw, hair) if edge <= edge_above else 1.0)
            for side, edge, row in contacts]
    return out


def verdict(values: dict[str, Any], profile: Profile) -> Check:
    """second_person: fail with what to do when someone or something else is in the frame."""
    from station.checks.verdict import make

    s = profile.second_person
    if values.get("backdrop_delta_e", 0.0) > profile.backdrop.colour_fail:
        # what was taken for the backdrop is not the backdrop's blue (the face fills the frame,
        # the exposure is far off): its mask cannot tell the student from anyone else
        return make("second_person", "warn", None, s.edge_above, "unknown")
    area = float(values.get("bystander_object", 0.0))
    if area >= s.object_area:
        return make("second_person", "fail", area, s.object_area, "object")
    if values.get("bystander_face", 0.0) >= s.face_presence:
        return make("second_person", "fail", values["bystander_face"], s.face_presence,
                    values.get("bystander_face_side") or "left")
    edges = values.get("bystander_edges") or []
    for side, edge, hair in sorted(edges, key=lambda e: e[1]):
        if edge <= s.edge_always or (edge <= s.edge_above and hair < s.hair_share):
            return make("second_person", "fail", edge, s.edge_above, side)
    highest = min((e[1] for e in edges), default=None)
    return make("second_person", "pass", highest, s.edge_above)
