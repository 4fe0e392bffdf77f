"""The last capture beside the live view: the export crop and its full check report."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.widget import Widget

from station.i18n import t
from station.tui.widgets.checks import check_table
from station.tui.widgets.picture import CellPicture, picture_lines


class CapturePanel(Widget):
    """Empty until the first capture of the person at the desk."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result: Any = None
        self._cells: tuple[str, int, int, list] | None = None

    def show(self, result: Any) -> None:
        self.result = result
        self.refresh(layout=True)

    def _picture(self, width: int, rows: int) -> CellPicture | None:
        result = self.result
        if result is None or result.crop_jpeg is None or rows < 4 or width < 28:
            return None
        key = (result.capture_id, width, rows)
        if self._cells is None or self._cells[:3] != key:
            import cv2
            import numpy as np

            img = cv2.imdecode(np.frombuffer(result.crop_jpeg, np.uint8), cv2.IMREAD_COLOR)
            self._cells = (*key, picture_lines(img, width, rows))
        return CellPicture(self._cells[3])

    def render(self) -> Any:
        result = self.result
        if result is None:
            return Text(t("tui.capture.none"), style="dim", justify="center")
        head = (Text(t("tui.capture.passed"), style="bold green") if result.passed
                else Text(t("tui.capture.failed"), style="bold red"))
        parts: list[Any] = [head]
        rows = max(0, self.size.height - len(result.checks) - 3)
        picture = self._picture(max(8, self.size.width - 2), min(rows, 16))
        if picture is not None:
            parts.append(picture)
        if result.crop_error:
            parts.append(Text(result.crop_error, style="red"))
        parts.append(check_table(result.checks, compact=self.size.width < 30))
        return Group(*parts)
