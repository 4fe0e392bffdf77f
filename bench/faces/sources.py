"""The real photographs the bench builds its cases from, and our own annotations of them.

Photographs live outside the repository (``../shared/faces`` and ``../shared/faces-asia`` next to
the project by default); only ``annotations.json`` is committed: per file name, the file's SHA-256
(a different file under the same name is refused), its role (good / excluded / a negative of one
defect family) with the reason, and hand-checked points in the source's pixels: eye centres
(iris centres; for closed eyes the middle of the lid line), the two cheek edges at cheekbone
height (skin against hair or background, ears excluded) and the chin.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

ANNOTATIONS = Path(__file__).with_name("annotations.json")
SETS = ("faces-asia", "faces")  # East Asian set first: it looks like the station's users


class AnnotationMismatch(ValueError):
    pass


@dataclass
class Source:
    set: str                      # "faces" or "faces-asia"
    kind: str                     # "single", "multi" or "none"
    path: Path
    sha256: str
    role: str = "unannotated"     # good | excluded | eyes_closed | uneven_light | head_turned
    reason: str = ""
    eyes: list[tuple[float, float]] = field(default_factory=list)
    cheeks: list[tuple[float, float]] = field(default_factory=list)
    chin: tuple[float, float] | None = None
    verified: bool = False
    notes: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def asia(self) -> bool:
        return self.set == "faces-asia"

    @property
    def iod(self) -> float:
        return math.dist(self.eyes[0], self.eyes[1])

    @property
    def eye_mid(self) -> tuple[float, float]:
        (lx, ly), (rx, ry) = self.eyes
        return (lx + rx) / 2, (ly + ry) / 2

    @property
    def roll_deg(self) -> float:
        (lx, ly), (rx, ry) = self.eyes
        return math.degrees(math.atan2(ry - ly, rx - lx))

    @property
    def cheek_width(self) -> float:
        return math.dist(self.cheeks[0], self.cheeks[1])

    def bgr(self):
        """The photograph as BGR uint8 (alpha dropped: every RGBA source here is opaque)."""
        import cv2
        import numpy as np

        img = cv2.imdecode(np.frombuffer(self.path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"{self.path}: not a readable image")
        return img


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_annotations(path: Path = ANNOTATIONS) -> dict[str, dict]:
    if not path.exists():
        return {}
    return json.loads(path.read_text("utf-8"))["images"]


def save_annotations(images: dict[str, dict], path: Path = ANNOTATIONS) -> None:
    doc = {"about": "Our own measurements of the bench photographs (bench/faces/sources.py). "
                    "Points are (x, y) in the source's pixels, image-left first.",
           "images": dict(sorted(images.items()))}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", "utf-8")
    tmp.replace(path)


def default_roots(project: Path) -> list[Path]:
    """``$STATION_BENCH_FACES`` (folders separated by ':') or ../shared/<set> beside the project."""
    import os

    env = os.environ.get("STATION_BENCH_FACES")
    if env:
        return [Path(p) for p in env.split(":") if p]
    return [project.parent / "shared" / name for name in SETS]


def discover(roots: list[Path], strict: bool = True) -> list[Source]:
    """Every photograph under ``roots`` with its annotation; a SHA-256 mismatch is refused."""
    notes = load_annotations()
    out: list[Source] = []
    for root in roots:
        for kind in ("single", "multi", "none"):
            folder = root / kind
            if not folder.is_dir():
                continue
            for path in sorted(p for p in folder.iterdir() if p.is_file()):
                digest = sha256(path)
                src = Source(root.name, kind, path, digest)
                note = notes.get(path.name)
                if note is not None:
                    if note["sha256"] != digest:
                        if strict:
                            raise AnnotationMismatch(
                                f"{path}: SHA-256 {digest[:12]}… differs from the annotated file "
                                f"({note['sha256'][:12]}…); its points would be wrong, refusing")
                        continue
                    src.role = note.get("role", "unannotated")
                    src.reason = note.get("reason", "")
                    src.eyes = [tuple(p) for p in note.get("eyes", [])]
                    src.cheeks = [tuple(p) for p in note.get("cheeks", [])]
                    src.chin = tuple(note["chin"]) if note.get("chin") else None
                    src.verified = bool(note.get("verified", False))
                    src.notes = note.get("notes", "")
                out.append(src)
    return _dedupe(out)


def _dedupe(sources: list[Source]) -> list[Source]:
    """The same bytes in both sets (e.g. if_woman = insp_face_sample) count once, the first seen."""
    seen: dict[str, Source] = {}
    out = []
    for s in sources:
        if s.sha256 in seen:
            continue
        seen[s.sha256] = s
        out.append(s)
    return out
