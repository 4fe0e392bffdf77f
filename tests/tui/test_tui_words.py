"""No raw code or English fragment where a Chinese reader reads: the zh message catalogs and the
Chinese snapshots of every screen, scanned for identifiers (``not_on_roster``, ``operator.add``)
and for English words that are not names a person types or sees on the device itself."""

from __future__ import annotations

import re
from pathlib import Path

from station.i18n import catalog

from .screen import snapshot_texts

SNAPSHOTS = Path(__file__).parent / "__snapshots__" / "test_tui_snapshots"

CODE = re.compile(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/])"      # snake_case
                  r"|(?<![\w./-])[a-z]+\.[a-z_]+(?:\.[a-z_]+)*(?![\w/(])")   # dotted.key
WORD = re.compile(r"(?<![\w-])[A-Za-z]{3,}(?![\w-])")
# Words a Chinese screen may show: keys on the keyboard, the language switch, acronyms.
SCREEN_WORDS = {"PIN", "English", "space", "Esc", "Ctrl", "CHSI", "JPEG", "RGB", "ISO", "USB",
                "WeChat", "GB"}
# Catalog text that is not prose: commands, options, files, settings keys a person must type.
NOT_PROSE = [re.compile(p) for p in (
    r"station(?: [a-z][\w-]*)+(?: --?[\w-]+(?: [A-Z_]+|[^\s，。；）)]*)?)*",   # command lines
    r"--[\w-]+", r"`[^`]*`", r"\{[^}]*\}",                                   # options, code, slots
    r"[\w./-]+\.(?:toml|json|csv|xlsx|xls|zip|log|py|pdf|conf)\b",          # file names
    r"/[\w./-]+", r"\b[A-Z][A-Z0-9_]{2,}\b",                                # paths, ENV_VARS
    r"\b[a-z_][\w.]* = ",                                                     # key = value to type
)]
# Settings keys the message asks the reader to set (named as written in station.toml).
SETTINGS_KEYS = {"tui.picture", "idcard.wlt_library", "exports.cjk_font", "cjk_font",
                 "exports.profile", "idcard.reader", "camera.driver",
                 "hub.images_dir", "pcsc_scan"}                 # and a tool's name


def _prose(text: str) -> str:
    for pattern in NOT_PROSE:
        text = pattern.sub(" ", text)
    return text


def test_zh_catalog_has_no_raw_codes():
    found = {}
    for key, words in catalog().items():
        codes = [c for c in CODE.findall(_prose(words["zh"])) if c not in SETTINGS_KEYS]
        if codes:
            found[key] = codes
    assert found == {}, found


def test_chinese_snapshots_show_no_codes_or_english_words():
    texts = snapshot_texts(SNAPSHOTS, "*zh*.svg")
    texts.update(snapshot_texts(SNAPSHOTS, "test_snapshot_desk_small_terminal.svg"))
    assert len(texts) >= 10
    found = {}
    for name, text in texts.items():
        body = "\n".join(line for line in text.splitlines()[1:])   # the window title is English
        body = _prose(re.sub(r"\bst-tui\b", " ", body))          # the station's id, commands
        codes = CODE.findall(body)
        english = [w for w in WORD.findall(body) if w not in SCREEN_WORDS]
        if codes or english:
            found[name] = codes + english
    assert found == {}, found
