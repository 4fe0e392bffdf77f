"""The desk's live checks in a process of their own.

The live checks are Python-heavy (landmarks, measurements, placement). In a thread of the desk
they held the interpreter lock for most of every analysis, so the desk's own thread (keys,
painting) and the picture thread queued behind them: keys answered late and frames were missed.
In a separate process they run on the other core and hold nothing of the desk's.

One frame at a time: the checks loop sends the newest frame (its JPEG when the camera sent one,
else its pixels) down the child's stdin and reads the report from its stdout (pickles, between
two processes of this program only). The checker keeps its face tracking between frames in that
process, as it did in the thread. The child's own output and log go to the station's log, never
to the terminal the desk draws on; it ends when the desk closes its stdin (or dies). If it cannot
start or dies, the checks loop goes on with the checker in its own thread (said once in the log).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import subprocess
import sys
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.camera.base import Frame
    from station.checks.calibration import Calibration
    from station.checks.live import LiveReport

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0    # seconds for the first report (the process imports the models)
REPORT_TIMEOUT = 30.0    # seconds for any later one (a loaded machine)


class LiveChecksGone(RuntimeError):
    """The checks process ended or stopped answering."""


def _station_log() -> str | None:
    """The file the desk logs to (the CLI's handler on the root logger), if any."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            return str(handler.baseFilename)
    return None


class LiveChecksProcess:
    """A :class:`~station.checks.live.LiveChecker` in a child interpreter."""

    def __init__(self, profile_name: str, calibration: Calibration | None) -> None:
        log_file = _station_log()
        sink = open(log_file or os.devnull, "ab")      # noqa: SIM115 (the child's stderr)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "station.tui.live_checks", log_file or ""],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sink, close_fds=True)
        finally:
            sink.close()
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._to: IO[bytes] = self._proc.stdin
        self._from: IO[bytes] = self._proc.stdout
        self._answered = False
        self._send((profile_name, calibration))

    def _send(self, item: Any) -> None:
        try:
            pickle.dump(item, self._to, protocol=pickle.HIGHEST_PROTOCOL)
            self._to.flush()
        except (BrokenPipeError, OSError) as exc:
            raise LiveChecksGone(f"the checks process is gone ({exc})") from exc

    def analyse(self, frame: Frame) -> LiveReport:
        """The live report of ``frame``; raises LiveChecksGone when the process is gone or does
        not answer in time."""
        pixels = None if frame.jpeg is not None else frame.image()
        self._send((frame.jpeg, pixels))
        timeout = REPORT_TIMEOUT if self._answered else START_TIMEOUT
        ready, _, _ = select.select([self._from], [], [], timeout)
        if not ready:
            self.close()
            raise LiveChecksGone(f"no live report in {timeout:.0f} s")
        try:
            answer = pickle.load(self._from)
        except (EOFError, pickle.UnpicklingError, OSError) as exc:
            raise LiveChecksGone(f"the checks process ended (exit {self._proc.poll()})") from exc
        self._answered = True
        if isinstance(answer, BaseException):
            raise answer
        report: LiveReport = answer
        return report

    def close(self) -> None:
        """End the process: its stdin closes, it exits; killed if it does not within a second."""
        with contextlib.suppress(OSError):
            self._to.close()
        try:
            self._proc.wait(1.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._from.close()


CHILD_NICENESS = 5       # the desk's keys and picture win the CPU over the checks when it is scarce


def _serve(log_file: str) -> None:
    """The child: replies on a private copy of stdout; fd 1 and 2 go to the log."""
    os.nice(CHILD_NICENESS)
    replies = os.fdopen(os.dup(1), "wb")
    requests = sys.stdin.buffer
    sink = os.open(log_file or os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.close(sink)
    if log_file:
        from station.privacy import MaskingFilter

        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskingFilter())
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
    import cv2
    import numpy as np

    from station.checks import LiveChecker, load_profile

    profile_name, calibration = pickle.load(requests)
    checker = LiveChecker(load_profile(profile_name), calibration=calibration)
    while True:
        try:
            jpeg, pixels = pickle.load(requests)
        except EOFError:
            return                                  # the desk closed: done
        try:
            if pixels is None:
                pixels = cv2.imdecode(np.frombuffer(jpeg or b"", np.uint8), cv2.IMREAD_COLOR)
            answer: Any = checker.analyse(pixels)
        except Exception as exc:                    # the desk logs it; the next frame goes on
            log.exception("live checks failed")
            answer = RuntimeError(f"live checks failed: {exc!r}")
        pickle.dump(answer, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


if __name__ == "__main__":
    _serve(sys.argv[1] if len(sys.argv) > 1 else "")
