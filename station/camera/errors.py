"""libgphoto2 error codes turned into messages an operator can act on (zh/en).

Each error also says whether it is *transient* (unplug, sleep, busy: reconnecting may fix it) or
needs the operator (GVFS holds the device, unknown model): the supervisor retries the first kind
quietly and reports the second once.
"""

from __future__ import annotations

from typing import Any

from station.errors import DeviceError

# gphoto2 result code → (message key, transient?). Every code libgphoto2 defines has words here;
# a code it may add later gets camera.unknown_error (words, with the number only as a detail).
_CODES: dict[int, tuple[str, bool]] = {
    -1: ("camera.unspecified", True),      # GP_ERROR: the camera or driver gave no reason
    -2: ("camera.bad_request", True),      # GP_ERROR_BAD_PARAMETERS
    -3: ("camera.storage_full", False),    # GP_ERROR_NO_MEMORY: the PTP "store full" answer
    -4: ("camera.library", False),         # GP_ERROR_LIBRARY
    -5: ("camera.port", False),            # GP_ERROR_UNKNOWN_PORT: camera.port names no port
    -6: ("camera.unsupported", False),     # GP_ERROR_NOT_SUPPORTED
    -7: ("camera.io", True),               # GP_ERROR_IO
    -8: ("camera.bad_request", True),      # GP_ERROR_FIXED_LIMIT_EXCEEDED
    -10: ("camera.timeout", True),         # GP_ERROR_TIMEOUT
    -20: ("camera.library", False),        # GP_ERROR_IO_SUPPORTED_SERIAL: no serial port driver
    -21: ("camera.library", False),        # GP_ERROR_IO_SUPPORTED_USB: no USB port driver
    -31: ("camera.io", True),              # GP_ERROR_IO_INIT
    -34: ("camera.io", True),              # GP_ERROR_IO_READ
    -35: ("camera.io", True),              # GP_ERROR_IO_WRITE
    -37: ("camera.io", True),              # GP_ERROR_IO_UPDATE
    -41: ("camera.io", True),              # GP_ERROR_IO_SERIAL_SPEED
    -51: ("camera.io", True),              # GP_ERROR_IO_USB_CLEAR_HALT
    -52: ("camera.not_found", True),       # GP_ERROR_IO_USB_FIND: unplugged or asleep
    -53: ("camera.claimed", False),        # GP_ERROR_IO_USB_CLAIM: GVFS or another program
    -60: ("camera.claimed", False),        # GP_ERROR_IO_LOCK
    -70: ("camera.io", True),              # GP_ERROR_HAL
    -102: ("camera.corrupted", True),      # GP_ERROR_CORRUPTED_DATA
    -103: ("camera.card", True),           # GP_ERROR_FILE_EXISTS
    -105: ("camera.model_not_found", False),  # GP_ERROR_MODEL_NOT_FOUND
    -107: ("camera.file_missing", False),  # GP_ERROR_DIRECTORY_NOT_FOUND
    -108: ("camera.file_missing", False),  # GP_ERROR_FILE_NOT_FOUND
    -109: ("camera.card", True),           # GP_ERROR_DIRECTORY_EXISTS
    -110: ("camera.busy", True),           # GP_ERROR_CAMERA_BUSY
    -111: ("camera.card", True),           # GP_ERROR_PATH_NOT_ABSOLUTE
    -112: ("camera.cancelled", True),      # GP_ERROR_CANCEL
    -113: ("camera.camera_error", True),   # GP_ERROR_CAMERA_ERROR (e.g. autofocus failed)
    -114: ("camera.os_failure", True),     # GP_ERROR_OS_FAILURE
    -115: ("camera.storage_full", False),  # GP_ERROR_NO_SPACE
}

BUSY = -110
NOT_SUPPORTED = -6


class CameraError(DeviceError):
    """A camera problem in words. ``code`` is libgphoto2's number when there is one."""

    def __init__(self, key: str, *, code: int | None = None, transient: bool = True,
                 **params: object) -> None:
        self.code = code
        self.transient = transient
        params.setdefault("code", code if code is not None else "")
        super().__init__(key, **params)

    def to_json(self) -> dict:
        data = super().to_json()
        data["code"] = self.code
        data["transient"] = self.transient
        return data


class CameraDisconnected(CameraError):
    """The camera went away (unplugged, switched off, asleep) in the middle of something."""

    def __init__(self, key: str = "camera.disconnected", **kw: Any) -> None:
        kw.setdefault("transient", True)
        super().__init__(key, **kw)


def from_gphoto2(exc: BaseException, action: str = "") -> CameraError:
    """The CameraError for a ``gphoto2.GPhoto2Error`` (or any exception with ``.code``)."""
    code = getattr(exc, "code", None)
    if not isinstance(code, int):
        return CameraError("camera.generic", code=None, transient=True,
                           error=str(exc), action=action)
    key, transient = _CODES.get(code, ("camera.unknown_error", True))
    cls = CameraDisconnected if key in ("camera.io", "camera.not_found", "camera.timeout") else CameraError
    return cls(key, code=code, transient=transient, error=str(exc), action=action)


def is_busy(exc: BaseException) -> bool:
    return getattr(exc, "code", None) == BUSY
