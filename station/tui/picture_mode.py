"""Which picture renderer the desk uses: real images (textual-image) or half-block cells.

textual-image asks the terminal about Sixel / Kitty TGP when it is first imported, and that only
works before Textual starts reading stdin; so the CLI calls :func:`probe` before ``app.run()`` and
:func:`choose` only looks at what was found, never asks itself.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping

MODES = ("auto", "graphics", "halfblock")
GRAPHICS, HALFBLOCK = "graphics", "halfblock"
SETTING = "tui.picture"
log = logging.getLogger(__name__)


def in_tmux(environ: Mapping[str, str] | None = None) -> bool:
    """tmux does not pass graphics through reliably: auto stays on half-block there."""
    return bool((os.environ if environ is None else environ).get("TMUX"))


def probe(mode: str, environ: Mapping[str, str] | None = None) -> None:
    """Before Textual starts: let textual-image ask the terminal what it can draw."""
    if mode == HALFBLOCK or (mode == "auto" and in_tmux(environ)):
        return
    # A terminal that does not answer is normal (half-block then): textual-image would log it
    # with a traceback; one plain line in our log says it instead.
    quiet = logging.getLogger("textual_image")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        import textual_image.widget  # noqa: F401  (queries the terminal, caches the cell size)
    except Exception:  # no textual-image, or no terminal to ask: half-block it is
        log.info("textual-image could not ask the terminal; pictures in half-block cells")
    finally:
        quiet.setLevel(level)


def graphics_detected() -> bool:
    """Whether textual-image found Sixel or Kitty TGP (False when nobody probed)."""
    renderable = sys.modules.get("textual_image.renderable")
    if renderable is None:
        return False
    return renderable.Image in (renderable.SixelImage, renderable.TGPImage)


def choose(mode: str, *, headless: bool, environ: Mapping[str, str] | None = None,
           detected: Callable[[], bool] = graphics_detected) -> str:
    """``graphics`` or ``halfblock`` for a configured ``mode`` on this terminal."""
    if mode in (GRAPHICS, HALFBLOCK):
        return mode
    if headless or in_tmux(environ):
        return HALFBLOCK
    return GRAPHICS if detected() else HALFBLOCK


def image_widget_class() -> type:
    """The textual-image widget for the detected protocol (its own cells when there is none)."""
    from textual_image.widget import Image

    return Image


def cell_pixels() -> tuple[int, int]:
    """Pixels per terminal cell as textual-image measured them (VT340 sizes when unknown)."""
    try:
        from textual_image._terminal import get_cell_size

        size = get_cell_size()
        return max(1, int(size.width)), max(1, int(size.height))
    except Exception:
        return 10, 20
