"""Why an OS or database call failed, in words a Chinese-reading operator can act on.

An ``OSError``'s ``strerror`` ("No space left on device") and libpq's messages ("connection
refused", "password authentication failed") are English. :func:`of` turns them into a
:class:`~station.i18n.Reason`: a short phrase in both languages (catalog ``reason.os.*`` by errno,
``reason.pg.*`` by SQLSTATE or, where libpq gives none, by its message), whose string value stays
the original words, so the English message, ``--json`` and the log keep the detail. A cause not
known here is the original text in both languages. :func:`of_image` does the same for an image
file the photo checks cannot read (Pillow's complaints, its decompression-bomb guard).
"""

from __future__ import annotations

import errno
import re

from station.i18n import Reason, t
from station.privacy import scrub

_MAX = 300

_OS_KINDS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "quota",
    errno.EFBIG: "too_big",
    errno.EACCES: "denied",
    errno.EPERM: "denied",
    errno.EROFS: "read_only",
    errno.ENOENT: "missing",
    errno.ENOTDIR: "not_folder",
    errno.EISDIR: "is_folder",
    errno.EIO: "io",
    errno.ENXIO: "gone",
    errno.ENODEV: "gone",
    errno.ENOMEDIUM: "gone",
    errno.EEXIST: "exists",
    errno.ENOTEMPTY: "not_empty",
    errno.ENAMETOOLONG: "too_long",
    errno.EMFILE: "too_many_open",
    errno.ENFILE: "too_many_open",
    errno.EBUSY: "busy",
    errno.ETXTBSY: "busy",
    errno.ETIMEDOUT: "timeout",
    errno.ECONNREFUSED: "refused",
    errno.EHOSTUNREACH: "unreachable",
    errno.ENETUNREACH: "unreachable",
    errno.ECONNRESET: "reset",
    errno.EXDEV: "cross_device",
    errno.ELOOP: "loop",
    errno.ESTALE: "stale",
}

_PG_STATES = {
    "28P01": "wrong_password",
    "3D000": "no_database",
    "57P03": "starting",
    "53300": "too_many",
    "57P01": "shut_down",
    "57P02": "shut_down",
    "42501": "no_privilege",
    "53100": "server_full",
}

# libpq's own (client-side) messages carry no SQLSTATE; the server's FATALs at login may not
# either, depending on psycopg's version. First match wins: the login's words before the TLS's.
_PG_PATTERNS: tuple[tuple[str, str], ...] = (
    (r'for connection option "|invalid port number|invalid \w+ value: "', "bad_dsn"),
    (r"password authentication failed", "wrong_password"),
    (r"no password supplied", "no_password"),
    (r"no pg_hba\.conf entry", "not_allowed"),
    (r'role ".*" does not exist', "no_role"),
    (r'database ".*" does not exist', "no_database"),
    (r"the database system is (starting up|shutting down|in recovery)", "starting"),
    (r"too many clients|remaining connection slots", "too_many"),
    (r"certificate", "certificate"),
    (r"\bssl\b|\btls\b", "tls"),
    (r"connection refused", "refused"),
    (r"could not translate host name|name or service not known|name resolution", "no_host"),
    (r"timeout expired|timed out", "timeout"),
    (r"no route to host|network is unreachable", "unreachable"),
    (r"server closed the connection|connection is lost|terminating connection|"
     r"consuming input failed|connection reset", "lost"),
)


# libpq's words for a DSN it cannot read (psycopg's ProgrammingError) or a value it refuses on
# connecting; the checks of station.hub.dsn say theirs as libpq does. First match wins.
_DSN_PATTERNS: tuple[tuple[str, str], ...] = (
    (r'missing "=" after', "no_equals"),
    (r"unterminated quoted string", "quote"),
    (r"invalid (uri query parameter|connection option)", "unknown_option"),
    (r"percent-encoded", "escape"),
    (r'matching "\]"|ipv6|invalid host', "host"),
    (r"\bports?\b", "port"),
    (r"sslmode", "sslmode"),
    (r"invalid .*value", "value"),
)


# SQLite says why in fixed English words (its extended codes are not always kept by Python's
# module); the medium's faults (full, read-only) are station.media's
_SQLITE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"database( table)? is locked|database is busy", "locked"),
    (r"database disk image is malformed|file is not a database", "damaged"),
)


def _phrase(key: str, original: str, code: str) -> Reason:
    return Reason(original, t(key, "zh"), t(key, "en"), code)


def of_os(exc: OSError) -> Reason:
    """The reason of an OS error, by its errno. The original is ``strerror`` (never the file
    name: callers name the file themselves, and photos are named by ID number)."""
    number = exc.errno if isinstance(exc.errno, int) else None
    original = scrub(exc.strerror or str(exc) or type(exc).__name__)[:_MAX]
    code = errno.errorcode.get(number, "") if number is not None else ""
    kind = _OS_KINDS.get(number) if number is not None else None
    if kind is None and isinstance(exc, TimeoutError):      # a socket's timeout has no errno
        kind = "timeout"
    return _phrase(f"reason.os.{kind}", original, code) if kind else Reason(original, code=code)


def pg_kind(exc: BaseException) -> str | None:
    """The ``reason.pg.*`` kind of a psycopg error, by SQLSTATE, else by libpq's words."""
    kind = _PG_STATES.get(str(getattr(exc, "sqlstate", None) or ""))
    if kind is not None:
        return kind
    text = str(exc).lower()
    for pattern, found in _PG_PATTERNS:
        if re.search(pattern, text):
            return found
    state = str(getattr(exc, "sqlstate", None) or "")
    return "lost" if state.startswith("08") else None


def of_pg(exc: BaseException) -> Reason:
    """The reason of a psycopg (libpq) error; the original is its first line."""
    lines = str(exc).strip().splitlines()
    original = (lines[0] if lines else type(exc).__name__)[:_MAX]
    kind = pg_kind(exc)
    code = str(getattr(exc, "sqlstate", None) or "")
    return _phrase(f"reason.pg.{kind}", original, code) if kind else Reason(original, code=code)


def of_dsn(text: str) -> Reason:
    """Why libpq cannot use a connection string, from its words (``text``, never the DSN itself:
    it may hold a password)."""
    original = scrub(text.strip().splitlines()[0] if text.strip() else "")[:_MAX]
    for pattern, kind in _DSN_PATTERNS:
        if re.search(pattern, original, re.IGNORECASE):
            return _phrase(f"reason.dsn.{kind}", original, "")
    return Reason(original)


def of_sqlite(exc: BaseException) -> Reason:
    """The reason of an SQLite error, by its words; the original stays for the log and JSON."""
    original = scrub(str(exc).strip() or type(exc).__name__)[:_MAX]
    for pattern, kind in _SQLITE_PATTERNS:
        if re.search(pattern, original, re.IGNORECASE):
            return _phrase(f"reason.sqlite.{kind}", original, "")
    return Reason(original)


# Pillow's decoders say what is wrong with a file in English, with no code: by their words
_IMAGE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"truncated|premature end|unexpected end|not enough data", "truncated"),
    (r"broken data stream|corrupt|invalid|bad huffman|unsupported marker", "broken"),
)


def of_image(exc: BaseException) -> Reason:
    """Why an image file cannot be read: an OS error's reason; Pillow's decompression-bomb guard
    and its truncated or damaged-data complaints as phrases; anything else in its own words."""
    from PIL import Image

    if isinstance(exc, Image.DecompressionBombError):
        return _phrase("reason.image.too_many_pixels", str(exc)[:_MAX], "")
    if isinstance(exc, OSError) and isinstance(exc.errno, int):
        return of_os(exc)
    original = scrub(str(exc) or type(exc).__name__)[:_MAX]
    for pattern, kind in _IMAGE_PATTERNS:
        if re.search(pattern, original, re.IGNORECASE):
            return _phrase(f"reason.image.{kind}", original, "")
    return Reason(original)


def of(exc: BaseException) -> Reason:
    """The reason of any error: an OS error's by errno, a psycopg one's by SQLSTATE or libpq's
    words, an SQLite one's by its words; anything else is its own text."""
    if type(exc).__module__.split(".")[0] == "psycopg":
        return of_pg(exc)
    if isinstance(exc, OSError):
        return of_os(exc)
    if type(exc).__module__ == "sqlite3":
        return of_sqlite(exc)
    return Reason(scrub(str(exc) or type(exc).__name__)[:_MAX])
