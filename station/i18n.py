"""Message catalogs: every sentence a user can see, in Chinese (default) and English.

Catalogs are TOML files in ``station/messages/``, one per area, so that each area owns its words.
A message is any table with ``zh`` and ``en`` keys; its key is the dotted table path, e.g.
``[roster.bad_check_digit]``. Placeholders use ``str.format`` names: ``{line}``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LANGUAGES = ("zh", "en")
_MESSAGES_DIR = Path(__file__).with_name("messages")
_current = os.environ.get("STATION_LANG", "zh") if os.environ.get("STATION_LANG") in LANGUAGES else "zh"


def set_language(lang: str) -> None:
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    _current = lang


def get_language() -> str:
    return _current


def _flatten(prefix: str, table: dict, out: dict[str, dict[str, str]], source: Path) -> None:
    if "zh" in table and "en" in table:
        out[prefix] = {"zh": table["zh"], "en": table["en"]}
        return
    for key, value in table.items():
        if not isinstance(value, dict):
            raise ValueError(f"{source.name}: {prefix}.{key} is neither a message nor a group")
        _flatten(f"{prefix}.{key}" if prefix else key, value, out, source)


@cache
def catalog() -> dict[str, dict[str, str]]:
    """All messages of all areas, loaded once."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(_MESSAGES_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            _flatten("", tomllib.load(fh), out, path)
    return out


@dataclass(frozen=True)
class Words:
    """Catalog words put into a message in that message's own language (e.g. the names of failed
    checks inside "checks failed (…)"), so a message rendered in both languages never mixes them."""

    keys: tuple[str, ...]
    separator: str = ", "
    separator_zh: str | None = None       # e.g. "、" between Chinese words

    def render(self, lang: str) -> str:
        sep = self.separator_zh if lang == "zh" and self.separator_zh is not None else self.separator
        return sep.join(_word(key, lang) for key in self.keys)


@dataclass(frozen=True)
class Bilingual:
    """A text already in both languages (e.g. a check's instruction to the photographer) put into
    another message, so each rendering takes its own language."""

    zh: str
    en: str

    def render(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class Reason(str):
    """Why something failed (an OS or database error), said in both languages. The string itself
    stays the original words (the OS's or library's English), so logs, JSON and audit records
    keep every diagnostic detail; a message renders it as the Chinese phrase, or as the English
    phrase followed by the original in parentheses. An unknown cause is the original in both.
    Built by :mod:`station.reasons`."""

    zh: str
    en: str
    code: str

    def __new__(cls, original: str, zh: str | None = None, en: str | None = None,
                code: str = "") -> Reason:
        self = super().__new__(cls, original)
        self.zh = zh or original
        self.en = en or original
        self.code = code
        return self

    @property
    def original(self) -> str:
        return str.__str__(self)

    def render(self, lang: str) -> str:
        if lang == "zh":
            return self.zh
        original = self.original
        return self.en if not original or original == self.en else f"{self.en} ({original})"

    def __reduce__(self) -> tuple[object, ...]:
        return (Reason, (self.original, self.zh, self.en, self.code))


def _word(key: str, lang: str) -> str:
    entry = catalog().get(key)
    return entry[lang] if entry else key.rsplit(".", 1)[-1]


def _format(text: str, params: dict[str, object]) -> str:
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text


def t(key: str, lang: str | None = None, /, **params: object) -> str:
    """The message ``key`` in ``lang`` (default: the current language); the key itself if unknown."""
    lang = lang or _current
    params = {k: v.render(lang) if isinstance(v, (Words, Bilingual, Reason)) else v
              for k, v in params.items()}
    entry = catalog().get(key)
    if entry is None:
        return key if not params else f"{key} {params}"
    return _format(entry[lang], params)


def both(key: str, /, **params: object) -> tuple[str, str]:
    """The message in Chinese and in English, for records and JSON that carry both."""
    return t(key, "zh", **params), t(key, "en", **params)
