"""`bundle create --out` and `key export --out` never replace an existing file unless `--force`.

Bundles and key files go to USB sticks that several stations share: a name already used there
may be another station's bundle, and writing over it lost that station's work silently. Those
commands refuse an existing file (exit 2, bilingual, naming the file) and leave it byte for byte;
`--force` replaces it, atomically as before. Reports, print sheets and camera captures are made
again and again under one name: they replace their file, as cli.md has them."""

from __future__ import annotations

import hashlib

import pytest

SUP, PIN = "主管甲", "2468"
ACTING = {"STATION_OPERATOR": SUP, "STATION_PIN": PIN}
THEIRS = b"PK\x03\x04 another station's bundle \x00\xff" * 64


@pytest.fixture
def station(run_station):
    r = run_station("init", "--station-id", "st-a", "--supervisor", SUP, env={"STATION_PIN": PIN})
    assert r.returncode == 0, r.stderr
    return run_station


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("command,name", [
    (["bundle", "create"], "st.bundle"),
    (["key", "export"], "st.pub"),
])
def test_an_existing_out_file_is_refused_unchanged(station, tmp_path, command, name):
    target = tmp_path / "stick" / name
    target.parent.mkdir()
    target.write_bytes(THEIRS)
    before = (_digest(target), target.stat().st_mtime_ns)
    for lang, words in (("zh", "已存在"), ("en", "already exists")):
        r = station("--lang", lang, *command, "--out", str(target), env=ACTING)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert words in r.stderr and str(target) in r.stderr and "--force" in r.stderr, r.stderr
        assert r.stderr.startswith("--out: "), r.stderr
    j = station(*command, "--out", str(target), "--json", env=ACTING)
    assert j.returncode == 2
    doc = j.json() if j.stdout.strip() else __import__("json").loads(j.stderr)
    assert doc["error"] == "common.out_exists" and doc["file"] == "--out", doc
    assert (_digest(target), target.stat().st_mtime_ns) == before
    assert sorted(p.name for p in target.parent.iterdir()) == [name]     # no temporary file left


@pytest.mark.parametrize("command,name", [
    (["bundle", "create"], "st.bundle"),
    (["key", "export"], "st.pub"),
])
def test_force_replaces_the_file(station, tmp_path, command, name):
    target = tmp_path / name
    target.write_bytes(THEIRS)
    r = station(*command, "--out", str(target), "--force", env=ACTING)
    assert r.returncode == 0, r.stderr
    assert target.read_bytes() != THEIRS and target.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == [name]


def test_a_new_out_file_needs_no_force(station, tmp_path):
    r = station("bundle", "create", "--out", str(tmp_path / "new.bundle"), env=ACTING)
    assert r.returncode == 0 and (tmp_path / "new.bundle").stat().st_size > 0, r.stderr


@pytest.mark.parametrize("command,name", [
    (["report", "daily", "--format", "csv"], "日报.csv"),
    (["camera", "capture", "--camera", "sim"], "a.jpg"),
])
def test_files_made_again_under_one_name_are_replaced(station, tmp_path, command, name):
    target = tmp_path / name
    target.write_bytes(THEIRS)
    r = station(*command, "--out", str(target), env=ACTING)
    assert r.returncode == 0, r.stderr
    assert target.read_bytes() != THEIRS and target.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == [name]


def test_force_is_in_the_help_in_both_languages(station):
    for command in (["bundle", "create"], ["key", "export"]):
        zh = station("--lang", "zh", *command, "--help")
        en = station("--lang", "en", *command, "--help")
        assert "--force" in zh.stdout and "输出文件已存在时替换它" in zh.stdout, zh.stdout
        assert "--force" in en.stdout and "replace the output file if it already exists" in en.stdout
