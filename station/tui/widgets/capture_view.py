"""The capture being judged, large, with the framing guides; the one before it beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from station.i18n import t
from station.tui.widgets.caption import Caption
from station.tui.widgets.picture_view import Box, PictureView

if TYPE_CHECKING:
    from station.tui.app import StationApp


class CaptureView(Horizontal):
    """This capture (left, large) and the previous one (right, smaller) when there is one: the
    export crops with the profile's guide bands drawn in, decoded and scaled in a thread."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.current: Any = None
        self.previous: Any = None
        self.caption_key = "tui.shot.this"
        self._drawn: dict[str, tuple] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="shot-this"):
            yield Caption(id="shot-this-caption", classes="shot-caption")
            yield PictureView(blank_key="tui.capture.none", id="shot-this-picture")
        with Vertical(id="shot-previous"):
            yield Caption(id="shot-previous-caption", classes="shot-caption")
            yield PictureView(blank_key="tui.capture.no_crop", id="shot-previous-picture")

    def show(self, current: Any, previous: Any = None, caption_key: str = "tui.shot.this") -> None:
        """``current`` and ``previous`` are CaptureResults (or None)."""
        self.current, self.previous, self.caption_key = current, previous, caption_key
        self.query_one("#shot-previous").display = previous is not None
        self.relabel()
        self.call_after_refresh(self._draw)

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw)

    def relabel(self) -> None:
        self.query_one("#shot-this-caption", Caption).update(self._caption(self.current,
                                                                           self.caption_key))
        if self.previous is not None:
            self.query_one("#shot-previous-caption", Caption).update(
                self._caption(self.previous, "tui.shot.previous"))

    def _caption(self, result: Any, key: str) -> Text:
        text = Text(t(key) + "  ", style="bold", justify="center")
        if result is None:
            return text
        if result.passed:
            text.append(t("tui.shot.passed"), style="bold green")
        else:
            text.append(t("tui.shot.failed"), style="bold red")
        return text

    def _draw(self) -> None:
        for which, result in (("this", self.current), ("previous", self.previous)):
            view = self.query_one(f"#shot-{which}-picture", PictureView)
            if result is None or result.crop_jpeg is None:
                view.blank("tui.capture.no_crop" if result is not None else "tui.capture.none")
                self._drawn.pop(which, None)
                continue
            box = view.box()
            key = (result.capture_id, box)
            if view.size.width < 4 or view.size.height < 2 or self._drawn.get(which) == key:
                continue
            self._drawn[which] = key
            self._draw_picture(view, result.crop_jpeg, box, key, which)

    def _redraw(self, cols: int, rows: int, cell_px: tuple[int, int]) -> None:
        """A picture's pane changed size (PictureView's refit): draw both again in a worker."""
        self.call_after_refresh(self._draw)

    def _draw_picture(self, view: PictureView, jpeg: bytes, box: Box, key: tuple,
                      which: str) -> None:
        app = cast("StationApp", self.app)
        guides = app.guides
        graphics = view.graphics

        def work() -> None:
            import cv2
            import numpy as np

            from station.tui.render import draw_guides
            from station.tui.widgets.picture import picture_image
            from station.tui.widgets.picture_view import as_strips

            img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            if img is None:
                return
            if guides is not None:
                img = draw_guides(img, guides)
            if graphics:
                picture: Any = picture_image(img, box.cols, box.rows, box.cell_px)
            else:
                from station.tui.render import to_cells

                picture = as_strips(to_cells(img, box.cols, box.rows))
            app.call_from_thread(self._drawn_picture, view, picture, box, key, which)

        self.run_worker(work, thread=True, group=f"shot-{which}", exclusive=True,
                        exit_on_error=False)

    def _drawn_picture(self, view: PictureView, picture: Any, box: Box, key: tuple,
                       which: str) -> None:
        if self._drawn.get(which) == key:     # still the capture and size asked for
            view.show(picture, box, self._redraw)
