"""Sync fixtures: stations made in process through the store API, each with a few people."""

from __future__ import annotations

import datetime as dt
import io

import pytest

PIN = "2468"


def jpeg(seed: int) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def make_station(data_dir, station_id: str, people: list[tuple[str, str]], seed: int = 0):
    """A station with a supervisor and technician; each (id_number, name) read, paid, captured, accepted."""
    from station.domain.identity import Identity
    from station.store import open_store

    store = open_store(data_dir)
    with store.transaction():
        store.set_meta("station_id", station_id)
        store.set_meta("school_code", "10673")
        sup = store.operators.add("sup", "supervisor", PIN)
        store.operators.add("tech", "technician", PIN, by=sup)
    for i, (idn, name) in enumerate(people):
        ident = Identity(card_type="resident", name=name, gender="male", birth_date="2000-01-01", id_number=idn)
        read = store.facts.record_card_read(ident, reader="sim", operator="sup")
        store.facts.record_payment(idn, 3000, "wechat", operator="sup")
        raw, crop = store.images.put(jpeg(seed * 100 + i)), store.images.put(jpeg(seed * 100 + i + 50))
        cid = store.facts.record_capture(idn, raw, "IMG.JPG", {"crop_sha256": crop}, card_read_id=read, operator="sup")
        store.facts.record_acceptance(cid, "accept", operator="sup")
    store.close()


def idn(i: int) -> str:
    from station.domain import idnumber

    return idnumber.make("530102", dt.date(2001, 1, 1) + dt.timedelta(days=i), i % 50, male=True)


def canonical(data_dir, stations: set[str]) -> dict:
    """Every fact row that came from ``stations``, by table, sorted by key: what merge must keep."""
    from station.store import open_store
    from station.sync.bundle import fact_tables

    with open_store(data_dir) as store:
        out = {}
        for table in fact_tables(store.conn):
            rows = store.conn.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()
            out[table] = [tuple(r) for r in rows if r["station_id"] in stations]
        return out


@pytest.fixture(name="make_station")
def make_station_fixture():
    return make_station


@pytest.fixture(name="idn")
def idn_fixture():
    return idn


@pytest.fixture(name="canonical")
def canonical_fixture():
    return canonical


@pytest.fixture(name="cli")
def cli_fixture():
    """``cli(data_dir, *args, op=None)``: run `python -m station` as operator ``op`` in a subprocess."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]

    def run(data_dir, *args, op=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
        env.update(PYTHONPATH=str(root), STATION_DATA_DIR=str(data_dir), STATION_PIN=PIN)
        prefix = ["--operator", op] if op else []
        proc = subprocess.run([sys.executable, "-m", "station", *prefix, *map(str, args)], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)
        proc.json = lambda: json.loads(proc.stdout)
        return proc

    return run
