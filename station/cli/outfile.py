"""Output files named on the command line (``--out FILE``): never overwritten unless asked.

A bundle or key file often goes to a USB stick that several stations share: a name already used
there may be another station's bundle, and writing over it lost that station's work without a
word. An existing target is refused (exit 2, naming it) unless ``--force`` is given; the write
itself stays atomic (station.fsio.atomic_write). Files a station makes again and again under one
name (a daily report, print sheets, a crop, a camera capture) are replaced, as cli.md has them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

FORCE_HELP = "replace the output file if it already exists (default: refuse, exit 2)"


def add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)


def refuse_existing(path: Path | None, option: str, force: bool) -> None:
    """InputError (exit 2) naming ``option`` and ``path`` when ``path`` exists and not ``force``.

    A folder is left to the command's own check (it is not a file to replace)."""
    if path is None or force:
        return
    path = Path(path)
    if path.is_dir():
        return
    if path.exists() or path.is_symlink():
        from station.errors import InputError, Location

        raise InputError("common.out_exists", Location(option), path=str(path))


def refuse_unmounted(path: Path | None, option: str, *, folder: bool = False) -> None:
    """InputError (exit 2) naming ``option`` when the folder the command would create has no parent.

    ``--out /media/usb/批次`` with the USB stick not mounted: ``mkdir -p`` made ``/media/usb`` on
    the laptop's own disk and the students' photos, names and ID numbers went there, silently.
    The last folder is still made (a new folder on the stick is normal): the output folder itself
    when ``folder`` (``export build --out DIR``), else the file's folder; its parent must exist.
    Checked before anything is asked, read or recorded."""
    if path is None:
        return
    from station.errors import InputError, Location

    path = Path(path)
    last = path if folder else path.parent
    parent = last.parent
    if str(parent) in ("", ".") or parent.is_dir():
        empty = not_mounted(last)
        if empty is not None:
            raise InputError("common.out_not_mounted", Location(option), folder=str(empty), path=str(path))
        return
    if parent.exists():                  # a file where a folder should be: the write names it
        return

    missing = parent
    while not missing.parent.is_dir() and missing.parent != missing:
        missing = missing.parent          # the first folder on the path that is not there
    raise InputError("common.out_parent_missing", Location(option), folder=str(missing), path=str(path))


# Where removable drives are mounted: udisks under /media/USER/LABEL or /run/media/USER/LABEL,
# fstab and usbmount at /media/usb0 … or /mnt/usb. A folder there that is no mount point is the
# laptop's own disk (usbmount keeps /media/usb0 … /media/usb7 when nothing is plugged in).
MOUNT_ROOTS = (Path("/media"), Path("/run/media"), Path("/mnt"))


def not_mounted(folder: Path, roots: tuple[Path, ...] = MOUNT_ROOTS) -> Path | None:
    """The folder that ``folder`` would be written in (its deepest existing one) when it lies
    under a mount root with no drive mounted on the way (the root itself included: a stick
    mounted at /mnt is fine): the write would land on the laptop's own disk. None when a drive
    is mounted there, or ``folder`` is not under a mount root."""
    real = Path(os.path.realpath(folder))
    for root in roots:
        if real != root and root not in real.parents:
            continue
        existing = real
        while not existing.exists() and existing != root:
            existing = existing.parent
        if not existing.exists():
            return None                   # no such mount root here: the other checks apply
        probe = existing
        while not os.path.ismount(probe):
            if probe == root:
                return existing
            probe = probe.parent
        return None
    return None
