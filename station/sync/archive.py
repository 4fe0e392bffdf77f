"""Reading a bundle's zip without trusting it: limits before any byte is expanded, then streaming.

A hostile zip can claim small sizes and expand to gigabytes, repeat member names, hide members
behind odd names, or be cut short. Here every member's name is one of the bundle's own names,
its declared size is within the limit for its kind, its expansion ratio is plausible, the total
fits the data folder's free space, and extraction streams in blocks while counting and hashing, so
memory stays flat whatever the zip claims. Any zip-level failure (CRC, truncation, bad headers,
unsupported compression, encryption) becomes one ``BundleRefused`` in words.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from station import reasons
from station.sync.errors import BundleRefused

MANIFEST = "bundle.json"
SIGNATURE = "bundle.json.sig"
DB_MEMBER = "station.sqlite3"
IMAGE_PREFIX = "images/"
_IMAGE_NAME = re.compile(r"^images/[0-9a-f]{64}$")
BLOCK = 1 << 20
MiB = 1 << 20
GiB = 1 << 30

# What any zip library may raise on a damaged or hostile archive.
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
              NotImplementedError, RuntimeError, struct.error, KeyError, UnicodeDecodeError,
              OverflowError)


@dataclass(frozen=True)
class Limits:
    """Ceilings on what one bundle may hold (generous for a campaign, fatal for a zip bomb)."""

    members: int = 1_000_000
    manifest_bytes: int = 64 * MiB
    signature_bytes: int = 4096
    database_bytes: int = 16 * GiB
    image_bytes: int = 256 * MiB
    # uncompressed / compressed size, checked on members larger than ``ratio_floor``: SQLite pages
    # deflate 3–10×, JPEG not at all; a zip bomb is in the hundreds or thousands.
    max_ratio: int = 100
    ratio_floor: int = 1 * MiB
    # room left free in the data folder after extracting everything
    free_margin: int = 256 * MiB


DEFAULT_LIMITS = Limits()


def member_kind(name: str) -> str | None:
    if name in (MANIFEST, SIGNATURE, DB_MEMBER):
        return name
    if _IMAGE_NAME.match(name):
        return "image"
    return None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()


class BundleArchive:
    """A bundle zip opened for checking. Use as a context manager."""

    def __init__(self, path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
        self.path = Path(path)
        self.source = str(path)
        self.limits = limits
        self._zip: zipfile.ZipFile | None = None
        self.infos: dict[str, zipfile.ZipInfo] = {}

    def __enter__(self) -> BundleArchive:
        with self._errors(None):
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        if len(infos) > self.limits.members:
            raise BundleRefused("too_many_members", self.source, count=len(infos), limit=self.limits.members)
        for info in infos:
            if info.filename in self.infos:
                raise BundleRefused("duplicate_member", self.source, info.filename)
            self.infos[info.filename] = info
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    @contextmanager
    def _errors(self, member: str | None) -> Iterator[None]:
        try:
            yield
        except BundleRefused:
            raise
        except FileNotFoundError:
            raise
        except ZIP_ERRORS as exc:
            detail = reasons.of(exc)
            if member is None:
                raise BundleRefused("not_a_zip", self.source, detail=detail) from None
            raise BundleRefused("damaged_member", self.source, member, detail=detail) from None

    def _info(self, name: str, limit: int) -> zipfile.ZipInfo:
        info = self.infos.get(name)
        if info is None:
            raise BundleRefused("missing_member", self.source, name)
        if info.flag_bits & 0x1:
            raise BundleRefused("encrypted_member", self.source, name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise BundleRefused("odd_compression", self.source, name, method=info.compress_type)
        if info.file_size > limit:
            raise BundleRefused("member_too_large", self.source, name, size=info.file_size, limit=limit)
        if info.file_size > self.limits.ratio_floor:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > self.limits.max_ratio:
                raise BundleRefused("expansion", self.source, name, ratio=int(ratio),
                                    limit=self.limits.max_ratio)
        return info

    def limit_for(self, name: str) -> int:
        kind = member_kind(name)
        return {MANIFEST: self.limits.manifest_bytes, SIGNATURE: self.limits.signature_bytes,
                DB_MEMBER: self.limits.database_bytes, "image": self.limits.image_bytes}.get(kind or "", 0)

    def check_names(self, expected: set[str]) -> None:
        """The zip holds exactly the members the manifest lists, plus the manifest and signature."""
        names = set(self.infos)
        for name in sorted(names):
            if member_kind(name) is None:
                raise BundleRefused("unexpected_member", self.source, name[:120])
        extra = sorted(names - expected - {MANIFEST, SIGNATURE})
        if extra:
            raise BundleRefused("unlisted_member", self.source, extra[0])
        missing = sorted(expected - names)
        if missing:
            raise BundleRefused("missing_member", self.source, missing[0])
        for name in sorted(names):
            self._info(name, self.limit_for(name))      # kind, size and expansion limits

    def check_room(self, folder: Path) -> None:
        """Everything extracted must fit in the data folder, with room to spare."""
        total = sum(i.file_size for n, i in self.infos.items() if n not in (MANIFEST, SIGNATURE))
        free = shutil.disk_usage(folder).free
        if total + self.limits.free_margin > free:
            raise BundleRefused("no_room", self.source, need=total, free=free, folder=str(folder))

    def read_small(self, name: str) -> bytes:
        """A small member (manifest, signature), read with its limit enforced while reading."""
        limit = self.limit_for(name)
        info = self._info(name, limit)
        out = bytearray()
        with self._errors(name):
            assert self._zip is not None
            with self._zip.open(info) as src:
                for block in iter(lambda: src.read(BLOCK), b""):
                    out += block
                    if len(out) > limit:
                        raise BundleRefused("member_too_large", self.source, name, size=len(out), limit=limit)
        return bytes(out)

    def extract(self, name: str, target: Path) -> str:
        """Stream ``name`` into ``target`` (new file, 0600), counting and hashing; returns SHA-256."""
        limit = self.limit_for(name)
        info = self._info(name, limit)
        h = hashlib.sha256()
        size = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with self._errors(name), os.fdopen(fd, "wb") as dst:
            assert self._zip is not None
            with self._zip.open(info) as src:
                for block in iter(lambda: src.read(BLOCK), b""):
                    size += len(block)
                    if size > limit or size > info.file_size:
                        raise BundleRefused("member_too_large", self.source, name, size=size, limit=limit)
                    h.update(block)
                    dst.write(block)
        return h.hexdigest()
