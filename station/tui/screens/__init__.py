"""The station's screens, one per module."""
