"""Which screens each role may open, their titles, and their factories (imported when opened)."""

from __future__ import annotations

import importlib
from typing import Any

from station.i18n import Words, get_language

ROLES_FOR = {
    "schedule": {"photographer", "technician", "supervisor"},
    "devices": {"photographer", "technician", "supervisor"},
    "review": {"technician", "supervisor"},
    "exports": {"technician", "supervisor"},
}
TITLES = {"schedule": "tui.schedule.title", "devices": "tui.devices.title",
          "review": "tui.review.title", "exports": "tui.exports.title"}
CLASSES = {"schedule": ("station.tui.screens.schedule", "ScheduleScreen"),
           "devices": ("station.tui.screens.devices", "DevicesScreen"),
           "review": ("station.tui.screens.review", "ReviewScreen"),
           "exports": ("station.tui.screens.exports", "ExportsScreen")}
ROLE_ORDER = ("photographer", "technician", "supervisor")


def allowed(name: str, role: str) -> bool:
    return role in ROLES_FOR.get(name, set())


def roles_words(name: str) -> str:
    """Who may open ``name``, in words of the current language ("技术员、主管")."""
    roles = [r for r in ROLE_ORDER if r in ROLES_FOR.get(name, set())]
    return Words(tuple(f"tui.role.{r}" for r in roles), " and ", "、").render(get_language())


def screen_class(name: str) -> type:
    module, cls = CLASSES[name]
    return getattr(importlib.import_module(module), cls)


def make(name: str, role: str) -> Any:
    """A new screen ``name`` for an operator with ``role``, or None when the role may not."""
    if not allowed(name, role):
        return None
    return screen_class(name)()
