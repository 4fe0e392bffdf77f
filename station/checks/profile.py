"""Export profiles: the photo target (size, file, geometry, thresholds) as declarative TOML.

A profile lives in ``exports/<name>.toml`` so that another school's blue or another print size is a
new file, not new code. Sections are exposed as attribute namespaces: ``profile.geometry.head_top``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from station.errors import InputError, Location, NotFoundError

# Every key the checks read; a profile missing one is refused when loaded, naming the field.
REQUIRED: dict[str, tuple[str, ...]] = {
    "output": ("width", "height", "dpi", "min_quality", "max_quality", "min_kb", "max_kb",
               "size_margin_kb"),
    "geometry": ("head_top", "eye_line", "face_width", "centre_offset", "roll_deg",
                 "cheek_row_iod"),
    "margins": ("head_top", "eye_line", "face_width"),
    "placement": ("head_top", "eye_line", "face_width", "keep_inside"),
    "backdrop": ("reference_rgb", "colour_warn", "colour_fail", "mask_distance", "mask_l_weight",
                 "head_top_dark_l", "uniformity_warn", "uniformity_fail", "shadow_warn", "shadow_fail"),
    "clothing": ("min_delta_e_warn", "min_delta_e_fail", "blue_share_fail", "empty_delta_e",
                 "min_clothes_share"),
    "sharpness": ("iod_px", "min_focus", "min_structure", "calibrated_ratio", "warn_ratio"),
    "exposure": ("over_level", "under_level", "over_share", "under_share", "mean", "mean_warn",
                 "frame_dark_l", "frame_dark_mean", "frame_bright_l", "frame_bright_mean"),
    "lighting": ("difference_warn", "difference_fail"),
    "eyes": ("closed_below", "warn_below"),
    "mouth": ("open_warn", "open_fail"),
    "pose": ("turn_warn", "turn_fail"),
    "tint": ("under_eye_warn", "under_eye_fail"),
    "glare": ("v_level", "s_level", "blob_share_warn", "blob_share_fail"),
    "resolution": ("min_scale", "min_window_share"),
    "detector": ("min_face_share", "second_face_share", "min_score", "detect_width"),
    "second_person": ("edge_above", "edge_always", "hair_share", "object_area", "face_presence"),
    "live": ("detect_every", "frame_width"),
}


@dataclass(frozen=True)
class Profile:
    name: str
    title_zh: str
    title_en: str
    path: Path
    sections: dict[str, SimpleNamespace] = field(repr=False)

    def __getattr__(self, name: str) -> SimpleNamespace:
        try:
            return self.__dict__["sections"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def size(self) -> tuple[int, int]:
        return int(self.output.width), int(self.output.height)

    def safe_range(self, item: str) -> tuple[float, float]:
        """The published bound for ``item`` shrunk by its safety margin: what the station enforces."""
        lo, hi = getattr(self.geometry, item)
        margin = getattr(self.margins, item, 0)
        return lo + margin, hi - margin

    @property
    def size_bounds(self) -> tuple[int, int]:
        """File size bounds in bytes, with the margin inside them."""
        out = self.output
        return (int((out.min_kb + out.size_margin_kb) * 1024),
                int((out.max_kb - out.size_margin_kb) * 1024))


def profile_path(name: str) -> Path:
    from station.paths import EXPORTS_DIR

    candidate = Path(name)
    if candidate.suffix == ".toml" and candidate.exists():
        return candidate
    return EXPORTS_DIR / f"{name}.toml"


def parse_profile(path: Path) -> Profile:
    from station.config import read_toml

    try:
        data = read_toml(path, "checks.profile_invalid")
    except FileNotFoundError:
        raise NotFoundError("checks.profile_missing", name=path.stem, path=str(path)) from None
    sections: dict[str, SimpleNamespace] = {}
    for section, keys in REQUIRED.items():
        table = data.get(section)
        if not isinstance(table, dict):
            raise InputError("checks.profile_field", Location(str(path), field=section),
                             path=str(path), field=section)
        for key in keys:
            if key not in table:
                raise InputError("checks.profile_field", Location(str(path), field=f"{section}.{key}"),
                                 path=str(path), field=f"{section}.{key}")
        sections[section] = SimpleNamespace(**table)
    return Profile(name=str(data.get("name", path.stem)), title_zh=str(data.get("title_zh", "")),
                   title_en=str(data.get("title_en", "")), path=path, sections=sections)


@cache
def load_profile(name: str = "chsi") -> Profile:
    """The profile ``exports/<name>.toml`` (or a path to a .toml file), parsed and validated once."""
    return parse_profile(profile_path(name))
