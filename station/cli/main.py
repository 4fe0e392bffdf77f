"""Entry point of `station`: global options, command registration, errors → exit codes.

Each command group is a module in ``station.cli`` with ``register(subparsers)``; a handler is
``handler(ctx, args) -> int``. Groups are imported by name below, so adding one is one line.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from station.cli.context import Context

COMMAND_MODULES = (
    "setup",      # init, doctor, fsck
    "operators",  # operator add/list/set-pin/set-role/disable/enable/unlock
    "roster",     # roster import, schedule import
    "idcard",     # idcard read
    "camera",     # camera list, camera capture
    "photos",     # check, crop, calibrate
    "session",    # ingest, simulate, run, demo
    "records",    # correct, history
    "exports",    # export build/verify, report, print
    "hub",        # hub init, sync push/pull through the PostgreSQL hub
    "sync",       # bundle create, merge
    "privacy",    # purge (export confirm is registered by exports)
)

log = logging.getLogger("station")


class _UsageMessage(Exception):
    """argparse's error message, caught instead of printed (to say it in the other language)."""


class StationParser(argparse.ArgumentParser):
    """argparse with the contract's promise kept for bad usage too: with ``--json`` the error is
    also one JSON document on stdout (cli.md), in both languages like every other error."""

    argv: list[str] = []
    lang = "zh"
    capture = False

    def error(self, message: str) -> NoReturn:
        if StationParser.capture:
            raise _UsageMessage(message)
        if "--json" in StationParser.argv:
            other = _usage_message_in("en" if StationParser.lang == "zh" else "zh") or message
            zh, en = (message, other) if StationParser.lang == "zh" else (other, message)
            sys.stdout.write(json.dumps({"error": "common.usage", "message_zh": zh,
                                         "message_en": en}, ensure_ascii=False, indent=2) + "\n")
            sys.stdout.flush()
        super().error(message)


def _usage_message_in(lang: str) -> str | None:
    """The same usage error as argparse words it in ``lang``."""
    from station.cli import helptext

    argv, current = StationParser.argv, StationParser.lang
    StationParser.capture = True
    try:
        build_parser(argv, lang=lang).parse_args(argv)
    except _UsageMessage as exc:
        return str(exc)
    except SystemExit:
        return None
    finally:
        StationParser.capture = False
        StationParser.argv, StationParser.lang = argv, current
        helptext.use_language(current)
    return None


def build_parser(argv: list[str] | None = None, lang: str | None = None) -> argparse.ArgumentParser:
    """The whole command tree, its help and argparse's own errors in the station's language."""
    from station import __version__
    from station.cli import helptext

    argv = sys.argv[1:] if argv is None else argv
    lang = lang or helptext.early_language(argv)
    helptext.use_language(lang)
    StationParser.argv, StationParser.lang = list(argv), lang
    parser = StationParser(
        prog="station",
        description="Capture Station — graduation-photo capture station",
    )
    parser.add_argument("--version", action="version", version=f"station {__version__}",
                        help="print the version and exit")
    parser.add_argument("--data-dir", type=Path,
                        help="station data folder (env STATION_DATA_DIR; default: the user data folder)")
    parser.add_argument("--lang", choices=("zh", "en"),
                        help="language of messages and help (env STATION_LANG; default zh)")
    parser.add_argument("--operator",
                        help="acting operator (env STATION_OPERATOR); the PIN comes from STATION_PIN "
                             "or a prompt")
    parser.add_argument("--clock-is-right", action="store_true",
                        help="write although the clock is behind the newest time the store "
                             "recorded (the stored times were ahead); recorded in the audit log")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"station.cli.{name}").register(sub)
    helptext.localise(parser, lang)
    return parser


class _QuietFileHandler(logging.FileHandler):
    """A log that never interrupts the work: on a full or read-only disk a line is dropped
    (the command's own error says what is wrong with the medium), no traceback is printed."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


def _setup_logging(data_dir: Path) -> Path | None:
    import os

    from station.paths import ensure_private_dir
    from station.privacy import MaskingFilter

    path = data_dir / "logs" / "station.log"
    try:
        ensure_private_dir(path.parent)
        handler = _QuietFileHandler(path, encoding="utf-8")
        os.chmod(path, 0o600)          # personal data (masked, but still): owner only
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def _forget_fresh_data_dir(data_dir: Path) -> None:
    """A command that failed on a folder it created leaves nothing behind (only its log was made)."""
    import shutil

    logs = data_dir / "logs"
    if set(data_dir.iterdir()) <= {logs} and set(logs.iterdir() if logs.is_dir() else ()) <= {
            logs / "station.log"}:
        logging.shutdown()
        shutil.rmtree(data_dir, ignore_errors=True)


def _forget_fresh_log(data_dir: Path) -> None:
    """A failed command in an existing folder that holds no station (a mistyped --data-dir)
    takes back the log folder it made there: the user's folder stays as it was."""
    import shutil

    from station.store.core import DB_NAME

    logs = data_dir / "logs"
    if not (data_dir / DB_NAME).exists() and logs.is_dir() \
            and set(logs.iterdir()) <= {logs / "station.log"}:
        logging.shutdown()
        shutil.rmtree(logs, ignore_errors=True)


def _file_in_the_way(data_dir: Path) -> Path | None:
    """The data folder, or the nearest of its parents that exists, when that is not a folder."""
    from station.media import nearest_existing

    path = nearest_existing(data_dir)
    return None if not path.exists() or path.is_dir() else path


def _path_words(exc: OSError) -> object:
    """Why a path cannot be used, in both languages (station.reasons for the less usual causes,
    the OS's own words kept in the English)."""
    import errno

    from station import reasons
    from station.i18n import Bilingual, both

    key = {errno.EISDIR: "is_folder", errno.ENOTDIR: "not_folder", errno.ENOENT: "missing",
           errno.EACCES: "denied", errno.EPERM: "denied", errno.ENAMETOOLONG: "too_long",
           errno.EEXIST: "exists"}.get(exc.errno if exc.errno is not None else -1)
    if key is None:
        return reasons.of_os(exc)
    return Bilingual(*both(f"common.path_reason.{key}"))


def _environment_language() -> str | None:
    """``STATION_LANG`` (the `--lang` help names it), as argparse's words already follow it."""
    import os

    lang = os.environ.get("STATION_LANG")
    return lang if lang in ("zh", "en") else None


def _configured_language(ctx: Context) -> str:
    """The configured language; Chinese while the configuration itself is broken."""
    from station.config import SettingsError

    try:
        return ctx.settings.station.lang
    except SettingsError:
        return "zh"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2

    import os

    from station.paths import default_data_dir

    os.umask(0o077)  # private by default: everything the station writes holds personal data
    if not any(isinstance(h, logging.NullHandler) for h in logging.getLogger().handlers):
        # log lines go to the log file only: never to the terminal as English debug lines, even
        # when the log cannot be opened (the user reads the command's own message)
        logging.getLogger().addHandler(logging.NullHandler())
    data_dir = args.data_dir or default_data_dir()
    fresh = not data_dir.exists()
    fresh_log = not (data_dir / "logs").exists()
    code, logged_a_fault = _run(args, data_dir)
    if fresh and code != 0 and not logged_a_fault and data_dir.is_dir():
        _forget_fresh_data_dir(data_dir)
    elif fresh_log and code != 0 and not logged_a_fault and data_dir.is_dir():
        _forget_fresh_log(data_dir)
    return code


def _run(args: argparse.Namespace, data_dir: Path) -> tuple[int, bool]:
    """The command's exit code, and whether its log holds a traceback the user was sent to (a
    fresh data folder is then kept: the message names that log)."""
    from station import i18n
    from station.cli.context import Context
    from station.errors import StationError

    ctx = Context(data_dir=data_dir, lang="zh", json=bool(getattr(args, "json", False)),
                  operator_name=getattr(args, "command_operator", None) or args.operator,
                  creates_store=bool(getattr(args, "creates_store", False)),
                  clock_is_right=bool(getattr(args, "clock_is_right", False)))
    log_path = None
    try:
        lang = (getattr(args, "command_lang", None) or args.lang or _environment_language()
                or _configured_language(ctx))
        i18n.set_language(lang if lang in i18n.LANGUAGES else "zh")
        ctx.lang = i18n.get_language()
        if getattr(args, "needs_data_dir", True) and (blocking := _file_in_the_way(data_dir)):
            from station.errors import InputError, Location

            raise InputError("common.data_dir_not_folder", Location("--data-dir"),
                             path=str(data_dir), file=str(blocking))
        if not getattr(args, "reports_bad_settings", False):
            ctx.settings  # noqa: B018  (a bad station.toml stops every command at start, exit 2)
        if getattr(args, "needs_data_dir", True):
            log_path = _setup_logging(data_dir)
        return int(args.handler(ctx, args) or 0), False
    except StationError as exc:
        from station.cli.output import emit, warn

        if ctx.json:
            emit(True, exc.to_json())
        warn(exc.message)
        return exc.exit_code, False
    except KeyboardInterrupt:
        from station.cli.output import warn

        warn(i18n.t("common.interrupted"))
        return 130, False
    except Exception as exc:  # last resort: a message in words, the traceback in the log
        from station import reasons
        from station.cli.output import emit, warn
        from station.media import media_error
        from station.privacy import scrub

        targets = tuple(Path(v) for k in ("out", "keep") if isinstance(v := getattr(args, k, None), str | Path))
        medium = media_error(exc, data_dir, (*targets, data_dir))
        if medium is not None:       # a full disk or a read-only folder, wherever it surfaced
            log.warning("medium fault: %s", scrub(f"{type(exc).__name__}: {exc}"))
            if ctx.json:
                emit(True, medium.to_json())
            warn(medium.message)
            return medium.exit_code, False
        if isinstance(exc, OSError) and exc.filename:  # a path given that cannot be used as one
            from station.errors import InputError, Location

            log.warning("path fault: %s", scrub(f"{type(exc).__name__}: {exc}"))
            # a rename onto the path given names both: the one the user typed, not the temp file
            named = next((f for f in (exc.filename, exc.filename2) if f is not None
                          and Path(f) in targets), exc.filename)
            bad = InputError("common.bad_path", Location(scrub(str(named))),
                             error=_path_words(exc))
            if ctx.json:
                emit(True, bad.to_json())
            warn(bad.message)
            return bad.exit_code, False
        log.exception("unexpected error")
        where = i18n.t("common.see_log", log=log_path) if log_path else i18n.t("common.no_log")
        import sqlite3

        # the OS's or SQLite's words (a store another program holds) as a phrase; else as they are
        known = isinstance(exc, OSError | sqlite3.Error)
        error = reasons.of(exc) if known else scrub(f"{type(exc).__name__}: {exc}")
        warn(i18n.t("common.unexpected", error=error, log=where))
        return 2, log_path is not None
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
