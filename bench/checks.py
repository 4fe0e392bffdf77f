"""Checks speed: capture tier against a plain decode, and the live tier's frame rate.

- capture: full check + crop + encode of a 24-megapixel camera JPEG (MTCNN, face mesh, irises,
  placement, every check, the 30–40 KB encode), against one plain full-resolution
  ``cv2.imread`` of the same file, interleaved in the same run (goal: ratio ≤ 0.7); once framed
  so that the crop comes from the 1/4 decode the face is found on, once with the person smaller
  (the crop needs a second, 1/2 decode, made down to the window's last row only: half the
  landscape 24 MP frames of the real-face bench),
  and on a second, different file (a portrait whose face ends low, as on the real frames: the
  face's work cannot start during the decode there). The first file and the small person are
  timed again saved with a restart marker every MCU row (as some cameras and editors write
  them): the same pixels, but the reduced decodes run in bands on both threads
  (``station.checks.bands``), and imread takes libjpeg-turbo's slower Huffman path. Every figure is the median of interleaved
  rounds; the median of the per-round ratios (each capture against the imread just before it)
  and their quartiles are printed beside it, so one slow imread cannot decide a figure.
  The capture runs as a station runs it: its independent stages on two threads and OpenCV's
  own steps split over two (``session.check_threads``, default 2); the photographer waits for
  the wall time, the first figure. The same capture on one thread and the CPU time of both are printed beside it
  (concurrency buys wall time, not CPU). A station frames every student alike, so the pipeline
  times its speculative steps on the last capture of the same frame size; the headline figure
  repeats one file (as a session does), a further one clears that history before every capture. The 1/4 decode alone is printed too: Huffman decoding
  does not shrink with the DCT scale, so that decode is the floor of the ratio;
- live: ``LiveChecker.analyse`` on 1024×680 preview frames on one core, face mesh on every
  frame (goal ≥ 25 frames/s).
Wall-clock ratios suffer when other processes share the cores (two threads need two free
cores); the CPU-time figures (this process, every thread) say what the work costs. The load
average is printed with every figure.
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench._table import Figure
from station.checks.workers import default_threads, set_opencv_threads

TABLE = [
    Figure("check + crop + encode one capture", "check_crop_encode_ms", "ms",
           reference="imread_full_ms", reference_name="cv2.imread of the same JPEG",
           ratio_at_most=0.7),
    Figure("the same, person smaller in the frame (crop needs a 1/2 decode)",
           "small_person.check_crop_encode_ms", "ms", reference="small_person.imread_full_ms",
           reference_name="cv2.imread of the same JPEG", ratio_at_most=0.7),
    Figure("the same, a second 24 MP file: portrait, face low as on real frames, crop to the "
           "bottom edge, q95 4:2:2", "second_file.check_crop_encode_ms", "ms",
           reference="second_file.imread_full_ms", reference_name="cv2.imread of the same JPEG",
           ratio_at_most=0.7),
    Figure("the first file saved with a restart marker every MCU row",
           "restart.check_crop_encode_ms", "ms", reference="restart.imread_full_ms",
           reference_name="cv2.imread of the same JPEG", ratio_at_most=0.7),
    Figure("the small-person file saved with a restart marker every MCU row",
           "small_restart.check_crop_encode_ms", "ms", reference="small_restart.imread_full_ms",
           reference_name="cv2.imread of the same JPEG", ratio_at_most=0.7),
    Figure("check + crop + encode, CPU time of all its threads", "check_crop_encode_cpu_ms", "ms",
           reference="imread_full_cpu_ms", reference_name="cv2.imread's CPU time"),
    Figure("the same, first capture of its frame size (no history to time the guesses)",
           "first_capture.check_crop_encode_ms", "ms", reference="first_capture.imread_full_ms",
           reference_name="cv2.imread of the same JPEG"),
    Figure("check + crop + encode on one thread (session.check_threads = 1)",
           "one_thread.check_crop_encode_ms", "ms", reference="one_thread.imread_full_ms",
           reference_name="cv2.imread of the same JPEG"),
    Figure("libjpeg's 1/4-scale decode, one core", "decode_quarter_ms", "ms",
           reference="imread_full_ms", reference_name="cv2.imread of the same JPEG"),
    Figure("the 1/4-scale decode split over the check threads (splitjpeg: the floor of the "
           "first figure)", "decode_quarter_split_ms", "ms",
           reference="imread_full_ms", reference_name="cv2.imread of the same JPEG"),
    Figure("live checks on 1024×680 frames, one core", "live_fps_1024x680", "fps", at_least=25),
]


def _camera_frame(zoom: float = 1.0):
    """A 6000×4000 BGR portrait with camera noise; ``zoom`` < 1 frames the person smaller (0.75:
    the crop window needs a 1/2 decode, where 1.0 needs 1/4)."""
    import cv2
    import numpy as np

    from station.sim.portrait import render

    size = {} if zoom == 1.0 else {"face_width": round(0.28 * 2000 * zoom)}
    img, _ = render(3000, 2000, noise=0, **size)
    big = cv2.resize(img, (6000, 4000), interpolation=cv2.INTER_CUBIC)
    del img
    noise = np.random.default_rng(1).integers(-8, 9, size=big.shape, dtype="int16")
    return (big.astype("int16") + noise).clip(0, 255).astype("uint8")


def _camera_jpeg(path: Path, zoom: float = 1.0, restart: bool = False) -> None:
    """``_camera_frame`` saved like a camera does (quality 95, EXIF with make and model);
    ``restart``: with a restart marker every MCU row (a DRI segment: the same pixels)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 2000D"
    Image.fromarray(_camera_frame(zoom)[:, :, ::-1]).save(
        path, "JPEG", quality=95, exif=exif.tobytes(), restart_marker_rows=1 if restart else 0)


def _low_face_jpeg(path: Path) -> None:
    """A second camera JPEG unlike the first: a 4000×6000 portrait whose face ends at 0.8 of the
    height and whose crop reaches the bottom edge (as on the real-face bench's 24 MP frames),
    another person and shirt, saved at quality 95 with 4:2:2 chroma (≈ 5 MB)."""
    import cv2
    import numpy as np
    from PIL import Image

    from station.sim.portrait import render

    img, _ = render(2000, 3000, noise=0, eye_y=1900, seed=2, shirt=(120, 40, 40))
    big = cv2.resize(img, (4000, 6000), interpolation=cv2.INTER_CUBIC)
    del img
    noise = np.random.default_rng(2).integers(-4, 5, size=big.shape, dtype="int16")
    big = (big.astype("int16") + noise).clip(0, 255).astype("uint8")
    Image.fromarray(big[:, :, ::-1]).save(path, "JPEG", quality=95, subsampling=1)


def _interleaved(fns: dict, runs: int) -> tuple[dict[str, tuple[float, float]], dict[str, list[float]]]:
    """Median wall and CPU ms per function, runs interleaved so both see the same machine load;
    and every run's wall ms."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[name].append((time.perf_counter() - w0) * 1000)
            cpu[name].append((time.process_time() - c0) * 1000)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in fns}, wall


def _forget_history() -> None:
    """As if no capture had been made before: the pipeline times its speculative steps (a finer
    decode started ahead, the face guessed during the decode and whether it can pay) on the last
    capture of the same frame size; a session's first capture has none."""
    from station.checks import ahead, pipeline

    pipeline._NEEDED_FINER.clear()
    ahead.FACE_BOTTOM.clear()
    ahead.WORK_TIME.clear()


def _capture_figures(path: Path, profile, runs: int, threads: int | None = None,
                     history: bool = True) -> dict:
    """check_and_crop of one camera JPEG against cv2.imread of it (and its 1/4 decode), interleaved.
    ``threads``: the capture's (None: the station's default); without ``history`` every capture
    is timed as a session's first."""
    import cv2
    import numpy as np

    from station.checks import check_and_crop

    def capture():
        if not history:
            _forget_history()
        return check_and_crop(path, profile, threads=threads)

    check_and_crop(path, profile, threads=threads)  # warm up: models, cascades, the pool
    report, data = capture()
    raw = np.fromfile(path, np.uint8)
    t, walls = _interleaved({"imread": lambda: cv2.imread(str(path)), "capture": capture,
                             "quarter": lambda: cv2.imdecode(raw, cv2.IMREAD_REDUCED_COLOR_4),
                             "quarter_split": lambda: _split_quarter(raw.tobytes(), threads)},
                            runs=runs)
    # each capture against the imread just before it: one slow imread moves one round only
    rounds = sorted(c / i for c, i in zip(walls["capture"], walls["imread"], strict=True))
    (imread_ms, imread_cpu), (capture_ms, capture_cpu) = t["imread"], t["capture"]
    out = {
        "threads": threads or default_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "capture_jpeg_mb": round(os.path.getsize(path) / 1e6, 1),
        "imread_full_ms": round(imread_ms, 1),
        "check_crop_encode_ms": round(capture_ms, 1),
        "ratio_vs_imread": round(capture_ms / imread_ms, 2),
        "rounds": runs,
        "ratio_per_round_median": round(statistics.median(rounds), 2),
        "ratio_per_round_quartiles": [round(rounds[len(rounds) // 4], 2),
                                      round(rounds[(3 * len(rounds)) // 4], 2)],
        "decode_quarter_ms": round(t["quarter"][0], 1),
        "decode_quarter_split_ms": round(t["quarter_split"][0], 1),
        "imread_full_cpu_ms": round(imread_cpu, 1),
        "check_crop_encode_cpu_ms": round(capture_cpu, 1),
        "cpu_ratio_vs_imread": round(capture_cpu / imread_cpu, 2),
        "decode_quarter_cpu_ms": round(t["quarter"][1], 1),
        "window_scale": round(report.geometry.get("scale", 0.0), 2),
        "capture_passed": report.passed,
        "export_kb": round(len(data) / 1024, 1),
    }
    return out


def _split_quarter(data: bytes, threads: int | None) -> None:
    """The analysis decode as the capture makes it (``splitjpeg``), whole."""
    from PIL import Image

    from station.checks.splitjpeg import SplitStream

    with Image.open(io.BytesIO(data)) as im:
        size = im.size
    stream = SplitStream(data, 4, size, threads=threads or default_threads())
    stream.run()
    stream.wait(stream.height)


def main() -> dict:
    import cv2

    from station.checks import load_profile
    from station.checks.live import LiveChecker
    from station.sim.portrait import render

    profile = load_profile("chsi")
    with tempfile.TemporaryDirectory() as tmp:
        path, small = Path(tmp) / "capture.jpg", Path(tmp) / "small-person.jpg"
        second = Path(tmp) / "second.jpg"
        restart, small_restart = Path(tmp) / "restart.jpg", Path(tmp) / "small-restart.jpg"
        _camera_jpeg(path)
        _camera_jpeg(small, zoom=0.75)
        _camera_jpeg(restart, restart=True)
        _camera_jpeg(small_restart, zoom=0.75, restart=True)
        _low_face_jpeg(second)
        set_opencv_threads(default_threads())  # as the station's capture process runs
        capture = _capture_figures(path, profile, runs=15)
        second_file = _capture_figures(second, profile, runs=15)
        small_person = _capture_figures(small, profile, runs=7)
        restart_figures = _capture_figures(restart, profile, runs=7)
        small_restart_figures = _capture_figures(small_restart, profile, runs=7)
        first_capture = _capture_figures(path, profile, runs=7, history=False)
        set_opencv_threads(1)  # session.check_threads = 1: one core
        one_thread = _capture_figures(path, profile, runs=7, threads=1)

    cv2.setNumThreads(1)  # the live tier: one core
    frames = [render(1024, 680, centre_x=512 + 2 * (i % 20), seed=i % 4)[0] for i in range(60)]
    checker = LiveChecker(profile)
    checker.analyse(frames[0])
    started, cpu0 = time.perf_counter(), time.process_time()
    for frame in frames:
        checker.analyse(frame)
    live_s = time.perf_counter() - started
    live_cpu = time.process_time() - cpu0
    result = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **capture,
        "ratio_goal": 0.7,
        "second_file": second_file,
        "small_person": small_person,
        "restart": restart_figures,
        "small_restart": small_restart_figures,
        "first_capture": first_capture,
        "one_thread": one_thread,
        "live_fps_1024x680": round(len(frames) / live_s, 1),
        "live_ms_per_frame": round(live_s / len(frames) * 1000, 1),
        "live_cpu_fps": round(len(frames) / live_cpu, 1),
        "live_goal_fps": 25,
    }
    for key, value in result.items():
        print(f"   {key}: {value}")
    return result


if __name__ == "__main__":
    main()
