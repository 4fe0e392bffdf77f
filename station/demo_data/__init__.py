"""Demo data: the reference notice's schedule and a generated roster that matches it."""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
SCHEDULE_CSV = DEMO_DIR / "schedule_2017-10-25.csv"
CAMPAIGN_DATE = "2017-10-25"
