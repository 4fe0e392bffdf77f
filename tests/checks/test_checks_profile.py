from pathlib import Path

import pytest

from station.checks.profile import load_profile, parse_profile
from station.errors import InputError, NotFoundError


def test_chsi_profile_holds_the_published_numbers():
    p = load_profile("chsi")
    assert p.size == (480, 640)
    assert p.output.dpi == 300 and p.output.min_quality >= 60
    assert list(p.geometry.head_top) == [50, 110]
    assert list(p.geometry.eye_line) == [200, 300]
    assert list(p.geometry.face_width) == [180, 300]
    assert list(p.backdrop.reference_rgb) == [100, 197, 255]
    lo, hi = p.safe_range("head_top")
    assert 50 < lo < hi < 110, "safety margins shrink the published bounds"
    assert p.size_bounds[0] > 30 * 1024 and p.size_bounds[1] < 80 * 1024


def test_profile_missing_field_names_file_and_field(tmp_path: Path):
    text = (Path(load_profile("chsi").path)).read_text("utf-8").replace("roll_deg = 2.0", "")
    bad = tmp_path / "bad.toml"
    bad.write_text(text, "utf-8")
    with pytest.raises(InputError) as err:
        parse_profile(bad)
    assert "geometry.roll_deg" in err.value.message and "bad.toml" in err.value.message


def test_unknown_profile_is_not_found():
    with pytest.raises(NotFoundError):
        load_profile("no-such-profile")
