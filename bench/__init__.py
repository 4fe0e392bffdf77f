"""Benchmarks: `python -m bench` runs every area's bench module and prints its figures.

Each module ``bench/<area>.py`` has ``main() -> dict`` returning named figures (with units in the
names) and prints them; speed goals are checked here, never as timed assertions in tests.
"""
