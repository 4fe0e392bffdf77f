"""Cells of the CSV files the station writes, made safe to open in a spreadsheet.

Excel, WPS and LibreOffice run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before one) as a formula: a department or name typed as ``=HYPERLINK(...)`` in a
roster would run on the technician's laptop when the daily report is opened. The standard
neutralisation (OWASP "CSV injection") prefixes such a cell with ``'``: it shows as text and
nothing runs. Plain numbers (``-3``, ``+8``) and a lone ``-`` are not formulas and stay as they are.
"""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?|-")


def neutralise(value: object) -> object:
    """``value`` unless it is text a spreadsheet would run; then the text prefixed with ``'``."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value
