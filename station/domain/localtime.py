"""The station's local time, for the domain and above: see :mod:`station.localtime`.

The clock lives in the foundation so that loading the settings can set the station's offset."""

from station.localtime import (
    DEFAULT_OFFSET_HOURS,
    from_ms,
    local_naive,
    local_now,
    machine_offset_hours,
    offset_hours,
    set_offset_hours,
    station_zone,
)

__all__ = ["DEFAULT_OFFSET_HOURS", "from_ms", "local_naive", "local_now", "machine_offset_hours",
           "offset_hours", "set_offset_hours", "station_zone"]
