"""What every command handler receives: data dir, language, config, store and operator, lazily.

Nothing heavy is imported until a handler asks for it, so `station --help` stays fast.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.settings import Settings


@dataclass
class Context:
    data_dir: Path
    lang: str
    json: bool = False
    operator_name: str | None = None
    creates_store: bool = False      # only `station init` makes a new store
    _store: Any = field(default=None, repr=False)

    @cached_property
    def settings(self) -> Settings:
        """The station's checked settings; SettingsError (exit 2) names a bad file/key."""
        from station.config import load_settings

        return load_settings(self.data_dir)

    def store(self, access: str = "write") -> Any:
        """The station's store, opened once per command (see station.store.core.open_store):
        ``write`` for commands that change it, ``auto`` for reading commands (they still record
        failed PINs when the medium allows), ``read`` for fsck."""
        if self._store is None:
            from station.store import open_store
            from station.store.core import DB_NAME

            if not self.creates_store and not (self.data_dir / DB_NAME).exists():
                # before `station init`, or a mistyped --data-dir: say which folder holds no
                # station, and leave that folder as it was (no empty database in it)
                from station.errors import NotFoundError

                raise NotFoundError("store.missing", path=str(self.data_dir))
            self._store = open_store(self.data_dir, access=access)  # type: ignore[arg-type]
        return self._store

    def read_pin(self, prompt: str) -> str:
        """The PIN from STATION_PIN, else a prompt on the terminal, else one line of stdin."""
        pin = os.environ.get("STATION_PIN")
        if pin is not None:
            return pin
        if sys.stdin is not None and sys.stdin.isatty():
            return getpass.getpass(prompt)
        line = sys.stdin.readline() if sys.stdin is not None else ""
        return line.rstrip("\r\n")

    def acting_name(self) -> str | None:
        return self.operator_name or os.environ.get("STATION_OPERATOR")

    def operator(self, action: str) -> Any:
        """Authenticate the acting operator and check that their role allows ``action``.
        Reading actions open the store so that they also work on a read-only medium."""
        from station.errors import RefusedError
        from station.i18n import t
        from station.store.operators import READ_ACTIONS

        name = self.acting_name()
        if not name:
            from station.store.operators import action_words

            raise RefusedError("auth.operator_required", action=action_words(action))
        store = self.store(access="auto" if action in READ_ACTIONS else "write")
        op = store.operators.authenticate(name, self.read_pin(t("auth.pin_prompt", name=name)))
        store.operators.require(op, action)
        return op

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
