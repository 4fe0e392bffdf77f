"""Output files named on the command line (``--out FILE``): never overwritten unless asked.

A bundle or key file often goes to a USB stick that several stations share: a name already used
there may be another station's bundle, and writing over it lost that station's work without a
word. An existing target is refused (exit 2, naming it) unless ``--force`` is given; the write
itself stays atomic (station.fsio.atomic_write). Files a station makes again and again under one
name (a daily report, print sheets, a crop, a camera capture) are replaced, as cli.md has them.
"""

from __future__ import annotations

import argparse
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
    path = Path(path)
    last = path if folder else path.parent
    parent = last.parent
    if str(parent) in ("", ".") or parent.is_dir():
        return
    if parent.exists():                  # a file where a folder should be: the write names it
        return
    from station.errors import InputError, Location

    missing = parent
    while not missing.parent.is_dir() and missing.parent != missing:
        missing = missing.parent          # the first folder on the path that is not there
    raise InputError("common.out_parent_missing", Location(option), folder=str(missing), path=str(path))
