"""A refused bundle: one error naming the file (and member or field) and why, in both languages.

Every refusal exits 2 (bad input) and means the merge changed nothing. The reason is a catalog
message of its own (``sync.refused.*``), put inside ``sync.refused_whole`` so the sentence always says
that the bundle was refused whole. The hub's refusals (``station.hub``) are sentences of the same
shape (``RefusedWhole``), in their own catalog.
"""

from __future__ import annotations

from typing import Any, ClassVar

from station.errors import InputError, Location, StationError
from station.i18n import get_language, t


class RefusedWhole(StationError):
    """A refusal said as one sentence: ``whole`` (naming where) around the reason's own message
    (``key``). Subclasses name their sentence and where; the reason goes into the JSON too."""

    whole: ClassVar[str] = "sync.refused_whole"
    reason: str

    def place(self) -> str:
        raise NotImplementedError

    def _text(self, lang: str) -> str:
        return t(self.whole, lang, where=self.place(), reason=t(self.key, lang, **self.params))

    @property
    def message(self) -> str:
        return self._text(get_language())

    @property
    def messages(self) -> tuple[str, str]:
        return self._text("zh"), self._text("en")

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["reason"] = self.reason
        if "detail" in self.params:            # the library's own words, for a technician
            data["detail"] = str(self.params["detail"])
        return data


class BundleRefused(RefusedWhole, InputError):
    """A bundle (or pushed set of rows) that failed a check; ``reason`` names the check."""

    def __init__(self, reason: str, source: str, member: str | None = None, **params: object) -> None:
        """``words`` (a parameter): a more exact message of the same ``reason``
        (``sync.refused.<words>``), the reason itself unchanged for scripts."""
        words = params.pop("words", None) or reason
        self.reason = reason
        self.source = source
        self.member = member
        super().__init__(f"sync.refused.{words}", Location(source, None, member), **params)

    def place(self) -> str:
        return f"{self.source}" + (f" ({self.member})" if self.member else "")
