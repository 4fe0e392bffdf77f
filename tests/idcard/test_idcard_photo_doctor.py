"""The WLT photo decoder through a real shared library (ctypes), and the doctor's checks."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from station.idcard.errors import PhotoDecoderError
from station.idcard.photo import BMP_SIZE, decode_wlt

FAKE_DECODER = r"""
#include <string.h>
/* Stand-in for a vendor decoder: writes a BMP header and copies the input into the pixels. */
int unpack(char *wlt, char *bmp, int flag) {
    if (flag != 602) return -3;
    memset(bmp, 0, 38862);
    bmp[0] = 'B'; bmp[1] = 'M';
    memcpy(bmp + 54, wlt, 1024);
    return wlt[0] == 0x7f ? -1 : 1;
}
"""


@pytest.fixture(scope="module")
def fake_library(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build a stand-in decoder library")
    base = tmp_path_factory.mktemp("wlt")
    (base / "fake.c").write_text(FAKE_DECODER)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(base / "libfakewlt.so"), str(base / "fake.c")],
                   check=True)
    return base / "libfakewlt.so"


def test_decodes_through_the_configured_library(fake_library):
    raw = bytes(range(256)) * 4
    bmp = decode_wlt(raw, fake_library)
    assert len(bmp) == BMP_SIZE and bmp[:2] == b"BM" and bmp[54:54 + 1024] == raw


def test_decoder_failure_and_absence_are_explained(fake_library, tmp_path):
    with pytest.raises(PhotoDecoderError) as info:
        decode_wlt(b"\x7f" + bytes(1023), fake_library)
    assert info.value.key == "idcard.wlt_failed"
    with pytest.raises(PhotoDecoderError) as info:
        decode_wlt(bytes(1024), None)
    assert info.value.key == "idcard.wlt_missing" and "wlt_library" in info.value.messages[1]
    with pytest.raises(PhotoDecoderError) as info:
        decode_wlt(bytes(1024), tmp_path / "libnothing.so")
    assert info.value.key == "idcard.wlt_unusable"
    with pytest.raises(PhotoDecoderError) as info:
        decode_wlt(bytes(1024), fake_library, function="no_such_function")
    assert info.value.key == "idcard.wlt_unusable"


def test_doctor_photo_decoder(fake_library, tmp_path):
    from station.doctor.idcard import check_photo_decoder

    assert check_photo_decoder(str(fake_library)).status == "pass"
    assert check_photo_decoder("").status == "skip"
    assert check_photo_decoder(str(tmp_path / "missing.so")).status == "fail"


def test_doctor_lists_the_virtual_readers(pcsc_env):
    from station.doctor.idcard import check_readers

    check = check_readers()
    assert check.status == "pass"
    assert pcsc_env.readers[0] in check.details["readers"]
    assert pcsc_env.readers[0] in check.message_en


def test_doctor_without_pcscd_skips_instead_of_repeating_the_system_check(tmp_path):
    import json
    import os
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root),
               PCSCLITE_CSOCK_NAME=str(tmp_path / "nobody-listens.comm"))
    code = ("import json; from station.doctor.idcard import check_readers;"
            "print(json.dumps(check_readers().to_json()))")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    check = json.loads(out.stdout)
    assert check["status"] == "skip" and check["details"]["error"] == "idcard.no_pcscd"
