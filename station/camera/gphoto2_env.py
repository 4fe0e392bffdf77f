"""Loading python-gphoto2: libgphoto2's log into Python logging, and the wheel's folders."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from station.camera.errors import CameraError

_log_callback: Any = None  # keeps libgphoto2's log hook alive


def gphoto2_module() -> Any:
    """python-gphoto2, with libgphoto2's log routed to the ``gphoto2`` Python logger."""
    global _log_callback
    try:
        import gphoto2 as gp
    except ImportError:
        raise CameraError("camera.gphoto2_missing", transient=False) from None
    if _log_callback is None:
        # Debug chatter stays in C (below logging.DEBUG is never forwarded); errors become warnings.
        _log_callback = gp.use_python_logging({
            gp.GP_LOG_ERROR: logging.WARNING,
            gp.GP_LOG_VERBOSE: logging.DEBUG,
            gp.GP_LOG_DEBUG: logging.DEBUG - 3,
            gp.GP_LOG_DATA: logging.DEBUG - 6,
        })
    return gp


def wheel_dir(name: str) -> Path:
    """A folder inside the installed gphoto2 wheel: ``iolibs``, ``vusb`` or ``camlibs``."""
    import importlib.util

    spec = importlib.util.find_spec("gphoto2")
    if spec is None or not spec.origin:
        raise CameraError("camera.gphoto2_missing", transient=False)
    return Path(spec.origin).parent / "libgphoto2" / name
