"""Masking of personal data for screens and logs where the whole value is not needed."""

from __future__ import annotations

import logging
import re

_ID_PATTERN = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_id(number: str | None) -> str:
    """Keep the first 3 and last 4 characters: enough to tell two people apart at the desk."""
    if not number:
        return ""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_name(name: str | None) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧**娜; Latin names keep their first letter."""
    if not name:
        return ""
    if len(name) <= 2:
        return name[0] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]


def scrub(text: str) -> str:
    """Mask every ID number found in free text (log lines, exception messages)."""
    return _ID_PATTERN.sub(lambda m: mask_id(m.group(0)), text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks ID numbers in every record, arguments included."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(str(record.msg))
        if record.args:
            if isinstance(record.args, dict):
                record.args = {k: scrub(v) if isinstance(v, str) else v for k, v in record.args.items()}
            else:
                record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        return True
