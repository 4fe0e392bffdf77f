"""The station's store (SQLite facts + content-addressed images). See ``station.store.core``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from station.store.core import Access, Store


def open_store(data_dir: Path, *, migrate: bool = True, access: Access = "write",
               check: bool = True) -> Store:
    from station.store.core import open_store as _open

    return _open(data_dir, migrate=migrate, access=access, check=check)


__all__ = ["open_store"]
