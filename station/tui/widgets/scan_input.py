"""An input a keyboard-wedge barcode scanner types into: Tab ends it like Enter.

Scanners type the code and then Enter or Tab, in one fast burst ("CODE\t"). In a plain Input the
Tab would move the focus away and the code would never be submitted; here it submits, and any
control characters a scanner adds are dropped from the value.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class ScanInput(Input):
    """Enter or Tab submits what was typed (or scanned)."""

    # Not a priority binding: that would run when the app reads the Tab, before this input has
    # taken the characters queued ahead of it, and submit an empty value.
    BINDINGS = [Binding("tab", "submit", show=False)]

    async def action_submit(self) -> None:
        self.value = "".join(ch for ch in self.value if ch.isprintable()).strip()
        await super().action_submit()
