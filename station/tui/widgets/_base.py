"""What the station's widgets share: ``self.app`` typed as the StationApp."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widget import Widget

if TYPE_CHECKING:
    from station.tui.app import StationApp


class StationWidget(Widget):
    """A widget of the station's app: ``self.app`` is the StationApp (clock, guides, options)."""

    if TYPE_CHECKING:
        app: StationApp
