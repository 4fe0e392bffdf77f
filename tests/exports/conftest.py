"""Fixtures of the exports tests: export-sized JPEGs, a station key, hand-made batch records."""

from __future__ import annotations

import hashlib
import io

import pytest


def make_photo(seed: int, quality: int = 88, size=(480, 640), progressive: bool = False,
               dpi: int = 300) -> bytes:
    """A 480×640 baseline JPEG at 300 dpi of about 40 KB: a blue backdrop, a 'head', dark clothes."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([100 + (y // 8) % 30, 197 - (x // 10) % 20, 255 + 0 * x], -1).astype(np.float32)
    arr = np.clip(base + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)
    im = Image.fromarray(arr)
    draw = ImageDraw.Draw(im)
    draw.ellipse((w * 0.29, h * 0.19, w * 0.71, h * 0.62), fill=(int(rng.integers(150, 230)), 150, 120))
    draw.rectangle((w * 0.12, h * 0.7, w * 0.88, h), fill=(30, 30, 30))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, dpi=(dpi, dpi), progressive=progressive)
    return buf.getvalue()


class Images(dict):
    """A tiny content-addressed image store: sha256 → bytes."""

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self[sha] = data
        return sha

    def get_bytes(self, sha: str) -> bytes:
        return self[sha]


def valid_id(i: int) -> str:
    import datetime as dt

    from station.domain import idnumber

    born = dt.date(2000, 1, 1) + dt.timedelta(days=i // 50)
    return idnumber.make("530102", born, i % 50, male=bool(i % 2))


@pytest.fixture(name="make_photo")
def make_photo_fixture():
    return make_photo


@pytest.fixture
def station_key(tmp_path):
    from station.keys import ensure_station_key

    return ensure_station_key(tmp_path / "data")


@pytest.fixture
def images():
    return Images()


@pytest.fixture
def make_record(images):
    """``make_record(n)`` → a BatchRecord of n people with real JPEGs in ``images``."""
    from station.export.record import BatchItem, BatchRecord

    def make(n: int = 5, batch_id: str = "01JTESTBATCH0000000000000A", **overrides) -> BatchRecord:
        items = []
        for i in range(n):
            sha = images.put(make_photo(i))
            items.append(BatchItem(capture_id=f"01JCAP{i:020d}", id_number=valid_id(i),
                                   name=["张三", "李四", "王五", "欧阳娜娜", "赵六"][i % 5] + ("" if i < 5 else str(i)),
                                   sha256=sha, student_no=f"2020{i:06d}", department=["物理学院", "化学学院"][i % 2],
                                   gender="male", captured_at="2026-06-01T09:30:00+08:00"))
        fields = dict(batch_id=batch_id, created_ms=1780277400000, profile="chsi", school_code="10673",
                      station_id="st1", items=items)
        fields.update(overrides)
        return BatchRecord(**fields)

    return make
