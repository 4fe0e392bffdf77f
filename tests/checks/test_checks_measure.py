"""measure() with its parts on the pool and the head top found a block of rows at a time give
exactly the values of one thread and of the whole band's mask."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from station.checks import measure as measure_module
from station.checks.framing import (
    HEAD_TOP_BLOCKS,
    head_top,
    head_top_mask,
    head_top_of,
    rgb_to_lab,
    to_lab,
)
from station.checks.pipeline import analyse, expected_backdrop
from station.checks.workers import Stages
from station.sim.portrait import render
from tests.checks.drawing import add_hair
from tests.checks.test_checks_bystander import behind

BACKDROP_BGR = (255, 197, 100)


@pytest.fixture(scope="module")
def portrait():
    return render(480, 640, face_width=250, eye_y=265)


def _scenes(portrait):
    img, truth = portrait
    return {"plain": img, "long hair": add_hair(img, truth, reach=1.6),
            "a face behind": behind(img, truth, 1, down=0.45, out=1.0),
            "blue shirt": render(480, 640, face_width=250, eye_y=265, shirt=(60, 150, 230))[0]}


def _key(m) -> str:
    return repr((m.face_count, m.face, m.head_top, m.face_span, m.values, list(m.values)))


@pytest.mark.parametrize("scene", ["plain", "long hair", "a face behind", "blue shirt"])
def test_measure_with_its_parts_on_the_pool_gives_the_one_thread_values(profile, portrait, scene,
                                                                        monkeypatch):
    frame = _scenes(portrait)[scene]
    found = analyse(frame, profile, threads=1).measurements
    assert found is not None and found.face is not None and found.landmarks is not None
    expected = expected_backdrop(profile, None)
    where: list[tuple[str, str]] = []
    started = {"shadow": threading.Event(), "looks": threading.Event()}

    def spy(name, real):
        def run(*args, **kwargs):
            where.append((name, threading.current_thread().name))
            started[name].set()
            return real(*args, **kwargs)
        return run

    def bystander_after_the_pool_started(*args, **kwargs):  # the caller's last part waits for
        assert all(e.wait(60) for e in started.values())  # the pool (else result_here would
        return real_bystander(*args, **kwargs)  # take back what it had not started)

    one = measure_module.measure(frame, [found.face], found.landmarks, profile, expected)
    real_bystander = measure_module.measure_bystander
    monkeypatch.setattr(measure_module, "backdrop_shadow", spy("shadow", measure_module.backdrop_shadow))
    monkeypatch.setattr(measure_module, "_face_looks", spy("looks", measure_module._face_looks))
    monkeypatch.setattr(measure_module, "measure_bystander", bystander_after_the_pool_started)
    two = measure_module.measure(frame, [found.face], found.landmarks, profile, expected,
                                 Stages(2))
    assert _key(two) == _key(one)  # every value, in the same order
    # as the capture measured it (before the probes beside the head add theirs)
    assert one.values == {k: v for k, v in found.values.items() if not k.startswith("bystander_face")}
    assert {name for name, _ in where} == {"shadow", "looks"}
    assert all(thread.startswith("checks") for _, thread in where), where
    if scene == "blue shirt":  # the clothes were judged on the person mask too
        assert "clothing_person_share" in one.values


@contextmanager
def busy_pool() -> Iterator[None]:
    """Every thread of the two-thread stage pool held (waiting on an event) meanwhile: a stage
    handed to the pool stays queued, unstarted."""
    pool = Stages(2)
    release = threading.Event()
    started = [threading.Event() for _ in range(pool.threads)]

    def hold(i: int) -> None:
        started[i].set()
        release.wait(120)

    held = [pool.submit(hold, i) for i in range(pool.threads)]
    try:
        assert all(e.wait(60) for e in started)
        yield
    finally:
        release.set()
        for f in held:
            f.result()


def test_parts_the_busy_pool_has_not_started_are_measured_in_the_callers_thread(
        profile, portrait, monkeypatch):
    """With every pool thread busy, the shadow and the face's looks handed to the pool are
    taken back and made by the caller: the same values, no wait for the queue."""
    img, truth = portrait
    frame = add_hair(img, truth, reach=1.6)
    found = analyse(frame, profile, threads=1).measurements
    assert found is not None and found.face is not None
    expected = expected_backdrop(profile, None)
    one = measure_module.measure(frame, [found.face], found.landmarks, profile, expected)
    where: list[str] = []
    for name in ("backdrop_shadow", "_face_looks"):
        real = getattr(measure_module, name)

        def spy(*args, _real=real, **kwargs):
            where.append(threading.current_thread().name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(measure_module, name, spy)
    with busy_pool():
        two = measure_module.measure(frame, [found.face], found.landmarks, profile, expected,
                                     Stages(2), probe=True)
    probes = {k: v for k, v in found.values.items() if k.startswith("bystander_face")}
    assert "bystander_face" in probes
    assert two.values == {**one.values, **probes}
    assert list(two.values) == list(one.values) + list(probes)
    assert where == [threading.current_thread().name] * 2


def test_measure_on_one_thread_runs_every_part_in_the_callers_thread(profile, portrait,
                                                                     threads_of):
    img, _ = portrait
    found = analyse(img, profile, threads=1).measurements
    assert found is not None and found.face is not None
    threads = threads_of(measure_module, "backdrop_shadow")
    for stages in (None, Stages(1)):
        measure_module.measure(img, [found.face], found.landmarks, profile,
                               expected_backdrop(profile, None), stages)
    assert threads == [threading.current_thread().name] * 2


def _rows_image(subject_rows: np.ndarray, width: int = 40) -> np.ndarray:
    """Backdrop blue, with dark hair across the rows flagged in ``subject_rows``."""
    img = np.empty((subject_rows.size, width, 3), np.uint8)
    img[:] = BACKDROP_BGR
    img[subject_rows] = (30, 30, 35)
    return img


def test_head_top_block_by_block_is_the_whole_bands_head_top(profile):
    """Every way rows can fall: a head top at every row (across block boundaries), random
    isolated subject rows (a single one never counts), the head cut by the top edge, none."""
    colour = rgb_to_lab(BACKDROP_BGR[::-1])

    def both(img: np.ndarray, centre: tuple[float, float], iod: float):
        whole = head_top(head_top_mask(to_lab(img), colour, profile), centre, iod)
        return whole, head_top_of(img, colour, centre, iod, profile)

    rows = 100
    block = -(-rows // HEAD_TOP_BLOCKS)
    seen = set()
    for top in range(rows):
        flags = np.zeros(rows, bool)
        flags[top:] = True
        whole, blocks = both(_rows_image(flags), (20.0, float(rows)), 40.0)
        assert blocks == whole
        seen.add(whole)
    assert {0.0, float(block - 1), float(block), float(rows - 2), None} <= seen
    rng = np.random.default_rng(7)
    for _ in range(200):
        flags = rng.random(rows) < rng.uniform(0.05, 0.6)
        img = _rows_image(flags)
        centre = (float(rng.uniform(0, 40)), float(rng.uniform(0, rows * 1.2)))
        whole, blocks = both(img, centre, float(rng.uniform(5, 80)))
        assert repr(blocks) == repr(whole)


def test_head_top_block_by_block_on_rendered_portraits(profile, portrait):
    img, truth = portrait
    colour = to_lab(img[5:25, 5:25]).reshape(-1, 3).mean(axis=0)
    ex, ey = truth["eye_mid"]
    for frame in _scenes(portrait).values():
        for dx in (-30, 0, 30):
            for bottom in (ey, ey - 150, 40):
                x0 = int(ex + dx) - 40
                band = frame[:int(bottom), x0:x0 + 81]
                whole = head_top(head_top_mask(to_lab(band), colour, profile), (40.0, bottom), 100.0)
                assert repr(head_top_of(band, colour, (40.0, bottom), 100.0, profile)) == repr(whole)


@pytest.mark.parametrize("scene", ["plain", "long hair", "a face behind"])
@pytest.mark.parametrize("threads", [1, 2])
def test_measure_with_the_probes_gives_measure_then_probe_faces(profile, portrait, scene, threads):
    """``probe=True`` makes the looks beside the head inside measure(): the values of measure()
    followed by ``probe_faces``, in the same order, on one thread or two."""
    from station.checks.bystander import probe_faces

    frame = _scenes(portrait)[scene]
    found = analyse(frame, profile, threads=1).measurements
    assert found is not None and found.face is not None and found.landmarks is not None
    expected = expected_backdrop(profile, None)
    stages = Stages(threads)
    then = measure_module.measure(frame, [found.face], found.landmarks, profile, expected, stages)
    then.values.update(probe_faces(frame, then.values, found.landmarks, then.face_span, stages))
    inside = measure_module.measure(frame, [found.face], found.landmarks, profile, expected,
                                    stages, probe=True)
    assert _key(inside) == _key(then)
    assert ("bystander_face" in inside.values) is (scene != "plain")
