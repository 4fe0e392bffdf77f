"""Printing results: exactly one JSON document with --json, readable lines otherwise."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from station.privacy import json_visible, visible


def emit(as_json: bool, data: Any, human: Callable[[Any], str] | str | None = None) -> None:
    if as_json:
        sys.stdout.write(json_visible(json.dumps(data, ensure_ascii=False, indent=2, default=str)) + "\n")
        return
    if human is None:
        text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    elif callable(human):
        text = human(data)
    else:
        text = human
    if text:                    # names and fields may hold what a terminal would act on
        sys.stdout.write(visible(text.rstrip("\n")) + "\n")


def warn(text: str) -> None:
    sys.stderr.write(visible(text.rstrip("\n")) + "\n")
