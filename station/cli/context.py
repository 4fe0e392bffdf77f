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
    clock_is_right: bool = False     # --clock-is-right: write although the clock went back (audited)
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
            if access == "write" and not self.creates_store:
                self.check_clock(self._store)
        return self._store

    def check_clock(self, store: Any) -> None:
        """Refuse to write with a clock behind the newest time the store recorded (it jumped
        back: ``station.store.wallclock``), unless ``--clock-is-right`` says the clock is right —
        then that is audited and said, and the command goes on."""
        from station.store import wallclock

        if store.read_only or not store.initialized:
            return
        found = wallclock.behind(store)
        if found is None:
            return
        if not self.clock_is_right:
            from station.errors import ClockBehindError

            raise ClockBehindError("store.clock_behind", details=found.to_json(), **found.params())
        from station.cli.output import warn
        from station.i18n import t

        wallclock.confirm(store, self.acting_name(), found, "--clock-is-right")
        warn(t("store.clock_confirmed", **found.params()))

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
        pin = self.read_pin(t("auth.pin_prompt", name=name))
        if not pin:     # nothing given (a script without STATION_PIN): not a wrong PIN, not counted
            raise RefusedError("auth.pin_missing", name=name)
        op = store.operators.authenticate(name, pin)
        store.operators.require(op, action)
        return op

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
