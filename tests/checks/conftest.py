"""Fixtures of the checks area: the CHSI profile and rendered portraits with known geometry."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def profile():
    from station.checks import load_profile

    return load_profile("chsi")


@pytest.fixture(scope="session")
def good_capture():
    """A 1200×1600 capture that should pass every check, and its truth."""
    from station.sim.portrait import render

    return render(1200, 1600)


@pytest.fixture
def threads_of(monkeypatch):
    """``threads_of(module, name)``: a list that gets the name of the thread of every call of
    ``module.name`` from now on (the function still runs): which thread made which stage."""
    import threading

    def spy_on(module, name: str) -> list[str]:
        seen: list[str] = []
        real = getattr(module, name)

        def spy(*args, **kwargs):
            seen.append(threading.current_thread().name)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
        return seen

    return spy_on


@pytest.fixture
def busy_pool():
    """``with busy_pool():`` every thread of the two-thread stage pool held (waiting on an event)
    meanwhile: a stage handed to the pool stays queued, unstarted."""
    import threading
    from collections.abc import Iterator
    from contextlib import contextmanager

    from station.checks.workers import Stages

    @contextmanager
    def held() -> Iterator[None]:
        pool = Stages(2)
        release = threading.Event()
        started = [threading.Event() for _ in range(pool.threads)]

        def hold(i: int) -> None:
            started[i].set()
            release.wait(120)

        holds = [pool.submit(hold, i) for i in range(pool.threads)]
        try:
            assert all(e.wait(60) for e in started)
            yield
        finally:
            release.set()
            for f in holds:
                f.result()

    return held


@pytest.fixture
def opened(monkeypatch) -> list[object]:
    """Every stream ``bands.open_stream`` makes, in order (the decodes call it by module)."""
    from station.checks import bands

    made: list[object] = []
    real = bands.open_stream

    def recording(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(bands, "open_stream", recording)
    return made
