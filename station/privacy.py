"""Masking of personal data for screens and logs where the whole value is not needed."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_ID_PATTERN = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_id(number: str | None) -> str:
    """Keep the first 3 and last 4 characters: enough to tell two people apart at the desk."""
    if not number:
        return ""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_code(code: str | None) -> str:
    """A 图像采集码 (capture code) as screens show it: its tail only (…tB1c), as the desk does;
    the whole code names the student's photo at the pipeline."""
    if not code:
        return ""
    keep = 6 if len(code) >= 12 else len(code) // 3
    return "…" + code[-keep:] if keep else "*" * len(code)


def mask_address(address: str | None, keep: int = 6) -> str:
    """A postal address on a screen the next student can read: its first ``keep`` characters
    (province and city: 云南省昆明市…); the street, number and room are hidden."""
    if not address:
        return ""
    address = " ".join(address.split())
    return address if len(address) <= keep else address[:keep] + "…"


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


def mask_free_text(text: str | None, names: Iterable[str | None] = ()) -> str:
    """Text an operator typed (a reason, a note), for a screen: every ID number in it masked, and
    each of ``names`` (the person's own, at least) masked wherever it appears."""
    if not text:
        return ""
    out = scrub(text)
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    return out


def _ours(name: str) -> bool:
    return name in ("root", "__main__", "station", "bench") or name.startswith(("station.", "bench."))


class MaskingFilter(logging.Filter):
    """A logging filter that masks ID numbers in every record, arguments and tracebacks included,
    and keeps other libraries' records below WARNING out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            # the traceback's text (an exception's message can hold an ID number)
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        record.msg = scrub(str(record.msg))
        if record.args:
            if isinstance(record.args, dict):
                record.args = {k: scrub(v) if isinstance(v, str) else v for k, v in record.args.items()}
            else:
                record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        # a library's chatter (fontTools logs the glyph names of the names it subsets for print
        # sheets: uni90B5 …): its warnings and errors are kept, the rest is not the station's
        return _ours(record.name) or record.levelno >= logging.WARNING


# ---------------------------------------------------------------- text that reaches the store

# Control characters (C0, DEL, C1: terminal escape sequences start with ESC or CSI), line and
# paragraph separators, the bidirectional overrides and marks that make text display as something
# else (U+200E/U+200F, U+061C), and the invisible format characters (soft hyphen U+00AD, Mongolian
# vowel separator U+180E, zero-width space/joiners U+200B-U+200D, word joiner and invisible
# operators U+2060-U+2064, deprecated U+206A-U+206F): a name holding one looks right on screen but
# matches no card read and is refused by the export, so it must be refused where it comes in.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028\u2029"
                     "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")


def unsafe_character(text: str, *, allow_whitespace: bool = False) -> str | None:
    """The first control or display-changing character in ``text`` (as ``U+XXXX``), if any.
    ``allow_whitespace`` lets tabs and line breaks pass (spreadsheet cells have them)."""
    if allow_whitespace:
        text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    m = _UNSAFE.search(text)
    return f"U+{ord(m.group(0)):04X}" if m else None


def visible(text: str) -> str:
    """``text`` safe to write to a terminal: every control or display-changing character but line
    breaks and tabs shown as ``<U+XXXX>``. Text checked where it comes in can still reach the
    screen from rows that came by another road (a merged bundle, the hub, a store written by an
    older version): the last line of defence is where it is printed."""
    return _UNSAFE.sub(lambda m: m.group(0) if m.group(0) in "\n\t" else f"<U+{ord(m.group(0)):04X}>",
                       text)


def json_visible(text: str) -> str:
    """A JSON document with the characters ``visible`` shows as ``<U+XXXX>`` written as ``\\uXXXX``
    escapes instead: the same document to a parser (``json.dumps`` with ``ensure_ascii=False``
    leaves C1 controls and direction marks raw), nothing a terminal acts on."""
    return _UNSAFE.sub(lambda m: m.group(0) if m.group(0) == "\n" else f"\\u{ord(m.group(0)):04x}", text)


def check_text(value: object, *, field: str, limit: int, source: str,
               line: int | None = None, multiline: bool = False) -> str:
    """``value`` if it is text of at most ``limit`` characters without control characters;
    otherwise an InputError naming the file (``source``), line and field. Text from cards, files
    and prompts is echoed on terminals and written to logs: an ESC sequence must never pass."""
    from station.errors import InputError, Location

    # an option checked on the command line is both: name it once ("--reference: …")
    where = Location(source, line, None if field == source else field)
    if not isinstance(value, str):
        raise InputError("privacy.not_text", where, field=field, type=type(value).__name__)
    if len(value) > limit:
        raise InputError("privacy.too_long", where, field=field, length=len(value), limit=limit)
    text = value.replace("\n", " ") if multiline else value
    bad = unsafe_character(text)
    if bad is not None:
        raise InputError("privacy.control_character", where, field=field, character=bad)
    return value
