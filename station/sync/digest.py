"""Digests of fact rows that a station signs (in its manifest) and a receiver recomputes.

A table's digest covers its name, its column names and every row in key order, each encoded as
canonical JSON (bytes as base64), so it can be recomputed from any copy of the same rows: the
SQLite file of a bundle, or rows received from the PostgreSQL hub.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from station.store.union import encode_value

# One encoder for every row: the C encoder writes str/int/float/None itself and calls
# ``encode_value`` only for BLOBs ({"$b64": ...}), the same bytes as encoding each value first.
_ROW = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=encode_value)


def table_digest(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> tuple[str, int]:
    """(hex digest, row count) of ``rows`` of ``table``, which must come in key (``id``) order."""
    h = hashlib.sha256()
    h.update(_ROW.encode([table, list(columns)]).encode() + b"\n")
    count = 0
    for row in rows:
        h.update(_ROW.encode(list(row)).encode() + b"\n")
        count += 1
    return h.hexdigest(), count


def row_line(row: Sequence[Any]) -> str:
    """One row as the digest encodes it (the line the hub stores)."""
    return _ROW.encode(list(row))


def lines_digest(table: str, columns: Sequence[str], lines: Sequence[str]) -> str:
    """``table_digest`` of rows already encoded by ``row_line`` (in key order): each row is
    encoded once when the lines travel too."""
    body = "\n".join([_ROW.encode([table, list(columns)]), *lines, ""])
    return hashlib.sha256(body.encode()).hexdigest()
