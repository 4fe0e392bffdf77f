"""Station configuration: documented defaults, the station's TOML file, then the environment.

Defaults live in ``station/defaults/*.toml`` (one file per area, every key commented). A station
overrides them in ``<data-dir>/station.toml``; an environment variable
``STATION__<SECTION>__<KEY>`` (double underscores, e.g. ``STATION__CAMERA__DRIVER=sim``) wins over
both. Values from the environment are parsed as TOML literals when they can be (numbers, booleans,
quoted strings, arrays) and taken as plain strings otherwise.
"""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any

from station.errors import InputError, Location

_DEFAULTS_DIR = Path(__file__).with_name("defaults")
CONFIG_FILE = "station.toml"
ENV_PREFIX = "STATION__"


def _merge(base: dict, override: dict) -> dict:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def read_toml(path: Path, error_key: str = "common.bad_config") -> dict:
    """A declarative file (configuration, profile, model table); a syntax error names the file.

    ``error_key`` is the area's catalog message, formatted with ``path`` and ``error``.
    """
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(error_key, Location(str(path)), path=str(path), error=str(exc)) from None


def defaults() -> dict:
    merged: dict = {}
    for path in sorted(_DEFAULTS_DIR.glob("*.toml")):
        _merge(merged, read_toml(path))
    return merged


def _env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _env_overrides(environ: dict[str, str]) -> dict:
    out: dict = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]
        if not path:
            continue
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _env_value(raw)
    return out


class Config:
    """Read-only view over the merged settings, addressed by dotted keys."""

    def __init__(self, data: dict, source: Path | None = None) -> None:
        self.data = data
        self.source = source

    @classmethod
    def load(cls, data_dir: Path | None, environ: dict[str, str] | None = None) -> Config:
        data = copy.deepcopy(defaults())
        source = None
        if data_dir is not None and (data_dir / CONFIG_FILE).is_file():
            source = data_dir / CONFIG_FILE
            _merge(data, read_toml(source))
        _merge(data, _env_overrides(dict(os.environ if environ is None else environ)))
        return cls(data, source)

    def get(self, key: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def section(self, key: str) -> dict:
        value = self.get(key, {})
        return value if isinstance(value, dict) else {}
