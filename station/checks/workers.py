"""Independent stages of one capture, side by side on a small persistent thread pool.

The photographer waits for wall time, and a station laptop has two cores or more. OpenCV,
onnxruntime, LiteRT and Pillow's JPEG codec release the GIL, so stages of one capture that do
not need each other's results (the frame measurements beside BlazeFace and the export encode, a
finer decode beside the analysis) really run at the same time. Each stage is a function of its
inputs only, so the results are the same bytes whatever the number of threads: with one thread
every stage runs at once in the caller's thread, in the same order of dependencies.

The live view never uses this: it keeps to one core.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

MAX_THREADS = 8
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def default_threads() -> int:
    """Two threads where there are two cores: more buys nothing (the stages are few)."""
    return max(1, min(2, os.cpu_count() or 1))


def set_opencv_threads(threads: int) -> None:
    """OpenCV's own worker threads, process-wide (its resizes, colour conversions and filters
    share their rows out among them: the same pixels whatever the count). Only for a process
    that has not started other threads using OpenCV (``station check``/``crop`` at start): the
    desk leaves OpenCV's default, changing it while another thread is inside OpenCV is unsafe."""
    import cv2

    cv2.setNumThreads(threads)


def _forget_pools() -> None:
    """In a forked child (the desk's live-checks process, multiprocessing) the parent's pool
    threads do not exist: its futures would never run. The child makes its own pool."""
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()  # the parent's may have been held by a thread at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def _pool(threads: int) -> ThreadPoolExecutor:
    """The process's pool for ``threads``: made once, kept (no thread start-up per capture).

    It has ``threads`` workers, one more than the cores it adds to the caller's: a speculative
    stage (a decode that may not be needed) never makes a needed one queue behind it.
    """
    with _pools_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="checks")
        return pool


class Stages:
    """Runs the stages of one capture: on the shared pool with threads > 1, else at once."""

    def __init__(self, threads: int | None = None) -> None:
        n = default_threads() if threads is None else threads
        if not 1 <= n <= MAX_THREADS:
            raise ValueError(f"check threads must be 1..{MAX_THREADS}, not {n}")
        self.threads = n
        self._pool = _pool(n) if n > 1 else None

    @property
    def concurrent(self) -> bool:
        return self._pool is not None

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        """``fn(*args)`` as a future: already done when there is one thread."""
        if self._pool is not None:
            return self._pool.submit(fn, *args)
        return done(fn, *args)


def result_here(future: Future[T], fn: Callable[..., T], *args: object) -> T:
    """``future``'s result (``fn(*args)`` handed to the pool); when no pool thread has started it
    yet (the pool busy with other stages, or the machine loaded), it is taken back and made in
    this thread instead, the same call: a stage handed over never costs a wait in the queue."""
    if future.cancel():
        return fn(*args)
    return future.result()


def done(fn: Callable[..., T], *args: object) -> Future[T]:
    """``fn(*args)`` run now, its result (or exception) in a completed future."""
    future: Future[T] = Future()
    try:
        future.set_result(fn(*args))
    except BaseException as exc:  # the caller's .result() raises it, as the pool's would
        future.set_exception(exc)
    return future
