"""The live checks' own process (station.tui.live_checks): the same report as the checker in a
thread, for a frame sent as pixels and as a JPEG; a process that is gone is said, not waited on."""

from __future__ import annotations

import pytest

from station.camera.base import Frame
from station.checks import LiveChecker, load_profile
from station.tui.live_checks import LiveChecksGone, LiveChecksProcess
from tests.tui.conftest import portrait


def _summary(report):
    return [(c.name, c.status) for c in report.checks], sorted(report.guides)


def test_the_process_reports_what_the_thread_would():
    import cv2

    img = portrait(640, 800)
    jpeg = cv2.imencode(".jpg", img)[1].tobytes()
    decoded = cv2.imdecode(cv2.imencode(".jpg", img)[1], cv2.IMREAD_COLOR)
    checks = LiveChecksProcess("chsi", None)
    try:
        from_pixels = checks.analyse(Frame(seq=1, captured_at=0.0, bgr=img))
        from_jpeg = checks.analyse(Frame(seq=2, captured_at=0.0, jpeg=jpeg))
    finally:
        checks.close()
    here = LiveChecker(load_profile("chsi"))
    assert _summary(from_pixels) == _summary(here.analyse(img))
    assert _summary(from_jpeg) == _summary(here.analyse(decoded))
    assert from_pixels.checks, "an empty report would pass any comparison"


def test_a_process_that_is_gone_raises_instead_of_waiting():
    checks = LiveChecksProcess("chsi", None)
    checks._proc.kill()
    checks._proc.wait()
    with pytest.raises(LiveChecksGone):
        checks.analyse(Frame(seq=1, captured_at=0.0, bgr=portrait()))
    checks.close()
