"""Reader errors carry one marker base class, and the desk routes them by it (isinstance).

The table below is the contract: a reader error is quiet (no card yet), about one card (tap
again: the desk says so, the reader is fine) or a reader fault (the desk shows the reader as
down). It runs through the real ``DeskDevices.read_card`` and the real TUI reader loop.
"""

from __future__ import annotations

import inspect
import threading

import pytest

from station.errors import DeviceError
from station.idcard import errors

# class name → what the desk does with it. A class missing here, or a name misspelled, fails.
EXPECTED = {
    "NoCardError": "quiet",
    "ReaderTimeoutError": "quiet",
    "CardDataError": "card",
    "SelectFailedError": "card",
    "CardRefusedError": "card",
    "CardRemovedError": "card",
    "SamFaultError": "reader",
    "ReaderNotAnsweringError": "reader",
    "NoReaderError": "reader",
    "ReaderGoneError": "reader",
    "ReaderClosedError": "reader",
    "ReaderServiceError": "reader",
    "NotASamReaderError": "reader",
    "PhotoDecoderError": "reader",
}
MARKER_OF = {"quiet": errors.NoCardYet, "card": errors.CardProblem, "reader": errors.ReaderFault}


def _error_classes() -> dict[str, type]:
    return {name: cls for name, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, DeviceError) and cls.__module__ == errors.__name__
            and cls is not errors.SamStatusError}


def _instance(cls: type) -> DeviceError:
    if issubclass(cls, errors.SamStatusError):
        return cls(0x41, "read text+photo")
    return cls("idcard.card_removed")


def test_every_reader_error_has_exactly_one_marker_and_is_in_the_table():
    classes = _error_classes()
    assert set(classes) == set(EXPECTED), "a reader error class is new, gone or misspelled"
    for name, cls in classes.items():
        markers = [m for m in errors.MARKERS if issubclass(cls, m)]
        assert markers == [MARKER_OF[EXPECTED[name]]], name
        assert cls.exit_code == 3


@pytest.mark.parametrize("sw3, name", [
    (0x80, "NoCardError"), (0x81, "SelectFailedError"), (0x41, "CardRefusedError"),
    (0x31, "CardRefusedError"), (0x91, "CardRefusedError"), (0x60, "SamFaultError"),
    (0x66, "SamFaultError"), (0xFF, "SamFaultError"), (0x10, "SamFaultError"),
    (0x5A, "SamFaultError"),
])
def test_sam_statuses_map_to_the_right_class(sw3, name):
    error = errors.sam_status_error(sw3, "some command")
    assert type(error).__name__ == name and error.sw3 == sw3


class _FailingReader:
    """A reader whose next ``read`` raises the given error once, then waits quietly."""

    name = "stub"

    def __init__(self, error: DeviceError) -> None:
        self.error: DeviceError | None = error
        self.calls = 0

    def read(self, timeout: float):
        self.calls += 1
        error, self.error = self.error, None
        if error is not None:
            raise error
        raise errors.ReaderTimeoutError("idcard.timeout", seconds=timeout)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_desk_devices_swallow_only_no_card_yet(name):
    from station.devices import DeskDevices

    devices = DeskDevices(camera_kind=None, reader_spec=None)
    devices.reader = _FailingReader(_instance(_error_classes()[name]))
    if EXPECTED[name] == "quiet":
        assert devices.read_card(0.01) is None
    else:
        with pytest.raises(DeviceError) as info:
            devices.read_card(0.01)
        assert type(info.value).__name__ == name


@pytest.mark.parametrize("name", sorted(n for n, kind in EXPECTED.items() if kind != "quiet"))
def test_tui_reader_loop_tells_card_problems_from_reader_faults(name):
    import asyncio

    from textual.app import App

    from station.config import default_settings
    from station.devices import DeskDevices
    from station.settings import SessionSection
    from station.tui.messages import DeviceProblem, SessionRefused
    from station.tui.workers import reader_loop

    seen: list[str] = []
    stepped = threading.Event()

    class Runner:
        def step(self, fn) -> None:
            stepped.set()

    class LoopApp(App):
        def __init__(self) -> None:
            super().__init__()
            self.devices = DeskDevices(camera_kind=None, reader_spec=None)
            self.devices.reader = _FailingReader(_instance(_error_classes()[name]))
            self.runner = Runner()
            quick = SessionSection(card_poll_seconds=0.01)
            self.settings = default_settings().model_copy(update={"session": quick})

        def on_session_refused(self, message: SessionRefused) -> None:
            seen.append("card")

        def on_device_problem(self, message: DeviceProblem) -> None:
            seen.append("reader")

    async def run() -> None:
        app = LoopApp()
        async with app.run_test() as pilot:
            worker = app.run_worker(lambda: reader_loop(app), thread=True)
            for _ in range(1000):       # generous on a loaded machine; stops at the first message
                await pilot.pause(0.01)
                if seen:
                    break
            worker.cancel()

    asyncio.run(run())
    assert seen[:1] == [EXPECTED[name]]
    assert stepped.is_set() == (EXPECTED[name] == "reader")
