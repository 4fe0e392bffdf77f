"""Content-addressed image files: the name is the SHA-256 of the bytes, checked on every read.

Writes are atomic (temp file, fsync, rename, fsync of the folder), so a crash leaves either no
file or the whole file; a file whose bytes do not match its name is corruption, never "an image".
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from station.errors import IntegrityError, NotFoundError
from station.fsio import atomic_write

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ImageStore:
    """Image bytes by SHA-256 under ``root/ab/abcdef…`` (0700 folders, 0600 files)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _check(self, sha: str) -> str:
        sha = sha.lower()
        if not _SHA_RE.match(sha):
            raise NotFoundError("store.bad_sha", sha=sha)
        return sha

    def path(self, sha: str) -> Path:
        sha = self._check(sha)
        return self.root / sha[:2] / sha

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256 hex. Storing the same bytes twice is a no-op."""
        sha = sha256_hex(data)
        target = self.path(sha)
        if target.is_file() and self.verify(sha):
            return sha
        for folder in (self.root, target.parent):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)
        atomic_write(target, data)
        return sha

    def put_file(self, source: Path) -> str:
        return self.put(Path(source).read_bytes())

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def get(self, sha: str) -> bytes:
        """The bytes named ``sha``; raises IntegrityError if they no longer hash to the name."""
        path = self.path(sha)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError("store.image_missing", sha=sha) from None
        if sha256_hex(data) != sha.lower():
            raise IntegrityError("store.image_altered", sha=sha)
        return data

    def verify(self, sha: str) -> bool:
        """True when the file exists and its bytes hash to its name."""
        path = self.path(sha)
        h = hashlib.sha256()
        try:
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except FileNotFoundError:
            return False
        return h.hexdigest() == sha.lower()

    def __iter__(self) -> Iterator[str]:
        """Every stored SHA (by file name; temp files are skipped)."""
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if not sub.is_dir() or len(sub.name) != 2:
                continue
            for f in sorted(sub.iterdir()):
                if _SHA_RE.match(f.name):
                    yield f.name
