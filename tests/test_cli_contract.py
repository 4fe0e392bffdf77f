"""Exit codes and help of the command line: the contract scripts rely on (0 ok, 1 no, 2 input, 3 device)."""

from __future__ import annotations

from tests.conftest import run_station_cmd


def test_camera_list_without_a_camera_is_a_missing_device(tmp_path):
    # the real driver on a machine with no camera attached (never the virtual one)
    r = run_station_cmd(["camera", "list", "--camera", "gphoto2", "--json"], tmp_path / "d",
                        {"VCAMERADIR": str(tmp_path)})
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert r.json() == {"cameras": []}


def _tree(lang: str):
    import argparse

    from station.cli import helptext
    from station.cli.main import build_parser

    parser = build_parser(["--lang", lang])
    for path, sub, action in helptext.walk(parser):
        if action is None:
            yield " ".join(path) or "station", sub.description
        elif not isinstance(action, argparse._HelpAction | argparse._SubParsersAction) \
                and action.help != argparse.SUPPRESS:
            yield f"{' '.join(path) or 'station'} {'/'.join(action.option_strings) or action.dest}", \
                action.help


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_every_command_and_option_has_help_in_both_languages():
    from station.cli import helptext

    english = dict(_tree("en"))
    missing = [where for where, text in english.items() if not text]
    assert not missing, f"add help= to these commands/options: {missing}"
    untranslated = sorted({text for text in english.values() if text not in helptext.chinese()})
    assert not untranslated, (
        "add the Chinese of these help texts to station/cli/help_zh.toml "
        f"(\"English text\" = \"中文\"): {untranslated}")
    for where, text in _tree("zh"):
        assert text and _has_cjk(text), f"{where}: help shown in Chinese is {text!r}"
    stray = [t for t in english.values() if _has_cjk(t) and not t.startswith("e.g.")]
    assert not stray, f"English help with Chinese in it (put Chinese in help_zh.toml): {stray}"


def test_usage_errors_follow_the_language(tmp_path):
    zh = run_station_cmd(["init"], tmp_path / "d")
    assert zh.returncode == 2 and "缺少必需的参数" in zh.stderr and "用法" in zh.stderr
    en = run_station_cmd(["--lang", "en", "init"], tmp_path / "d")
    assert en.returncode == 2 and "the following arguments are required" in en.stderr
    help_zh = run_station_cmd(["init", "--help"], tmp_path / "d")
    assert help_zh.returncode == 0 and "建立" in help_zh.stdout, help_zh.stdout


def test_refusals_name_roles_and_actions_in_words():
    from station.i18n import catalog, t
    from station.store.operators import PERMISSIONS, ROLES, action_words, role_words

    words = catalog()
    missing = [f"auth.action.{a}" for a in PERMISSIONS if f"auth.action.{a}" not in words]
    missing += [f"auth.role.{r}" for r in ROLES if f"auth.role.{r}" not in words]
    assert not missing, f"add these to station/messages/auth.toml: {missing}"
    zh = t("auth.not_allowed", "zh", name="李", role=role_words("photographer"),
           action=action_words("export"))
    assert zh == "操作员“李”（摄影师）无权导出批次"
    assert "export" not in zh and "photographer" not in zh


def test_purge_help_says_what_it_removes_and_what_refuses_it(tmp_path):
    zh = run_station_cmd(["purge", "--help"], tmp_path / "d")
    assert zh.returncode == 0
    zh_flat = " ".join(zh.stdout.split())
    for words in ("假名", "删除照片", "审计记录保留", "尚未导出", "尚未确认", "station export confirm",
                  "station fsck", "--dry-run"):
        assert words in zh_flat, (words, zh.stdout)
    en = run_station_cmd(["--lang", "en", "purge", "--help"], tmp_path / "d")
    assert en.returncode == 0
    flat = " ".join(en.stdout.split())
    for words in ("pseudonym", "photos are deleted", "audit trail stay", "not exported", "not confirmed",
                  "station export build", "station export confirm BATCH_ID", "station fsck"):
        assert words in flat, (words, en.stdout)
