"""TUI figures, measured the way a photographer sees them: `station run` in a real pseudo-terminal.

- ``live_fps_on_screen``: live-view frames the desk painted per second at 120×40, half-block, a
  truecolor terminal, the simulated camera at its configured rate, live checks running, while
  keys are being pressed (goal ≥ 20);
- ``live_check_reports_per_second``: live check reports the desk got in the same window (the
  checks run in their own process, paced so that the picture keeps a core);
- ``analysis_fps_alone``: the live checks alone on the same camera's frames, measured just before
  and just after in the same run, and the ratio of the two (the picture no longer waits for the
  checks, so the ratio may exceed 1);
- ``key_to_paint_ms``: from writing a key to the terminal until its effect is in the terminal's
  output (``g`` auto-capture on/off, ``l`` the language switch, the heaviest key) (goal p95 ≤ 50);
- ``tracebacks``: "Traceback" in the station log after switching screens (F2, F4, F1, Esc);
- ``startup_ms``: fresh process until the log-in screen is drawn (goal ≤ 1000).

The machine is shared: the load average is reported with the figures. Run: `python -m bench tui`.
"""

from __future__ import annotations

import codecs
import fcntl
import json
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from bench._table import Figure

TABLE = [
    Figure("live view frames painted a second at 120×40, half-block, during key presses",
           "live_fps_on_screen", "fps", at_least=20, reference="analysis_fps_alone.mean",
           reference_name="live checks alone on the same frames (fps)"),
    Figure("key press → its effect in the terminal's output, during live view (p95)",
           "key_to_paint_ms.p95", "ms", at_most=50),
    Figure("live check reports a second in the same window (checks running)",
           "live_check_reports_per_second", "/s"),
    Figure("UI thread CPU per painted frame", "cpu_ms_per_painted_frame_by_thread.python", "ms"),
    Figure("CPU per painted frame, all threads and the checks process",
           "cpu_ms_per_painted_frame_by_thread.all", "ms"),
    Figure("tracebacks in the log after screen switches", "tracebacks", "", at_most=0),
    Figure("start-up to the first screen (median)", "startup_ms.median", "ms", at_most=1000),
]

ROOT = Path(__file__).resolve().parent.parent
KEY_PRESSES = 60
STARTUPS = 5
SIZE = (120, 40)
ANALYSIS_SECONDS = 4.0

# The child: the real CLI (`station run`) with a counter on the live pane's paints.
_CHILD = r"""
import atexit, json, os, sys, threading, time
from station.tui.widgets.picture_view import PictureView

paints = []
_render_line = PictureView.render_line

def render_line(self, y):
    if y == 0 and self.id == "live" and self._fresh:
        paints.append(time.monotonic())
    return _render_line(self, y)

PictureView.render_line = render_line

from station.tui.messages import LiveChecked

reports = []
_checked_init = LiveChecked.__init__


def checked_init(self, *args, **kwargs):
    reports.append(time.monotonic())
    _checked_init(self, *args, **kwargs)


LiveChecked.__init__ = checked_init


import ctypes, threading
_prctl = ctypes.CDLL(None).prctl
_bootstrap = threading.Thread._bootstrap_inner


def _named_bootstrap(self):  # every thread's Python name in /proc, for the CPU figures
    _prctl(15, self.name[:15].encode(), 0, 0, 0)
    _bootstrap(self)


threading.Thread._bootstrap_inner = _named_bootstrap


def named(loop, name):
    def run(*args):
        _prctl(15, name.encode(), 0, 0, 0)
        return loop(*args)
    return run


import station.tui.screens.desk as desk
for loop in ("picture_loop", "checks_loop", "camera_watch_loop", "reader_loop"):
    setattr(desk, loop, named(getattr(desk, loop), loop.replace("_loop", "")))
def save():
    with open(sys.argv[2] + ".tmp", "w") as fh:
        fh.write(json.dumps({"paints": list(paints), "reports": list(reports)}))
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])


def keep_saving():          # the figures survive however the process ends
    while True:
        time.sleep(0.5)
        save()


threading.Thread(target=keep_saving, daemon=True, name="bench-save").start()
atexit.register(save)
from station.cli.main import main
sys.exit(main(["--data-dir", sys.argv[1], "run", "--camera", "sim", "--reader", "sim",
               "--lang", "zh"]))
"""

_STARTUP_SCRIPT = r"""
import asyncio, sys, time
t0 = time.perf_counter()
from station.tui.app import make_app
async def main():
    app = make_app(sys.argv[1], camera=None, reader=None, live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "LoginScreen"
        print(round((time.perf_counter() - t0) * 1000, 1))
asyncio.run(main())
"""

F = {"f1": "\x1bOP", "f2": "\x1bOQ", "f4": "\x1bOS", "esc": "\x1b", "enter": "\r"}


class Terminal:
    """A child process on a pseudo-terminal whose output is drained (and kept) by a thread."""

    def __init__(self, argv: list[str], env: dict[str, str], cols: int, rows: int) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=ROOT, start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.text = ""
        self.base = 0                                 # output offset of text[0]
        self._cond = threading.Condition()
        self._decoder = codecs.getincrementaldecoder("utf-8")("ignore")
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._cond.notify_all()
                return
            text = self._decoder.decode(chunk)
            with self._cond:
                self.text += text
                self._cond.notify_all()

    def mark(self) -> int:
        """The current end of the output; older output is dropped (searches start at marks)."""
        with self._cond:
            keep = 64                                 # a needle split across the mark
            self.base += max(0, len(self.text) - keep)
            self.text = self.text[-keep:]
            return self.base + len(self.text)

    def send(self, keys: str) -> int:
        """Write ``keys``; returns the output position before them (search from there)."""
        mark = self.mark()
        os.write(self.master, keys.encode())
        return mark

    def wait_for(self, needle: str, since: int, timeout: float = 30.0) -> float:
        """Block until ``needle`` is in the output after ``since``; the monotonic time it was."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while needle not in self.text[max(0, since - self.base):]:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"{needle!r} never appeared on the terminal")
                self._cond.wait(min(left, 0.5))
            return time.monotonic()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        os.close(self.master)


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds used so far by each thread of ``pid``, by thread name (load-independent)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
            name = (task / "comm").read_text().strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    for child in _children(pid):                # the live checks' process: its CPU counts too
        out["child-processes"] = out.get("child-processes", 0.0) + _process_cpu(child, tick)
    return out


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _process_cpu(pid: int, tick: int) -> float:
    """CPU seconds of ``pid`` and its own children, all threads (0 once it has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / tick + sum(_process_cpu(c, tick)
                                                            for c in _children(pid))


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"median": round(statistics.median(ordered), 1), "p95": round(p95, 1),
            "max": round(ordered[-1], 1), "n": len(ordered)}


def startup_ms(data_dir: Path) -> dict:
    """Fresh interpreter each time: what a photographer waits for after `station run`."""
    times = []
    for _ in range(STARTUPS):
        out = subprocess.run([sys.executable, "-c", _STARTUP_SCRIPT, str(data_dir)], cwd=ROOT,
                             capture_output=True, text=True, check=True,
                             env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return _summary(times)


def analysis_fps(data_dir: Path, seconds: float = ANALYSIS_SECONDS) -> float:
    """Live checks alone on the simulated camera's frames, as the desk gets them."""
    from station.config import load_settings
    from station.devices import DeskDevices

    settings = load_settings(data_dir)
    devices = DeskDevices("sim", None, settings.exports.profile, settings=settings,
                          data_dir=data_dir)
    devices.open()
    try:
        devices.camera.wait_connected(30)
        devices.live_view(True)
        frame, seq = None, -1
        while frame is None:
            frame = devices.wait_frame(seq, 1.0)
        done, started = 0, time.monotonic()
        while time.monotonic() - started < seconds:
            frame = devices.wait_frame(seq, 1.0) or frame
            seq = frame.seq
            devices.analyse_image(frame.image())
            done += 1
        return round(done / (time.monotonic() - started), 1)
    finally:
        devices.close()


def on_screen(data_dir: Path) -> dict:
    """The desk in a pty: log in, tap, pay, then keys while the live view runs."""
    from station.sim import demo

    stats = data_dir / "paints.json"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TERM": "xterm-256color",
           "COLORTERM": "truecolor", "LANG": "C.UTF-8", "HOME": str(data_dir),
           "STATION__TUI__PICTURE": "halfblock",
           # auto-capture starts on but needs 1000 s of steady framing: g toggles, never fires
           "STATION__SESSION__AUTO_CAPTURE_SECONDS": "1000"}
    term = Terminal([sys.executable, "-c", _CHILD, str(data_dir), str(stats)], env, *SIZE)
    latencies: dict[str, list[float]] = {"g": [], "l": []}
    try:
        term.wait_for("PIN", 0, timeout=60)
        mark = term.send(demo.DEMO_PHOTOGRAPHER + F["enter"])
        time.sleep(0.3)
        term.send(demo.DEMO_PHOTOGRAPHER_PIN + F["enter"])
        term.wait_for("手工录入", mark, timeout=60)
        time.sleep(1.0)                                   # the simulated camera connects
        mark = term.send("t")
        term.wait_for("30", mark, timeout=30)             # identified: the fee prompt
        mark = term.send("p")
        term.wait_for("微信", mark, timeout=30)
        mark = term.send("4200" + F["enter"])
        term.wait_for("✓", mark, timeout=60)              # live checks are on screen
        time.sleep(1.0)
        lang, auto = "zh", True
        words = {("zh", True): "自动拍摄：开", ("zh", False): "自动拍摄：关",
                 ("en", True): "Auto-capture: on", ("en", False): "Auto-capture: off"}
        cpu_start, window_start = thread_cpu(term.proc.pid), time.monotonic()
        for i in range(KEY_PRESSES):
            key = "g" if i % 2 else "l"
            if key == "g":
                auto = not auto
            else:
                lang = "en" if lang == "zh" else "zh"
            needle = words[(lang, auto)] if key == "g" else ("中文" if lang == "en" else "English")
            sent = time.monotonic()
            mark = term.send(key)
            seen = term.wait_for(needle, mark, timeout=15)
            latencies[key].append((seen - sent) * 1000)
            time.sleep(0.15)
        window_end, cpu_end = time.monotonic(), thread_cpu(term.proc.pid)
        if lang == "en":
            term.send("l")
        for key, needle in (("f2", "场次总览"), ("esc", "帮助"), ("f4", "读卡器"),
                            ("f2", "场次总览"), ("esc", "帮助"), ("f1", "按键"),
                            ("esc", "帮助")):
            mark = term.send(F[key])
            term.wait_for(needle, mark, timeout=30)
            time.sleep(0.3)
        mark = term.send("\x11")                          # Ctrl+Q, and yes to "quit?"
        term.wait_for("Y 退出", mark, timeout=30)
        asked = time.monotonic()
        term.send("y")
        try:
            term.proc.wait(120)
            quit_s = round(time.monotonic() - asked, 1)
        except subprocess.TimeoutExpired:
            quit_s = None                                 # reported: it did not quit
    finally:
        term.close()
    saved = json.loads(stats.read_text()) if stats.exists() else {}
    in_window = [p for p in saved.get("paints", []) if window_start <= p <= window_end]
    reports = [p for p in saved.get("reports", []) if window_start <= p <= window_end]
    log = data_dir / "logs" / "station.log"
    tracebacks = log.read_text(encoding="utf-8").count("Traceback") if log.exists() else -1
    frames = max(len(in_window), 1)
    used = {name: cpu_end.get(name, 0.0) - cpu_start.get(name, 0.0)
            for name in {*cpu_start, *cpu_end}}
    cpu = {name: round(seconds * 1000 / frames, 1)
           for name, seconds in sorted(used.items()) if seconds > 0.05}
    cpu["all"] = round(sum(used.values()) * 1000 / frames, 1)
    return {"key_to_paint_ms": _summary(latencies["g"] + latencies["l"]),
            "cpu_ms_per_painted_frame_by_thread": cpu,
            "key_to_paint_ms_by_key": {"g_auto_capture_toggle": _summary(latencies["g"]),
                                       "l_language_switch": _summary(latencies["l"])},
            "live_frames_on_screen": len(in_window),
            "live_fps_on_screen": round(len(in_window) / (window_end - window_start), 1),
            "live_check_reports_per_second": round(len(reports) / (window_end - window_start), 1),
            "tracebacks": tracebacks, "quit_seconds": quit_s}


def main() -> dict:
    from station.sim import demo

    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
        data_dir = Path(tmp) / "data"
        demo.prepare(data_dir, people=4)
        load_before = os.getloadavg()
        result: dict = {"startup_ms": startup_ms(data_dir)}
        before = analysis_fps(data_dir)
        result.update(on_screen(data_dir))
        after = analysis_fps(data_dir)
        alone = round((before + after) / 2, 1)
        result["analysis_fps_alone"] = {"before": before, "after": after, "mean": alone}
        result["on_screen_to_analysis_ratio"] = round(result["live_fps_on_screen"] / alone, 2)
        result["load_average"] = {"before": [round(v, 2) for v in load_before],
                                  "after": [round(v, 2) for v in os.getloadavg()]}
    result["goals"] = {"live_fps_on_screen": 20, "key_p95_ms": 50, "startup_ms": 1000,
                       "tracebacks": 0}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
