"""The command line's own words — help, usage lines and argparse's errors — in the station's language.

Help strings are written in English next to each option (readable for developers); their Chinese
lives in ``help_zh.toml`` keyed by that English text, so a command module never carries two copies.
argparse builds its help before ``--lang`` is parsed, so the language is decided first from the
arguments, then ``STATION_LANG``, then the data folder's ``station.toml``, then Chinese (the UI's
default). A test walks the whole parser: every command and option has help in both languages.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

_ZH_FILE = Path(__file__).with_name("help_zh.toml")
JSON_HELP = "print exactly one JSON document on stdout"

# argparse's own sentences (Python 3.11's argparse passes each through the module-level `_`)
_ARGPARSE_ZH = {
    "usage: ": "用法：",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ignored explicit argument %r": "多余的参数值 %r",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "one of the arguments %s is required": "参数 %s 中必须给出一个",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多需要一个值",
    "expected at least one argument": "至少需要一个值",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 不明确，可能是 %(matches)s",
    "unexpected option string: %s": "意外的选项：%s",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项值 %(value)r（可选：%(choices)s）",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
}


def early_language(argv: Sequence[str] | None) -> str:
    """zh or en, before the arguments are parsed (the last `--lang` given wins, as in argparse)."""
    args = list(argv or [])
    lang = None
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            lang = args[i + 1]
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
    if lang in ("zh", "en"):
        return lang
    env = os.environ.get("STATION_LANG") or os.environ.get("STATION__STATION__LANG")
    if env in ("zh", "en"):
        return env
    return _configured_language(args) or "zh"


def _configured_language(args: list[str]) -> str | None:
    """`[station] lang` of the data folder's station.toml, when there is one to read."""
    data_dir = None
    for i, arg in enumerate(args):
        if arg == "--data-dir" and i + 1 < len(args):
            data_dir = args[i + 1]
        elif arg.startswith("--data-dir="):
            data_dir = arg.split("=", 1)[1]
    if data_dir is None:
        data_dir = os.environ.get("STATION_DATA_DIR")
    if data_dir is None:
        return None
    try:
        with (Path(data_dir) / "station.toml").open("rb") as fh:
            lang = tomllib.load(fh).get("station", {}).get("lang")
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        return None
    return lang if lang in ("zh", "en") else None


@cache
def chinese() -> dict[str, str]:
    """English help text → Chinese help text."""
    with _ZH_FILE.open("rb") as fh:
        return dict(tomllib.load(fh))


def use_language(lang: str) -> None:
    """argparse's own sentences (usage, errors) in ``lang`` from here on, in this process."""
    table = _ARGPARSE_ZH if lang == "zh" else {}
    argparse._ = lambda text: table.get(text, text)  # type: ignore[attr-defined]


def _subcommands(parser: argparse.ArgumentParser
                 ) -> Iterator[tuple[str, argparse.ArgumentParser, argparse.Action | None]]:
    """(name, parser, the pseudo-action holding its one-line summary in the parent's listing)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {choice.dest: choice for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, sub, summaries.get(name)


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
         ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, argparse.Action | None]]:
    """Every (command path, parser, action) of the tree; action None stands for the parser itself."""
    yield path, parser, None
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            yield path, parser, action
    for name, sub, _summary in _subcommands(parser):
        yield from walk(sub, (*path, name))


def localise(parser: argparse.ArgumentParser, lang: str,
             summary: argparse.Action | None = None) -> None:
    """Put every help text of the tree into ``lang``; a command's summary is also its description."""
    table = chinese() if lang == "zh" else {}

    def words(text: str | None) -> str | None:
        if not text or text == argparse.SUPPRESS:
            return text
        return table.get(text, text)

    if summary is not None:
        summary.help = words(summary.help)
    if parser.description is None:
        parser.description = summary.help if summary is not None else None
    else:                       # a command's own longer description (e.g. purge's refusals)
        parser.description = words(parser.description)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.help is None and action.dest == "json":
            action.help = JSON_HELP  # the contract's `--json` means the same everywhere
        action.help = words(action.help)
    for _name, sub, sub_summary in _subcommands(parser):
        localise(sub, lang, sub_summary)
