"""Simulated inputs for tests, the sim camera and the demo (no hardware, no personal data)."""
