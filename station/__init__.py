"""Capture Station: the software of a graduation-photo capture team's laptops."""

__version__ = "0.1.0"
