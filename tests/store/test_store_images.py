import hashlib
import os

import pytest

from station.errors import IntegrityError, NotFoundError
from station.store.images import ImageStore


def test_put_get_roundtrip_with_private_permissions(tmp_path):
    images = ImageStore(tmp_path / "images")
    data = os.urandom(5000)
    sha = images.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert images.get(sha) == data
    path = images.path(sha)
    assert path.parent.name == sha[:2]
    assert (path.stat().st_mode & 0o777) == 0o600
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    assert (images.root.stat().st_mode & 0o777) == 0o700
    assert images.put(data) == sha  # idempotent
    assert list(images) == [sha]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp")]


def test_altered_file_is_detected_on_read(tmp_path):
    images = ImageStore(tmp_path / "images")
    sha = images.put(b"original")
    images.path(sha).write_bytes(b"tampered")
    with pytest.raises(IntegrityError):
        images.get(sha)
    assert images.verify(sha) is False
    # putting the right bytes again repairs it
    images.put(b"original")
    assert images.get(sha) == b"original"


def test_missing_and_malformed_names(tmp_path):
    images = ImageStore(tmp_path / "images")
    with pytest.raises(NotFoundError):
        images.get("ab" * 32)
    with pytest.raises(NotFoundError):
        images.path("../../etc/passwd")


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    images = ImageStore(tmp_path / "images")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        images.put(b"data")
    assert list(images) == []
    assert not [p for p in images.root.rglob("*") if p.is_file()]
