"""The OS's English error words said in Chinese too (station.reasons), on real files and folders:
a path through a file (ENOTDIR), a folder where a file should be (EISDIR), a missing file, a
folder without permission, a symlink loop. The English keeps the OS's own words, --json names them
as ``cause``; full disks and I/O errors, which cannot be made here cheaply, are checked on the
mapping itself."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path

import pytest

from station import reasons
from station.i18n import both


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(("number", "zh", "en"), [
    (errno.ENOSPC, "磁盘已满", "the disk is full"),
    (errno.EDQUOT, "磁盘配额", "quota"),
    (errno.EIO, "U 盘可能损坏或已被拔出", "read/write error"),
    (errno.EROFS, "只读", "read-only"),
    (errno.ENXIO, "设备已不存在", "the device is gone"),
    (errno.EMFILE, "打开的文件太多", "too many files open"),
    (errno.EBUSY, "占用", "in use"),
    (errno.ETIMEDOUT, "超时", "timed out"),
])
def test_the_usual_errnos_have_a_chinese_phrase_and_keep_the_os_words(number: int, zh: str, en: str) -> None:
    said = reasons.of_os(OSError(number, os.strerror(number), "/media/usb/x.zip"))
    assert zh in said.render("zh") and os.strerror(number) not in said.render("zh")
    assert en in said.render("en") and f"({os.strerror(number)})" in said.render("en")
    assert str(said) == os.strerror(number) and said.code == errno.errorcode[number]
    assert "/media/usb" not in said.render("en")               # the caller names the file itself
    assert pickle.loads(pickle.dumps(said)).render("zh") == said.render("zh")


def test_an_unknown_error_is_its_own_words_in_both_languages() -> None:
    said = reasons.of_os(OSError(errno.EPIPE, os.strerror(errno.EPIPE)))
    assert said.render("zh") == said.render("en") == os.strerror(errno.EPIPE)
    other = reasons.of(ValueError("bad thing"))
    assert other.render("zh") == other.render("en") == "bad thing"


def test_real_files_missing_a_file_through_a_file_and_a_folder(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    seen: dict[str, tuple[str, str]] = {}
    for name, action in (("missing", lambda: (tmp_path / "nope").read_bytes()),
                         ("not_folder", lambda: (file / "x").read_bytes()),
                         ("is_folder", lambda: tmp_path.joinpath(".").read_bytes())):
        with pytest.raises(OSError) as info:
            action()
        said = reasons.of_os(info.value)
        seen[name] = (said.render("zh"), said.render("en"))
        assert seen[name] == both(f"reason.os.{name}")[:1] + (f"{both(f'reason.os.{name}')[1]} "
                                                              f"({info.value.strerror})",)
    assert "不存在" in seen["missing"][0] and "No such file or directory" in seen["missing"][1]
    assert "Not a directory" in seen["not_folder"][1] and "Is a directory" in seen["is_folder"][1]


def test_a_folder_without_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        try:
            (locked / "probe").write_text("x")
        except PermissionError as exc:
            said = reasons.of_os(exc)
        else:
            pytest.skip("running as root: permissions do not stop writes here")
    finally:
        locked.chmod(0o700)
    assert said.render("zh") == "没有权限"
    assert said.render("en") == "no permission (Permission denied)"


def test_a_bundle_behind_a_file_is_refused_in_chinese_with_the_os_words_kept(
        tmp_path: Path, make_station, cli) -> None:
    master = tmp_path / "master"
    make_station(master, "m", [])
    blocker = tmp_path / "stick"
    blocker.write_text("not a folder")
    zh = cli(master, "--lang", "zh", "merge", blocker / "a.zip", "--json", op="sup")
    assert zh.returncode == 2, zh.stderr
    refused = zh.json()["refused"][0]
    assert refused["reason"] == "unreadable"
    assert "无法读取该文件：路径中有一段是文件而不是文件夹" in refused["message_zh"]
    assert "Not a directory" not in refused["message_zh"] and "Not a directory" not in zh.stderr
    assert "a part of the path is a file, not a folder (Not a directory)" in refused["message_en"]
    assert refused["cause"] == {"code": "ENOTDIR", "detail": "Not a directory"}
    assert refused["detail"] == "Not a directory"
    en = cli(master, "--lang", "en", "merge", blocker / "a.zip", op="sup")
    assert en.returncode == 2 and "(Not a directory)" in en.stderr


def test_export_verify_names_a_folder_where_the_manifest_should_be(tmp_path: Path, make_station, cli) -> None:
    master = tmp_path / "master"
    make_station(master, "m", [])
    batch = tmp_path / "batch"
    (batch / "manifest.json").mkdir(parents=True)
    out = cli(master, "export", "verify", batch, "--json", "--no-frame-checks", op="sup")
    problems = out.json()["problems"]
    assert [p["problem"] for p in problems] == ["bad_manifest"], out.stdout
    assert "这是一个文件夹，不是文件" in problems[0]["message_zh"]
    assert "Is a directory" not in problems[0]["message_zh"]
    assert "it is a folder, not a file (Is a directory)" in problems[0]["message_en"]
    assert problems[0]["cause"] == {"code": "EISDIR", "detail": "Is a directory"}


def test_a_path_the_cli_cannot_use_for_a_less_usual_reason_is_said_in_chinese(tmp_path: Path) -> None:
    from station.cli.main import _path_words
    from station.i18n import t

    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(OSError) as info:
        loop.read_bytes()
    assert info.value.errno == errno.ELOOP
    words = _path_words(info.value)
    zh, en = t("common.bad_path", "zh", error=words), t("common.bad_path", "en", error=words)
    assert "符号链接层数太多" in zh and "Too many levels" not in zh and _is_chinese(zh)
    assert "too many levels of symbolic links (a loop?) (Too many levels of symbolic links)" in en
