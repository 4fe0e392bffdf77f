"""PostgreSQL hub benchmark (issue 15): 6 stations × 500 students with photos pushed to a private
PostgreSQL server, against copying the same stations' files in the same run (goal ≤ 3×), and
the pull of a new master that takes everything — for both image stores of a hub: images in the
database (bytea, hashed by the server) and images in the hub's image folder (``hub init
--images``: copied and hashed by the station, made durable before its facts commit, only the
facts in PostgreSQL).

Each student is read, paid, captured (a camera frame and its export crop) and accepted, as at a
desk. ``BENCH_HUB_N`` students per station (default 500), ``BENCH_HUB_RAW_KB`` per camera frame
(default 300: a JPEG of that size; real DSLR frames are larger, which favours the copy less).

The references, per station and interleaved with the pushes: ``cp -r`` of the station's folder
(its images and its SQLite store) — a copy that checks nothing and makes nothing durable — and
``cp -r`` then ``sync`` (the same copy made durable, which a push must be). Each round pushes every
station to fresh hubs of both stores: per station ``cp -r``, the database push, the folder push,
each after an untimed ``sync`` so no step pays for another's writeback; then a new master pulls
everything from each hub. ``BENCH_HUB_ROUNDS`` rounds (default 3); every figure is a list of the
rounds' values and the table takes medians. Processor time (station process + the hub's server
backends, also given apart) beside wall time, and the load average before and after each round:
on this shared 2-core machine only rounds at low load say what the code costs.

The server is the tests' private one (``tests.pgserver``: no fsync) on the same machine and disk
as the stations and the folder, with PostgreSQL's default memory settings (``shared_buffers``
128 MB; the tests run it with 32 MB).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._table import Figure

TABLE = [
    Figure("hub push, images in a folder, 6 stations × 500 students with photos", "folder.push_s",
           "s", reference="cp_s", reference_name="cp -r of the same stations' files",
           ratio_at_most=3.0),
    Figure("hub push, images in a folder, against a durable copy", "folder.push_s", "s",
           reference="cp_sync_s", reference_name="cp -r then sync"),
    Figure("hub push, images in a folder, processor time (station + hub server)",
           "folder.push_cpu_s", "s", reference="cp_cpu_s", reference_name="cp -r, processor time"),
    Figure("hub pull by a new master, images in a folder (everything)", "folder.pull_s", "s"),
    Figure("hub push, images in the database, 6 stations × 500 students with photos",
           "database.push_s", "s", reference="cp_s", reference_name="cp -r of the same stations' files"),
    Figure("hub push, images in the database, processor time (station + hub server)",
           "database.push_cpu_s", "s", reference="cp_cpu_s", reference_name="cp -r, processor time"),
    Figure("hub pull by a new master, images in the database (everything)", "database.pull_s", "s"),
]

STATIONS = 6
N = int(os.environ.get("BENCH_HUB_N", "500"))
RAW_KB = int(os.environ.get("BENCH_HUB_RAW_KB", "300"))
ROUNDS = int(os.environ.get("BENCH_HUB_ROUNDS", "3"))
KINDS = ("database", "folder")


def _jpeg(size: tuple[int, int], seed: int) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    arr = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).resize((w, h)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _unique(base: bytes, n: int, size: int) -> bytes:
    """``base`` padded after its end marker to ``size`` bytes with bytes of its own (a distinct
    file of the right size that every JPEG reader still opens)."""
    tail = n.to_bytes(8, "big") * max(1, (size - len(base)) // 8 + 1)
    return base + tail[: max(8, size - len(base))]


def _station(folder: Path, name: str, k: int, raw: bytes, crop: bytes) -> int:
    import datetime as dt

    from station.domain import idnumber
    from station.domain.identity import Identity
    from station.keys import ensure_station_key
    from station.store import open_store

    store = open_store(folder)
    with store.transaction():
        store.set_meta("station_id", name)
        store.set_meta("school_code", "10673")
        store.operators.add("sup", "supervisor", "2468")
    ensure_station_key(folder)
    size = 0
    for i in range(N):
        number = idnumber.make("530102", dt.date(1998, 1, 1) + dt.timedelta(days=k * N + i), i % 50,
                               male=bool(i % 2))
        ident = Identity(card_type="resident", name=f"学生{k}-{i}", gender="male",
                         birth_date="2000-01-01", id_number=number)
        read = store.facts.record_card_read(ident, reader="sim", operator="sup")
        store.facts.record_payment(number, 3000, "wechat", operator="sup")
        frame = _unique(raw, k * 10**6 + i, RAW_KB * 1024)
        cut = _unique(crop, k * 10**6 + i, len(crop) + 16)
        size += len(frame) + len(cut)
        cid = store.facts.record_capture(number, store.images.put(frame), "IMG.JPG",
                                         {"crop_sha256": store.images.put(cut)},
                                         card_read_id=read, operator="sup")
        store.facts.record_acceptance(cid, "accept", operator="sup")
    store.close()
    return size


def _children_cpu() -> float:
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _server_cpu(server: Any, after: float | None = None) -> float:
    """Processor time of the server's finished backends (the postmaster's reaped children: a
    push's backend ends with its connection); with ``after``, the time since that reading."""
    def read() -> float:
        fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    if after is None:
        return read()
    deadline = time.monotonic() + 5
    value = read()
    while value == after and time.monotonic() < deadline:   # the backend may still be exiting
        time.sleep(0.05)
        value = read()
    time.sleep(0.2)
    return read() - after


def _timed_push(server: Any, folder: Path, dsn: str, images: Path | None) -> tuple[float, float, float]:
    """(wall s, processor s of this process, processor s of the server's backends) of one push."""
    from station.hub.push import push
    from station.store import open_store

    os.sync()
    with open_store(folder) as store:
        s0, c0, t0 = _server_cpu(server), time.process_time(), time.perf_counter()
        done = push(store, dsn, "sup", images_dir=images)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        server_cpu = _server_cpu(server, after=s0)
    assert sum(done.rows.values()) > 4 * N and done.images_sent == 2 * N
    return wall, cpu, server_cpu


def _timed_pull(master: Path, fresh: Path, dsn: str, images: Path | None) -> float:
    from station.hub.pull import pull
    from station.store import open_store

    shutil.copytree(master, fresh)
    os.sync()
    with open_store(fresh) as store:
        t0 = time.perf_counter()
        got = pull(store, dsn, "sup", images_dir=images)
        wall = time.perf_counter() - t0
    assert not got.refused and got.images_added == STATIONS * 2 * N
    return round(wall, 2)


def _logins(server: Any, admin: str, dbname: str, stations: list[str]) -> dict[str, str]:
    """Each station's DSN at a hub: its own role (``hub init`` made it), with a password set as
    the hub's administrator would, over TCP — so a push runs with a station's privileges and
    row-level security, as in the field, not as the superuser."""
    import secrets

    import psycopg
    from psycopg import sql

    from station.hub.queries import station_role

    dsns = {}
    with psycopg.connect(admin, autocommit=True) as conn:
        for station in stations:
            role, secret = station_role(dbname, station), secrets.token_hex(12)
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role),
                                                                  sql.Literal(secret)))
            dsns[station] = server.dsn(dbname, user=role, password=secret)
    return dsns


def _load() -> list[float]:
    return [round(x, 1) for x in os.getloadavg()]


def _round(server: Any, root: Path, master: Path, names: list[str], r: int) -> dict[str, Any]:
    """One round: fresh hubs of both stores; per station, interleaved, ``cp -r`` (+ ``sync``) and
    each push; then a new master pulls each hub. Everything it made is removed after."""
    from station.hub.enrol import init_hub
    from station.store import open_store

    out: dict[str, Any] = {"load_before": _load()}
    work = root / f"round-{r}"
    work.mkdir()
    logins: dict[str, dict[str, str]] = {}
    folders = {"database": None, "folder": work / "hub-images"}
    with open_store(master) as store:
        for kind in KINDS:
            admin = server.create_database(f"hub_{kind}_{r}")
            init_hub(store, admin, "sup", folders[kind])
            logins[kind] = _logins(server, admin, f"hub_{kind}_{r}", [*names, "master"])
    cp_s = cp_sync_s = cp_cpu = 0.0
    push = {kind: {"wall": 0.0, "station": 0.0, "server": 0.0} for kind in KINDS}
    for n in names:
        os.sync()
        c0, t0 = _children_cpu(), time.perf_counter()
        subprocess.run(["cp", "-r", str(root / n), str(work / f"copy-{n}")], check=True)
        cp_s += time.perf_counter() - t0
        cp_cpu += _children_cpu() - c0
        os.sync()
        cp_sync_s += time.perf_counter() - t0
        for kind in KINDS:
            wall, station_cpu, server_cpu = _timed_push(server, root / n, logins[kind][n], folders[kind])
            push[kind]["wall"] += wall
            push[kind]["station"] += station_cpu
            push[kind]["server"] += server_cpu
    out.update(cp_s=cp_s, cp_sync_s=cp_sync_s, cp_cpu_s=cp_cpu)
    for kind in KINDS:
        wall, cpu = push[kind]["wall"], push[kind]["station"] + push[kind]["server"]
        out[kind] = {"push_s": wall, "push_cpu_s": cpu, "push_station_cpu_s": push[kind]["station"],
                     "push_server_cpu_s": push[kind]["server"], "push_over_cp": wall / cp_s,
                     "push_over_cp_sync": wall / cp_sync_s,
                     "push_cpu_over_cp_cpu": cpu / cp_cpu if cp_cpu else None,
                     "pull_s": _timed_pull(master, work / f"new-master-{kind}", logins[kind]["master"],
                                           folders[kind])}
    out["load_after"] = _load()
    shutil.rmtree(work)
    for kind in KINDS:
        server.drop_database(f"hub_{kind}_{r}")
    return out


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return [_rounded(v) for v in value] if isinstance(value, list) else value


def main() -> dict[str, Any]:
    from station.keys import ensure_station_key, parse_keyfile, render_keyfile
    from station.store import open_store
    from station.sync.trust import TrustService
    from tests.pgserver import PgServer

    results: dict[str, Any] = {"stations": STATIONS, "students_per_station": N, "raw_kb": RAW_KB,
                               "rounds": ROUNDS, "load_before": _load()}
    server = PgServer(settings={"shared_buffers": "128MB"}).start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
            root = Path(tmp)
            raw, crop = _jpeg((1600, 1200), 1), _jpeg((480, 640), 2)
            started = time.perf_counter()
            names = [f"st-{k}" for k in range(1, STATIONS + 1)]
            results["image_bytes"] = sum(_station(root / n, n, k, raw, crop)
                                         for k, n in enumerate(names, start=1))
            results["setup_s"] = round(time.perf_counter() - started, 1)
            master = root / "master"
            with open_store(master) as store:
                with store.transaction():
                    store.set_meta("station_id", "master")
                    store.operators.add("sup", "supervisor", "2468")
                for n in names:
                    pem = render_keyfile(n, ensure_station_key(root / n).public_pem())
                    TrustService(store).add(parse_keyfile(pem, n), "sup")
            rounds = [_round(server, root, master, names, r) for r in range(ROUNDS)]
    finally:
        server.stop()
    results["load_after"] = _load()
    results["loads"] = [[x["load_before"], x["load_after"]] for x in rounds]
    for key in ("cp_s", "cp_sync_s", "cp_cpu_s"):
        results[key] = [x[key] for x in rounds]
    for kind in KINDS:
        results[kind] = {key: [x[kind][key] for x in rounds] for key in rounds[0][kind]}
    return _rounded(results)


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
