"""The desk says why a step failed in the operator's words (station.reasons), and keeps working:
a photo the camera delivered cut short, the store held by another program. Pilot on the sim
camera and reader with the real store, checks and crop."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3

from .test_tui_sessions import (
    ScriptedSource,
    app_on,
    capture,
    demo_store,
    desk,
    station,
    student_paid,
    until,
)

__all__ = ["demo_store", "station"]       # the fixtures, used by name


def test_a_photo_cut_short_is_said_in_words_and_taken_again(station):
    """The camera hands over a JPEG cut off mid-transfer (a cable knocked): the capture's checks
    say the file is incomplete, in Chinese (no Pillow English), A is refused, and R then Space
    photographs the student again, whose good photo is accepted."""
    from station.tui.widgets.checks import CheckList

    data_dir, setup = station
    a = setup.eligible[0]

    async def run():
        app = app_on(data_dir, [a], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await student_paid(pilot)
            devices = app.devices
            real = devices.capture

            def cut_short(timeout: float = 10.0):
                shot = real(timeout)
                devices.capture = real                       # only this one
                return dataclasses.replace(shot, data=shot.data[: len(shot.data) // 3])

            devices.capture = cut_short
            await capture(pilot)
            assert desk(app).person.capture.passed is False
            shown = desk(app).query_one(CheckList).render().plain
            assert "文件不完整" in shown, shown
            for english in ("truncated", "image file", "OSError", "Errno"):
                assert english not in shown, shown
            notice = desk(app).query_one("#notice")
            await pilot.press("a")
            await until(pilot, lambda: notice.level == "error", what="accept refused")
            assert desk(app).state == "captured"
            await pilot.press("r")
            await until(pilot, lambda: desk(app).state == "framing", what="framed again")
            desk(app).frames_shown = 0
            await capture(pilot)                              # the desk works on
            assert desk(app).person.capture.passed is True
            await pilot.press("a")
            await until(pilot, lambda: desk(app).state == "accepted", what="accepted")

    asyncio.run(run())


def test_a_store_held_by_another_program_is_said_in_words_and_the_step_done_again(station):
    """Another program holds the store's write lock (a station command, a backup) past the busy
    wait: accepting says so in Chinese — not "OperationalError: database is locked" — and that
    nothing is lost; once it lets go, A accepts."""
    data_dir, setup = station
    a = setup.eligible[0]

    async def run():
        app = app_on(data_dir, [a], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await student_paid(pilot)
            await capture(pilot)
            app.runner.call(lambda store: store.conn.execute("PRAGMA busy_timeout = 200"),
                            lambda _v: None)           # the 30 s wait, shortened for the test
            await app.settle()
            other = sqlite3.connect(data_dir / "station.sqlite3", isolation_level=None)
            other.execute("BEGIN EXCLUSIVE")
            notice = desk(app).query_one("#notice")
            try:
                await pilot.press("a")
                await until(pilot, lambda: notice.level == "error", what="the refusal")
                zh, en = notice.words
                assert desk(app).state == "captured"
                assert "占用" in zh and "locked" not in zh and "OperationalError" not in zh, zh
                assert "in use" in en and "database is locked" in en, en
            finally:
                other.execute("ROLLBACK")
                other.close()
            await pilot.press("a")
            await until(pilot, lambda: desk(app).state == "accepted", what="accepted")

    asyncio.run(run())


def test_a_read_only_data_folder_at_the_shutter_is_said_in_words_and_the_photo_taken_again(
        station, tmp_path):
    """The data folder turns read-only under the desk (a USB stick's lock switch; here a
    read-only bind mount over it — the store's open files stay writable, as on a remount): Space
    says the folder is read-only, which one, and that nothing is lost, in Chinese (no "Errno",
    no "Read-only file system"); the student stays framed, and once it is writable Space takes
    the photo."""
    import subprocess

    import pytest

    from tests.faultkit import mount_problem

    problem = mount_problem()
    if problem is not None:
        pytest.skip(problem)
    data_dir, setup = station
    a = setup.eligible[0]

    def mount(*args: str) -> None:
        subprocess.run(["mount", *args], check=True, capture_output=True, timeout=60)

    async def run():
        app = app_on(data_dir, [a], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await student_paid(pilot)
            notice = desk(app).query_one("#notice")
            await until(pilot, lambda: desk(app).frames_shown > 0, what="a live frame")
            mount("--bind", str(data_dir), str(data_dir))
            try:
                mount("-o", "remount,bind,ro", str(data_dir))
                await pilot.press("space")
                await until(pilot, lambda: notice.level == "error", what="the refusal")
            finally:
                subprocess.run(["umount", "-l", str(data_dir)], capture_output=True, timeout=60)
            zh, en = notice.words
            assert desk(app).state == "framing"
            assert zh.startswith("文件夹是只读的") and str(data_dir) in zh, zh
            assert "Errno" not in zh and "Read-only file system" not in zh, zh
            await capture(pilot)                              # writable again: taken
            assert desk(app).person.capture.passed is True

    asyncio.run(run())


def test_an_unexpected_camera_fault_at_the_shutter_is_said_and_space_works_again(station):
    """The camera layer raises an exception of a type nobody expected (not a DeviceError) while
    it takes the photo: the capture worker ended without releasing its busy state, so Space
    said nothing ever again for this desk. Now the fault is said in words (zh and en, no bare
    traceback), the student stays framed, and the next Space photographs them."""
    data_dir, setup = station
    a = setup.eligible[0]

    async def run():
        app = app_on(data_dir, [a], ScriptedSource())
        async with app.run_test(size=(120, 40)) as pilot:
            await student_paid(pilot)
            camera = app.devices.camera

            def broken(timeout: float = 10.0):
                del camera.capture                           # only this one
                raise ValueError("driver returned garbage")

            camera.capture = broken
            notice = desk(app).query_one("#notice")
            await until(pilot, lambda: desk(app).frames_shown > 0, what="a live frame")
            await pilot.press("space")
            await until(pilot, lambda: notice.level == "error", what="the fault said")
            zh, en = notice.words
            assert "相机" in zh and "ValueError" in zh and "Traceback" not in zh, zh
            assert "camera" in en, en
            assert desk(app).state == "framing"
            await until(pilot, lambda: not desk(app)._capturing, what="the shutter released")
            await capture(pilot)                              # Space works again
            assert desk(app).person.capture is not None

    asyncio.run(run())
