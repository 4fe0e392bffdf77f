"""Reading declarative TOML files, and loading the station's settings from their layers.

The settings model (every key, its type, default and documentation) is ``station.settings``;
this module reads ``<data-dir>/station.toml`` and the ``STATION__SECTION__KEY`` environment over
it, and turns every misspelt key or wrong value into one :class:`SettingsError` that names the
file (or the environment variable), the line and the key.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from station.errors import InputError, Location
from station.settings import (
    CONFIG_FILE,
    ENV_PREFIX,
    REFERENCE_SCHOOLS,
    RENAMED,
    EnvSettings,
    Settings,
)

__all__ = ["CONFIG_FILE", "Problem", "Settings", "SettingsError", "default_settings",
           "load_settings", "read_toml", "reference_toml"]


def read_toml(path: Path, error_key: str = "common.bad_config") -> dict[str, Any]:
    """A declarative file (configuration, profile, model table); a syntax error names the file.

    ``error_key`` is the area's catalog message, formatted with ``path`` and ``error``.
    """
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(error_key, Location(str(path)), path=str(path), error=str(exc)) from None


@dataclass(frozen=True)
class Problem:
    """One bad setting: where (file or variable, line), which key, and what is wrong."""

    where: str
    line: int | None
    key: str
    message_key: str
    params: dict[str, Any]

    def text(self, lang: str | None = None) -> str:
        from station.i18n import t

        place = f"{self.where}:{self.line}" if self.line else self.where
        return f"{place}: {t(self.message_key, lang, setting=self.key, **self.params)}"

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "line": self.line, "key": self.key,
                "message_zh": self.text("zh"), "message_en": self.text("en")}


class SettingsError(InputError):
    """The configuration has misspelt keys or wrong values; each one is listed."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__("settings.invalid", Location(first.where, first.line, first.key),
                         count=len(self.problems))

    @property
    def message(self) -> str:
        from station.i18n import t

        return "\n".join([t(self.key, **self.params), *(f"  {p.text()}" for p in self.problems)])

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["problems"] = [p.to_json() for p in self.problems]
        return data


def default_settings() -> Settings:
    """Every key at its documented default (no file, no environment)."""
    return Settings()


def load_settings(data_dir: Path | None) -> Settings:
    """Defaults < ``<data_dir>/station.toml`` < ``STATION__SECTION__KEY``; SettingsError if bad."""
    path = data_dir / CONFIG_FILE if data_dir is not None else None
    raw: dict[str, Any] = {}
    text = ""
    if path is not None and path.is_file():
        raw = read_toml(path)
        text = path.read_text("utf-8", errors="replace")
        if isinstance(raw.get("schools"), dict):   # a station adds schools to the known ones
            raw["schools"] = {**REFERENCE_SCHOOLS, **raw["schools"]}
    else:
        path = None
    where = str(path) if path else CONFIG_FILE
    problems = _renamed(raw, where, text)
    told = {p.key for p in problems}
    try:
        Settings.model_validate(raw)          # the file alone: its mistakes are the file's
    except ValidationError as exc:
        problems += [p for p in (_problem(e, where, text) for e in exc.errors())
                     if p.key not in told]
    problems += _unknown_env_sections(os.environ)
    if problems:
        raise SettingsError(problems)
    try:
        layered = EnvSettings(**raw)
    except ValidationError as exc:           # the file was fine: these are the environment's
        raise SettingsError([_problem(e, None, "") for e in exc.errors()]) from None
    settings = Settings.model_construct(**{k: getattr(layered, k) for k in Settings.model_fields})
    settings._source = path
    from station.localtime import set_offset_hours

    set_offset_hours(settings.exports.utc_offset_hours)   # the station's one local time
    return settings


def _key(loc: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in loc)


def _env_name(loc: Sequence[int | str]) -> str:
    """The variable that set ``loc`` (a list item or a table row is set by the list's variable)."""
    names: list[str] = []
    for part in loc:
        if not isinstance(part, str):
            break
        names.append(part.upper())
    return ENV_PREFIX + "__".join(names)


def _problem(error: Any, where: str | None, text: str) -> Problem:
    loc = tuple(p for p in error["loc"] if p != "__root__")
    key = _key(loc)
    if where is None:
        where, line = _env_name(loc), None
    else:
        line = _line_of(text, loc)
    if error["type"] == "extra_forbidden":
        hint = _suggest(loc)
        return Problem(where, line, key, "settings.unknown_key_hint" if hint else
                       "settings.unknown_key", {"hint": hint} if hint else {})
    value = error.get("input")
    shown = value if isinstance(value, str | int | float | bool) else json.dumps(
        value, ensure_ascii=False, default=str)[:80]
    return Problem(where, line, key, "settings.bad_value",
                   {"value": repr(shown) if isinstance(shown, str) else shown,
                    "error": _reason(error)})


# pydantic's error types a station.toml meets, said in Chinese (``settings.reason.*``); the
# English stays pydantic's own sentence, which already names the bound or the choices
_REASONS = {"float_parsing": "number", "float_type": "number", "int_parsing": "integer",
            "int_type": "integer", "int_from_float": "integer", "bool_parsing": "bool",
            "bool_type": "bool", "string_type": "text", "greater_than_equal": "at_least",
            "greater_than": "above", "less_than_equal": "at_most", "less_than": "below",
            "literal_error": "one_of", "enum": "one_of", "string_pattern_mismatch": "pattern",
            "dict_type": "table", "list_type": "list", "finite_number": "number"}


def _reason(error: Any) -> Any:
    """pydantic's message (the allowed values spelled out for choices), with its Chinese."""
    from station.i18n import Bilingual, t

    msg = str(error.get("msg", "")).removeprefix("Value error, ")
    kind = _REASONS.get(str(error.get("type", "")))
    if kind is None:
        return msg
    ctx = {k: v for k, v in (error.get("ctx") or {}).items()}
    limit = next((ctx[k] for k in ("ge", "gt", "le", "lt") if k in ctx), "")
    return Bilingual(t(f"settings.reason.{kind}", "zh", limit=limit,
                       choices=str(ctx.get("expected", "")).replace(" or ", ", "),
                       pattern=ctx.get("pattern", "")), msg)


def _suggest(loc: Sequence[int | str]) -> str:
    """The closest real key for a misspelt one (``camera.fsp`` → ``camera.fps``)."""
    model: type[BaseModel] | None = Settings
    for part in loc[:-1]:
        if model is None or not isinstance(part, str):
            return ""
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        model = annotation if isinstance(annotation, type) and issubclass(
            annotation, BaseModel) else None
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return _key((*loc[:-1], close[0])) if close else ""


def _renamed(raw: Mapping[str, Any], where: str, text: str) -> list[Problem]:
    out = []
    for old, new in RENAMED.items():
        section, _, name = old.partition(".")
        table = raw.get(section)
        if isinstance(table, dict) and name in table:
            out.append(Problem(where, _line_of(text, (section, name)), old, "settings.renamed",
                               {"new": new}))
    return out


def _unknown_env_sections(environ: Mapping[str, str]) -> list[Problem]:
    """``STATION__CAMRA__FPS``: pydantic-settings would ignore a variable of no known section."""
    sections = set(Settings.model_fields)
    out = []
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]
        if parts and parts[0] not in sections:
            close = difflib.get_close_matches(parts[0], sorted(sections), n=1, cutoff=0.6)
            key = ".".join(parts)
            hint = ".".join([close[0], *parts[1:]]) if close else ""
            out.append(Problem(name, None, key, "settings.unknown_key_hint" if hint else
                               "settings.unknown_key", {"hint": hint} if hint else {}))
    return out


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _line_of(text: str, loc: Sequence[int | str]) -> int | None:
    """The line of ``loc`` in a TOML text (best effort: dotted headers and plain keys)."""
    names = [str(p) for p in loc if isinstance(p, str)]
    if not text or not names:
        return None
    table: list[str] = []
    header_line: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = [p.strip().strip('"') for p in header.group(1).split(".")]
            if table == names[:len(table)] and header_line is None:
                header_line = number
            continue
        rest = names[len(table):]
        if table != names[:len(table)] or not rest:
            continue
        key = re.match(r'^\s*"?([A-Za-z0-9_.-]+)"?\s*=', line)
        if key and [p.strip('"') for p in key.group(1).split(".")] == rest[:len(
                key.group(1).split("."))]:
            return number
    return header_line


def reference_toml(settings: Settings | None = None) -> str:
    """Every setting (the defaults unless ``settings``) with its documentation, as TOML."""
    import textwrap

    lines = ["# Capture Station settings, each key with its documentation. Copy what you change",
             "# into <data-dir>/station.toml; STATION__SECTION__KEY environment variables win.", ""]
    defaults = (settings or default_settings()).model_dump(mode="json")
    for section, field in Settings.model_fields.items():
        lines += [f"# {field.description}", f"[{section}]"]
        annotation = field.annotation
        values = defaults[section]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            lines += [f"{_toml_key(k)} = {_toml(v)}" for k, v in values.items()]
            lines.append("")
            continue
        for name, sub in annotation.model_fields.items():
            for text in textwrap.wrap(sub.description or "", 96):
                lines.append(f"# {text}")
            value = values[name]
            if isinstance(value, list) and value and isinstance(value[0], dict):
                lines.append("")
                for item in value:
                    lines.append(f"[[{section}.{name}]]")
                    lines += [f"{k} = {_toml(v)}" for k, v in item.items() if v is not None]
                continue
            if isinstance(value, dict):
                lines.append(f"[{section}.{name}]")
                lines += [f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items()]
                continue
            lines.append(f"{name} = {_toml(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)
