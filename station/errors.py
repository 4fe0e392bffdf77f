"""Errors a user can meet, each with a message in both languages and the CLI exit code it maps to.

Exit codes follow the command-line contract: 1 "the answer is no", 2 bad usage/input or a refused
action, 3 a device is missing or failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from station.i18n import Reason, both, t


class StationError(Exception):
    """Base of every error the station reports in words; ``key`` names a catalog message."""

    exit_code = 2

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(t(key, "en", **params))

    @property
    def message(self) -> str:
        return t(self.key, **self.params)

    @property
    def messages(self) -> tuple[str, str]:
        return both(self.key, **self.params)

    def to_json(self) -> dict:
        zh, en = self.messages
        data: dict = {"error": self.key, "message_zh": zh, "message_en": en}
        cause = next((v for v in self.params.values() if isinstance(v, Reason)), None)
        if cause is not None:        # the OS's or the database's own words, for a technician
            data["cause"] = {"code": cause.code, "detail": cause.original}
        return data


class UsageError(StationError):
    """The command was called wrongly."""


@dataclass(frozen=True)
class Location:
    """Where in an input file a problem is: file, line (1-based) and field/column name.

    ``label``: ``file`` is a catalog key naming an input on the desk (the scan field), said in
    the reader's language; the desk has no file or option to name.
    """

    file: str
    line: int | None = None
    field: str | None = None
    label: bool = False

    @classmethod
    def on_desk(cls, key: str) -> Location:
        """The desk input named by catalog ``key``."""
        return cls(key, label=True)

    def __str__(self) -> str:
        return self.render()

    def render(self, lang: str | None = None) -> str:
        """``file, line N, field F`` in ``lang`` (default: the station's language)."""
        parts = [t(self.file, lang) if self.label else self.file]
        if self.line is not None:
            parts.append(t("common.at_line", lang, line=self.line))
        if self.field:
            parts.append(t("common.at_field", lang, field=self.field))
        return ", ".join(parts)


class InputError(StationError):
    """Bad input; names the file, line and field when known."""

    def __init__(self, key: str, location: Location | None = None, **params: object) -> None:
        self.location = location
        super().__init__(key, **params)

    @property
    def message(self) -> str:
        text = super().message
        return f"{self.location}: {text}" if self.location else text

    @property
    def located(self) -> tuple[str, str]:
        """The message in both languages, each after the location said in that language (the
        desk shows both; ``messages`` leaves the location to the JSON's own fields)."""
        zh, en = self.messages
        if self.location is None:
            return zh, en
        return f"{self.location.render('zh')}：{zh}", f"{self.location.render('en')}: {en}"

    def to_json(self) -> dict:
        data = super().to_json()
        if self.location:
            where = self.location
            data.update(file=where.render("en") if where.label else where.file, line=where.line,
                        field=where.field)
        return data


class RefusedError(StationError):
    """The operator's role or the station's policy does not allow the action."""


class ClockBehindError(RefusedError):
    """The machine's clock is behind the newest time the store recorded; nothing was written."""

    def __init__(self, key: str, details: dict[str, object] | None = None, **params: object) -> None:
        super().__init__(key, **params)
        self.details = details or {}

    def to_json(self) -> dict:
        return {**super().to_json(), "clock": self.details}


class NotFoundError(StationError):
    """A named record, file or device does not exist."""


class DeviceError(StationError):
    """A device is missing or failed; the message says what the operator should do."""

    exit_code = 3


class MediaError(DeviceError):
    """The disk or folder holding data failed: full, read-only, no permission, I/O error.

    Names the folder and what to do (station.media builds these from OS and SQLite errors).
    """


class IntegrityError(StationError):
    """Stored data failed a check (hash, chain, schema)."""

    exit_code = 1
