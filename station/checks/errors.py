"""Errors of the checks area."""

from station.errors import StationError


class CropError(StationError):
    """The frame cannot be made into an export photo that meets the profile (exit code 1)."""

    exit_code = 1
