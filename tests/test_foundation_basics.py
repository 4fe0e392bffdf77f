import json
import logging
import subprocess
import sys
from pathlib import Path

from station import i18n
from station.config import load_settings
from station.privacy import MaskingFilter, mask_id, mask_name, scrub

ROOT = Path(__file__).resolve().parent.parent


def test_every_message_has_both_languages_and_same_placeholders():
    import string

    cat = i18n.catalog()
    assert cat, "no messages loaded"
    for key, entry in cat.items():
        zh_fields = {f for _, f, _, _ in string.Formatter().parse(entry["zh"]) if f}
        en_fields = {f for _, f, _, _ in string.Formatter().parse(entry["en"]) if f}
        assert zh_fields == en_fields, key


def test_language_switch():
    i18n.set_language("en")
    try:
        assert i18n.t("id_number.length", length=3).startswith("The ID number")
    finally:
        i18n.set_language("zh")
    assert "18" in i18n.t("id_number.length", length=3)


def test_masking():
    assert mask_id("11010519491231002X") == "110***********002X"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert "19491231" not in scrub("person 11010519491231002X tapped")


def test_log_filter_masks_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "read %s", ("11010519491231002X",), None)
    MaskingFilter().filter(record)
    assert "19491231" not in record.getMessage()


def test_config_layers(tmp_path, monkeypatch):
    (tmp_path / "station.toml").write_text('[station]\nschool_code = "10001"\nlang = "en"\n')
    monkeypatch.setenv("STATION__STATION__LANG", "zh")
    monkeypatch.setenv("STATION__CAMERA__FPS", "12")
    cfg = load_settings(tmp_path)
    assert cfg.station.school_code == "10001"
    assert cfg.station.lang == "zh"
    assert cfg.camera.fps == 12


def test_help_is_fast_and_lists_nothing_heavy():
    code = (
        "import sys; from station.cli.main import build_parser; build_parser();"
        "heavy=[m for m in ('cv2','numpy','textual','gphoto2','smartcard','sqlite_utils','PIL') if m in sys.modules];"
        "print(__import__('json').dumps(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_non_ui_modules_never_import_textual():
    """Domain, device, store, export and sync code must stay usable without the TUI."""
    modules = []
    for path in sorted((ROOT / "station").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts
        if "tui" in parts or parts[-1] == "__main__":
            continue
        modules.append(".".join(p for p in parts if p != "__init__"))
    code = (
        "import importlib, sys, json\n"
        f"mods = {modules!r}\n"
        "bad = []\n"
        "for m in mods:\n"
        "    importlib.import_module(m)\n"
        "    if 'textual' in sys.modules: bad.append(m); break\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_lang_after_run_or_before_it_both_count():
    """cli.md puts --lang after `run`; the global option must still work and not be clobbered."""
    from station.cli.main import build_parser

    after = build_parser().parse_args(["run", "--lang", "en"])
    before = build_parser().parse_args(["--lang", "en", "run"])
    assert (after.command_lang, after.lang) == ("en", None)
    assert (before.command_lang, before.lang) == (None, "en")


def test_words_inside_a_message_follow_the_message_language():
    words = i18n.Words(("checks.name.sharpness", "checks.name.no_such_check"))
    zh, en = i18n.both("session.accept_refused", checks=words)
    assert "清晰度" in zh and "no_such_check" in zh and "sharpness" not in zh
    assert "sharpness" in en and "清晰度" not in en
