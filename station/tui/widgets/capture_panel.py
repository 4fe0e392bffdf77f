"""The last capture beside the live view: the export crop and its full check report."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget

from station.i18n import t
from station.tui.widgets.checks import check_table
from station.tui.widgets.picture import CellPicture, picture_lines

MAX_ROWS = 16


class CapturePanel(Widget):
    """Empty until the first capture of the person at the desk. In graphics mode the crop is a
    textual-image widget laid over the blank lines the text leaves for it."""

    DEFAULT_CSS = """
    CapturePanel > .picture-image { dock: top; margin-top: 1; width: auto; height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result: Any = None
        self._cells: tuple[str, int, int, list] | None = None
        self.image_key: tuple | None = None     # (capture_id, cols, rows) of the image shown
        try:
            self.graphics = getattr(self.app, "picture_mode", "halfblock") == "graphics"
        except Exception:  # built outside a running app
            self.graphics = False

    def compose(self) -> ComposeResult:
        if self.graphics:
            from station.tui.picture_mode import image_widget_class

            image = image_widget_class()(classes="picture-image", id="capture-image")
            image.display = False
            yield image

    def show(self, result: Any) -> None:
        self.result = result
        self.refresh(layout=True)
        if self.graphics:
            self._prepare_image()

    def on_resize(self) -> None:
        if self.graphics:
            self._prepare_image()

    def _box(self) -> tuple[int, int]:
        result = self.result
        rows = max(0, self.size.height - len(result.checks) - 3) if result is not None else 0
        return max(8, self.size.width - 2), min(rows, MAX_ROWS)

    def _prepare_image(self) -> None:
        """Decode and scale the crop in a thread; the UI thread only swaps the image in."""
        result = self.result
        image: Any = self.query_one("#capture-image")  # textual-image's widget (untyped)
        cols, rows = self._box()
        if result is None or result.crop_jpeg is None or rows < 4 or cols < 28:
            image.display, self.image_key = False, None
            return
        key = (result.capture_id, cols, rows)
        if key == self.image_key:
            return
        self.image_key = key
        data = result.crop_jpeg

        def prepare() -> None:
            import cv2
            import numpy as np

            from station.tui.picture_mode import cell_pixels
            from station.tui.widgets.picture import picture_image

            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            picture = picture_image(img, cols, rows, cell_pixels())
            self.app.call_from_thread(self._set_image, key, picture)

        self.run_worker(prepare, thread=True, group="capture-image", exclusive=True,
                        exit_on_error=False)

    def _set_image(self, key: tuple, picture: Any) -> None:
        if key != self.image_key:   # a newer capture or size came meanwhile
            return
        image: Any = self.query_one("#capture-image")  # textual-image's widget (untyped)
        image.styles.height = key[2]
        image.image = picture
        image.display = True

    def _picture(self, width: int, rows: int) -> Any:
        result = self.result
        if result is None or result.crop_jpeg is None or rows < 4 or width < 28:
            return None
        if self.graphics:   # room for the image widget docked over these lines
            return Text("\n" * (rows - 1))
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
        picture = self._picture(*self._box())
        if picture is not None:
            parts.append(picture)
        if result.crop_error:
            parts.append(Text(result.crop_error, style="red"))
        parts.append(check_table(result.checks, compact=self.size.width < 30))
        return Group(*parts)
