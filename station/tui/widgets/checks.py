"""A list of photo checks with pass / warn / fail marks, in the current language."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from rich.text import Text
from textual.widget import Widget

from station.i18n import get_language, t

MARK = {"pass": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "bold red")}


def _label(prefix: str, code: str) -> str:
    """The catalog's word for ``code``, or the code itself when the catalog has none."""
    key = f"{prefix}.{code}"
    text = t(key)
    return code if text == key else text


class CheckRow(Protocol):
    """One check as the live checks (``checks.report.Check``) and a capture's result
    (``session.model.CheckLine``) both carry it."""

    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...   # pass | warn | fail
    @property
    def message_zh(self) -> str: ...
    @property
    def message_en(self) -> str: ...


ORDER = {"fail": 0, "warn": 1, "pass": 2}


def capture_order(checks: Sequence[CheckRow]) -> list[CheckRow]:
    """Failures first, then warnings, then what passed (each group in the checks' own order)."""
    return sorted(checks, key=lambda c: ORDER.get(c.status or "warn", 1))


class CheckList(Widget):
    """The checks of the newest live frame, or of the capture being judged: one line each,
    failures and warnings with their advice. Its height is fixed by CSS and it repaints only
    when a line changes, so a new report several times a second costs no layout."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks: list[CheckRow] = []
        self.detail = False
        self._key: tuple = ()

    def show(self, checks: Sequence[CheckRow], detail: bool = False) -> None:
        """``detail``: a capture's checks (passing ones folded into one line when tight)."""
        key = (detail, *((c.name, c.status, c.message_zh)
                         for c in checks))
        if key == self._key:
            return
        self.checks, self.detail, self._key = list(checks), detail, key
        self.refresh()

    def relabel(self) -> None:
        self.refresh()

    def render(self) -> Any:
        if not self.checks:  # wrapped by word: the panel is narrow at 80 columns
            idle = Text(t("tui.live.no_checks"), style="dim")
            lines = idle.wrap(self.app.console, max(1, self.content_size.width))
            return Text("\n").join(lines)
        checks = self.checks
        compact = self.detail or self.size.width < 40    # advice on a line of its own
        width = self.size.width if compact else 0         # a failure's advice wraps to it
        rows = sum(_rows(c, width) if compact else 1 for c in checks)
        if rows > self.size.height > 0:     # no room: fold what passed into one line
            problems = [c for c in checks if c.status != "pass"]
            passed = len(checks) - len(problems)
            room = max(self.size.height - (1 if passed else 0), 1)
            advice = sum(_rows(c, width) for c in problems) <= room
            text = check_lines(problems[:room], compact, advice, width)
            if passed:
                if problems:
                    text.append("\n")
                text.append("✓ " + t("tui.checks.passed_count", count=passed), style="green")
            return text
        return check_lines(checks, compact, width=width)


def _advice(c: CheckRow) -> str:
    en = get_language() == "en"
    return (c.message_en if en else c.message_zh) if c.status != "pass" else ""


def _wrapped(message: str, width: int) -> list[str]:
    """A failure's advice in lines of ``width`` cells less the indent (whole, never cut)."""
    from rich.console import Console

    room = width - 2
    if room < 8:
        return [message]
    console = Console(width=room, no_color=True, legacy_windows=False)
    return [line.plain.rstrip() for line in Text(message).wrap(console, room, overflow="fold")]


def _rows(c: CheckRow, width: int) -> int:
    """Lines a check takes in compact form: its name, and its advice (wrapped for a failure)."""
    message = _advice(c)
    if not message:
        return 1
    return 1 + (len(_wrapped(message, width)) if c.status == "fail" and width else 1)


def check_lines(checks: Sequence[CheckRow], compact: bool = False, advice: bool = True,
                width: int = 0) -> Text:
    """Mark and check name, one line each; a warning's or failure's advice follows on its own
    indented line when ``compact`` (on the same line otherwise), or not at all without
    ``advice``. A failure's advice is wrapped to ``width`` (what to do about it is read whole);
    other lines too long end in an ellipsis."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, c in enumerate(checks):
        status = c.status or "warn"
        mark, style = MARK.get(status, ("?", "dim"))
        if i:
            text.append("\n")
        text.append(mark + " ", style=style)
        text.append(_label("checks.name", c.name or "?"),
                    style=style if status != "pass" else "")
        message = _advice(c)
        if message and advice and compact and width and status == "fail":
            for line in _wrapped(message, width):
                text.append("\n  " + line, style="dim")
        elif message and advice:
            text.append(("\n  " if compact else "  ") + message, style="dim")
    return text
