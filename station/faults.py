"""Named pause points for crash tests: a test asks a real process to stop mid-transaction.

``point("roster.import.written")`` does nothing unless ``STATION_FAULT_PAUSE`` names that point;
then it creates the file ``STATION_FAULT_MARKER`` and sleeps so the test can SIGKILL the process
at exactly that moment.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def point(name: str) -> None:
    if os.environ.get("STATION_FAULT_PAUSE") != name:
        return
    marker = os.environ.get("STATION_FAULT_MARKER")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    time.sleep(600)
