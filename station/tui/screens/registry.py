"""Which screens each role may open, and their factories (imported only when opened)."""

from __future__ import annotations

from typing import Any

ROLES_FOR = {
    "schedule": {"photographer", "technician", "supervisor"},
    "devices": {"photographer", "technician", "supervisor"},
    "review": {"technician", "supervisor"},
    "exports": {"technician", "supervisor"},
}


def allowed(name: str, role: str) -> bool:
    return role in ROLES_FOR.get(name, set())


def make(name: str, role: str) -> Any:
    """A new screen ``name`` for an operator with ``role``, or None when the role may not."""
    if not allowed(name, role):
        return None
    if name == "schedule":
        from station.tui.screens.schedule import ScheduleScreen

        return ScheduleScreen()
    if name == "review":
        from station.tui.screens.review import ReviewScreen

        return ReviewScreen()
    if name == "devices":
        from station.tui.screens.devices import DevicesScreen

        return DevicesScreen()
    from station.tui.screens.exports import ExportsScreen

    return ExportsScreen()
