"""Printing results: exactly one JSON document with --json, readable lines otherwise."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def emit(as_json: bool, data: Any, human: Callable[[Any], str] | str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    if human is None:
        text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    elif callable(human):
        text = human(data)
    else:
        text = human
    if text:
        sys.stdout.write(text.rstrip("\n") + "\n")


def warn(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")
