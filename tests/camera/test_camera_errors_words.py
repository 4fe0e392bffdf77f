"""Every libgphoto2 error reaches the operator in words they can act on, never a bare errno
(camera.md §9)."""

from __future__ import annotations

import re

import pytest

from station.camera.errors import from_gphoto2
from station.camera.gphoto2_env import gphoto2_module

gp = gphoto2_module()
CODES = sorted({getattr(gp, name) for name in dir(gp) if name.startswith("GP_ERROR")})


class Raised(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"[{code}] whatever libgphoto2 says")
        self.code = code


@pytest.mark.parametrize("code", CODES)
def test_every_libgphoto2_code_has_its_own_words(code):
    err = from_gphoto2(gp.GPhoto2Error(code), "capture")
    assert err.key not in ("camera.generic", "camera.unknown_error"), code
    zh, en = err.messages
    assert zh != err.key and en != err.key
    assert "{" not in zh + en  # every placeholder filled
    assert not re.search(rf"\[{code}\]", en + zh)  # not libgphoto2's own "[-1] Unspecified error"
    assert re.search(r"[\u4e00-\u9fff]", zh)


def test_unspecified_error_tells_what_to_do():
    zh, en = from_gphoto2(gp.GPhoto2Error(-1), "capture").messages
    assert not en.startswith("Camera error") and "-1" not in en and "-1" not in zh
    assert "switch the camera off and on" in en and "关闭再打开相机" in zh


def test_unknown_code_gets_generic_words_with_the_code_as_detail_only():
    err = from_gphoto2(Raised(-999), "capture")
    zh, en = err.messages
    assert err.key == "camera.unknown_error" and err.code == -999
    assert en.endswith("(Detail: code -999)") and zh.endswith("（详情：代码 -999）")
    assert "-999" not in en[: -len("(Detail: code -999)")]
