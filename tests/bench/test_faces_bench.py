"""The real-face bench's own parts, on generated images (the photo sets are never needed here)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.faces import cases, compose, conditions, sources


def _synthetic_person(tmp_path: Path) -> compose.Person:
    """A grey head with two black pupils at known points, on a white photo; its matte is exact."""
    img = np.full((500, 400, 3), 255, np.uint8)
    alpha = np.zeros((500, 400), np.float32)
    cv2.ellipse(alpha, (200, 200), (90, 120), 0, 0, 360, 1.0, -1)
    cv2.rectangle(alpha, (60, 330), (340, 499), 1.0, -1)          # shoulders to the bottom edge
    img[alpha > 0] = (150, 160, 190)
    img[330:, 60:341] = (90, 95, 100)                               # a grey top
    eyes = [(160.0, 190.0), (240.0, 192.0)]
    for x, y in eyes:
        cv2.circle(img, (int(x), int(y)), 6, (0, 0, 0), -1, lineType=cv2.LINE_8)
    path = tmp_path / "single" / "synthetic.png"
    path.parent.mkdir(parents=True)
    cv2.imwrite(str(path), img)
    src = sources.Source("faces-asia", "single", path, sources.sha256(path), role="good",
                         eyes=eyes, cheeks=[(110.0, 231.0), (290.0, 231.0)], chin=(200.0, 320.0))
    return compose.Person(src, img, alpha)


def _dark_blobs(img: np.ndarray) -> list[tuple[float, float]]:
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    n, _, stats, centroids = cv2.connectedComponentsWithStats((grey < 60).astype(np.uint8))
    found = [tuple(centroids[i]) for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] > 10]
    return sorted(found)


@pytest.mark.parametrize("roll", [0.0, 4.0, -1.3])
def test_truth_follows_the_pixels(tmp_path: Path, roll: float) -> None:
    """The eyes the truth names are where the rendered pupils are; cheek width scales exactly."""
    person = _synthetic_person(tmp_path)
    place = cases.Placement(240.0, (236.0, 250.0), roll)
    m = place.matrix(person)
    img, truths = compose.render(compose.Scene(cases.EXPORT, [compose.Placed(person, m)], seed=3,
                                               noise=0.0))
    t = truths[-1]
    blobs = _dark_blobs(img)
    assert len(blobs) == 2
    for found, want in zip(blobs, sorted([t["eye_left"], t["eye_right"]]), strict=True):
        assert math.dist(found, want) < 0.5
    assert t["face_width"] == pytest.approx(240.0)
    assert t["roll_deg"] == pytest.approx(roll, abs=1e-6)
    # head top: where half the central columns (±0.3 IOD) are head, i.e. the ellipse's outline
    # 0.15 IOD from its apex (the apex is y=80 in the source), placed by the same transform
    k = t["scale"]
    a, b = 90 * k, 120 * k
    drop = b * (1 - math.sqrt(1 - (compose.HEAD_TOP_HALF_IOD / 2 * t["iod"] / a) ** 2))
    if roll == 0.0:
        expected_top = compose.apply(m, (200.0, 80.0))[1] + drop
        assert abs(t["head_top_y"] - expected_top) <= 1.0
    # the backdrop is the CHSI blue where nobody stands
    corner = img[5:30, 5:30].reshape(-1, 3).mean(axis=0)[::-1]
    assert np.abs(corner - np.array(compose.BACKDROP_RGB)).max() < 25


def test_defects_change_what_they_should(tmp_path: Path) -> None:
    person = _synthetic_person(tmp_path)
    m = cases.Placement(240.0, (240.0, 250.0)).matrix(person)
    plain, _ = compose.render(compose.Scene(cases.EXPORT, [compose.Placed(person, m)], seed=1, noise=0))
    shadow, _ = compose.render(compose.Scene(cases.EXPORT, [compose.Placed(person, m)], seed=1, noise=0,
                                             shadow={"offset": (60, 10), "sigma": 20, "strength": 0.4}))
    side = (slice(150, 300), slice(365, 415))   # backdrop just beside the head
    assert shadow[side].mean() < plain[side].mean() - 15
    dark, _ = compose.render(compose.Scene(cases.EXPORT, [compose.Placed(person, m)], seed=1, noise=0,
                                           exposure_ev=-2.0))
    assert dark.mean() < plain.mean() * 0.6
    blue, _ = compose.render(compose.Scene(cases.EXPORT, [compose.Placed(person, m, recolour=(100, 197, 255))],
                                           seed=1, noise=0))
    torso = blue[600:630, 200:280].reshape(-1, 3).mean(axis=0)[::-1]
    assert np.abs(torso - np.array((100, 197, 255))).max() < 40


def _decoded(case: cases.Case) -> tuple[bytes, np.ndarray]:
    data, _ = case.build()
    return data, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_conditions_make_the_same_case_another_way(tmp_path: Path) -> None:
    """Each named condition changes what it says, and only that; the default changes nothing."""
    from station.checks.imageio import jpeg_quality

    person = _synthetic_person(tmp_path)
    hard = compose.Person(person.source, person.bgr, conditions.CONDITIONS["hard-matte"].matte(
        cv2.GaussianBlur(person.alpha, (0, 0), 3.0)))  # a soft edge made binary again
    assert set(np.unique(hard.alpha)) == {0.0, 1.0}
    place = cases.Placement(240.0, (240.0, 250.0))

    def made(name: str, who: compose.Person = person) -> tuple[bytes, np.ndarray]:
        return _decoded(cases._export_case("good_export", person.source, lambda s: who, place, 0,
                                           conditions=conditions.CONDITIONS[name]))

    plain_bytes, plain = made("default")
    assert plain_bytes == _decoded(cases._export_case("good_export", person.source,
                                                      lambda s: person, place, 0))[0]
    # (the quality read back from the luminance table's first entry: within one step)
    assert abs(jpeg_quality(plain_bytes) - 90) <= 1 and abs(jpeg_quality(made("jpeg75")[0]) - 75) <= 1
    corner = (slice(10, 60), slice(10, 60))    # backdrop: flat but for its noise
    green = (*corner, 1)
    assert made("noisy")[1][green].std() > plain[green].std() + 2
    warm, cool = made("warm")[1][corner].mean(axis=(0, 1)), made("cool")[1][corner].mean(axis=(0, 1))
    base = plain[corner].mean(axis=(0, 1))     # B, G, R
    assert warm[2] > base[2] + 5 > base[2] and warm[0] < base[0] - 5
    assert cool[2] < base[2] - 5 and cool[0] >= base[0]  # (the backdrop's blue is near 255 already)
    assert abs(warm[1] - base[1]) < 2
    # ±0.5 EV in linear light: green (unclipped) by 2^±0.5 in linear terms, the face with it
    lin = compose.srgb_to_linear
    under, over = made("under")[1], made("over")[1]
    for frame, ev in ((under, -0.5), (over, 0.5)):
        got = float(lin(frame[green].astype(np.float64)).mean() / lin(plain[green].astype(np.float64)).mean())
        assert got == pytest.approx(2.0 ** ev, rel=0.05)
    face = (slice(200, 300), slice(200, 280))
    assert under[face].mean() < plain[face].mean() - 10 < over[face].mean() - 20
    pale = made("pale-blue")[1][corner].mean(axis=(0, 1))[::-1]   # R, G, B
    assert pale[0] > base[2] + 15 and pale[2] < base[0] - 5     # redder, less blue: less saturated
    soft = made("soft")[1]
    assert np.abs(np.diff(soft[face].astype(np.float32), axis=1)).mean() < \
        np.abs(np.diff(plain[face].astype(np.float32), axis=1)).mean()


def test_exposure_families_keep_their_own_exposure() -> None:
    """A condition's exposure is the camera's; the dark and over-exposed cases' is the photo's."""
    under = conditions.CONDITIONS["under"]
    assert under.exposure(0.0) == -0.5 and under.exposure(2.0) == 2.0
    assert conditions.DEFAULT.exposure(0.0) == 0.0 and conditions.DEFAULT.blur(0.0) == 0.0
    assert conditions.CONDITIONS["soft"].blur(0.0) == pytest.approx(0.8)


def test_annotation_of_another_file_is_refused(tmp_path: Path, monkeypatch) -> None:
    person = _synthetic_person(tmp_path)
    notes = tmp_path / "annotations.json"
    notes.write_text(json.dumps({"images": {"synthetic.png": {"sha256": "0" * 64, "role": "good"}}}))
    monkeypatch.setattr(sources, "ANNOTATIONS", notes)
    monkeypatch.setattr(sources, "load_annotations", lambda path=notes: json.loads(notes.read_text())["images"])
    with pytest.raises(sources.AnnotationMismatch, match="synthetic.png"):
        sources.discover([tmp_path])
    notes.write_text(json.dumps({"images": {"synthetic.png": {"sha256": person.source.sha256,
                                                              "role": "good", "eyes": [[1, 2], [3, 4]]}}}))
    found = sources.discover([tmp_path])
    assert found[0].role == "good" and found[0].eyes == [(1, 2), (3, 4)]


def test_bench_says_when_photos_are_absent(tmp_path: Path, capsys) -> None:
    from bench.faces import main

    out = main([str(tmp_path / "nowhere")])
    assert "skipped" in out and "nowhere" in out["skipped"]
    assert "photo sets not found" in capsys.readouterr().out


def _camera_jpeg(width: int, height: int) -> bytes:
    from station.sim.portrait import render

    img, _ = render(width, height)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


def test_large_frames_are_timed_against_imread_by_kind(tmp_path: Path) -> None:
    """Each frame gets its own ratio (a real capture and a real imread, interleaved); frames are
    grouped as the pipeline treated them: portrait, landscape, landscape needing a finer decode."""
    from bench.faces.speed import GOAL, large_frame_speed
    from station.checks import load_profile

    frames = []
    for name, size in (("good_large/a/0", (2400, 1600)), ("good_large/b/0", (1600, 2400))):
        path = tmp_path / f"{len(frames)}.jpg"
        path.write_bytes(_camera_jpeg(*size))
        frames.append((name, path))
    out = large_frame_speed(frames, load_profile("chsi"), rounds=2)
    assert out["frames"] == 2 and out["rounds"] == 2 and out["goal"] == GOAL
    assert set(out["per_frame"]) == {"good_large/a/0", "good_large/b/0"}
    assert all(r > 0 for r in out["per_frame"].values())
    assert "portrait" in out["by_kind"] and out["by_kind"]["portrait"]["frames"] == 1
    landscape = [k for k in out["by_kind"] if k.startswith("landscape")]
    assert len(landscape) == 1 and out["by_kind"][landscape[0]]["frames"] == 1
    assert 0.0 <= out["share_at_most_goal"] <= 1.0
    assert large_frame_speed(frames, load_profile("chsi"), rounds=0) == {"frames": 0}
