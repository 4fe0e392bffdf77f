"""Fixtures of the checks area: the CHSI profile and rendered portraits with known geometry."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def profile():
    from station.checks import load_profile

    return load_profile("chsi")


@pytest.fixture(scope="session")
def good_capture():
    """A 1200×1600 capture that should pass every check, and its truth."""
    from station.sim.portrait import render

    return render(1200, 1600)
