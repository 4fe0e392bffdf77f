"""Widgets of the station's screens, one per module."""
