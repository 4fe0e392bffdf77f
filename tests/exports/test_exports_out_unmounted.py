"""A USB stick that is not mounted: `--out /media/usb/…` must not land on the laptop's own disk.

Batches, print sheets, reports and bundles hold students' photos, names and ID numbers.
`mkdir -p` of a path under a missing mount point quietly made the stick's folders on the laptop
and wrote everything there. The last folder of the path is still made (a new batch folder on the
stick is normal), but its parent must exist: otherwise the command refuses — exit 2, naming the
option and the missing folder, saying the drive may not be mounted — and writes nothing."""

from __future__ import annotations

import json

import pytest


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.fixture
def exportable(station, add_people, person):
    add_people(station.data_dir, [person(i) for i in range(3)])
    return station


CASES = [
    ("export", ["export", "build", "--out", "{usb}/批次"]),
    ("sheets", ["print", "sheets", "--out", "{usb}/打印/照片.pdf"]),
    ("report", ["report", "daily", "--format", "csv", "--out", "{usb}/日报/日报.csv"]),
    ("bundle", ["bundle", "create", "--out", "{usb}/bundles/st1.bundle"]),
    ("key", ["key", "export", "--out", "{usb}/keys/st1.pub"]),
]


@pytest.mark.parametrize("name,argv", CASES, ids=[c[0] for c in CASES])
def test_a_missing_mount_point_is_refused_and_nothing_is_written(exportable, tmp_path, name, argv):
    media = tmp_path / "media"
    media.mkdir()
    usb = media / "usb"                          # the stick's mount point: not there (not mounted)
    args = [a.replace("{usb}", str(usb)) for a in argv]
    before = _files(exportable.data_dir)
    for lang, words in (("zh", f"文件夹 {usb} 不存在：U 盘或移动硬盘可能未挂载"),
                        ("en", f"The folder {usb} does not exist: the USB stick or drive may not be mounted")):
        r = exportable.as_op("sup", "--lang", lang, *args)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert r.stderr.startswith("--out: "), r.stderr
        assert words in r.stderr and args[-1] in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    j = exportable.as_op("sup", *args, "--json")
    assert j.returncode == 2
    doc = json.loads(j.stdout or j.stderr)
    assert doc["error"] == "common.out_parent_missing" and doc["file"] == "--out", doc
    assert str(usb) in doc["message_zh"] and str(usb) in doc["message_en"]
    assert list(media.iterdir()) == []                                     # nothing on the laptop's disk
    after = _files(exportable.data_dir)
    assert [f for f in after if f not in before and not f.startswith("logs/")] == []   # nothing recorded


@pytest.mark.parametrize("name,argv", CASES, ids=[c[0] for c in CASES])
def test_the_last_folder_on_a_mounted_stick_is_made(exportable, tmp_path, name, argv):
    usb = tmp_path / "usb"
    usb.mkdir()                                   # mounted: the stick's root is there
    args = [a.replace("{usb}", str(usb)) for a in argv]
    r = exportable.as_op("sup", *args)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert len(list(usb.iterdir())) == 1 and any(p.is_file() for p in usb.rglob("*"))



def test_not_mounted_names_the_folder_the_files_would_land_in(tmp_path):
    """usbmount keeps /media/usb0 … and fstab keeps /mnt/usb when nothing is plugged in: the
    parent is there, but it is the laptop's own disk. A folder under /media, /run/media or /mnt
    with no drive mounted on the way (the root itself included) is refused like a missing one;
    here with a mount root of the test's own, so nothing is ever written to this machine's /mnt."""
    from pathlib import Path

    from station.cli.outfile import not_mounted

    media = tmp_path / "media"
    (media / "usb0").mkdir(parents=True)
    roots = (media,)
    assert not_mounted(media / "usb0" / "批次" / "x", roots) == media / "usb0"
    assert not_mounted(media / "新卷", roots) == media
    assert not_mounted(tmp_path / "elsewhere" / "批次", roots) is None        # not a mount root
    assert not_mounted(tmp_path / "nowhere" / "x", (tmp_path / "nowhere",)) is None
    assert not_mounted(Path("/proc/sys"), (Path("/proc"),)) is None      # /proc is a mount point
    assert not_mounted(Path("/proc"), (Path("/proc"),)) is None
