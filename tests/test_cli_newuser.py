"""A new user's first mistakes on the command line: each is told in words, in the station's
language, and leaves nothing behind (cli.md: every command names what is wrong; no half-made
files)."""

from __future__ import annotations

import pytest

from tests.conftest import run_station_cmd

ACTING = {"STATION_OPERATOR": "王主管", "STATION_PIN": "246813"}


@pytest.mark.parametrize("command", [["key", "export"], ["operator", "list"],
                                     ["roster", "import", "roster.csv"], ["report", "daily"]])
def test_a_command_before_init_names_the_folder_and_creates_no_store(tmp_path, command):
    # a typo in --data-dir points at some existing folder of the user's: it stays as it was
    folder = tmp_path / "我的 文件"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    r = run_station_cmd(command, folder, ACTING)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert str(folder) in r.stderr and "station init" in r.stderr, r.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    fresh = tmp_path / "new"
    r = run_station_cmd(command, fresh, ACTING)
    assert r.returncode == 2 and str(fresh) in r.stderr, r.stderr
    assert not fresh.exists()


def test_where_an_input_error_is_reads_in_the_station_language(tmp_path):
    # cli.md: bad input names file, line and field; Chinese by default, so the "where" too
    (tmp_path / "身份.json").write_text('{"name": "张三"}', encoding="utf-8")
    (tmp_path / "bad.json").write_text('{"name":\n', encoding="utf-8")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"")
    for identity, words_zh, words_en in (("身份.json", "字段 card_type", "field card_type"),
                                         ("bad.json", "第 2 行", "line 2")):
        args = ["ingest", "--identity", str(tmp_path / identity), "--image", str(photo)]
        zh = run_station_cmd(args, tmp_path / "d", ACTING)
        assert zh.returncode == 2 and words_zh in zh.stderr, zh.stderr
        assert words_en not in zh.stderr and identity in zh.stderr, zh.stderr
        en = run_station_cmd(["--lang", "en", *args], tmp_path / "d", ACTING)
        assert en.returncode == 2 and words_en in en.stderr, en.stderr
        doc = run_station_cmd([*args, "--json"], tmp_path / "d", ACTING).json()
        assert doc["file"].endswith(identity) and (doc["field"] or doc["line"]), doc


def test_a_file_that_is_no_image_is_said_so_in_chinese(tmp_path):
    junk = tmp_path / "照片.jpg"
    junk.write_bytes(b"not an image at all")
    r = run_station_cmd(["check", str(junk), "--json"], tmp_path / "d")
    assert r.returncode == 1, r.stderr
    (readable,) = [c for c in r.json()["results"][0]["checks"] if c["status"] == "fail"]
    assert readable["name"] == "readable"
    assert "Pillow" not in readable["message_zh"] and "图像格式" in readable["message_zh"], readable
    assert "not an image" in readable["message_en"], readable
    crop = run_station_cmd(["crop", str(junk), "--out", str(tmp_path / "out.jpg")], tmp_path / "d")
    assert crop.returncode == 1 and "Pillow" not in crop.stderr, crop.stderr
    assert not (tmp_path / "out.jpg").exists()


def test_a_data_dir_that_is_a_file_is_one_message_without_log_lines(tmp_path):
    afile = tmp_path / "station-data"
    afile.write_text("not a folder", encoding="utf-8")
    r = run_station_cmd(["init", "--station-id", "cg-1", "--supervisor", "王主管"], afile,
                        {"STATION_PIN": "24681357"})
    assert r.returncode == 2 and str(afile) in r.stderr, r.stderr
    assert "fault" not in r.stderr and "Error" not in r.stderr, r.stderr
    assert "不是文件夹" in r.stderr, r.stderr
    assert afile.read_text(encoding="utf-8") == "not a folder"
    below = run_station_cmd(["--lang", "en", "fsck"], afile / "sub")
    assert below.returncode == 2 and "not a folder" in below.stderr and str(afile) in below.stderr


def test_roster_show_names_the_degree_in_words(tmp_path):
    data = tmp_path / "d"
    assert run_station_cmd(["init", "--station-id", "cg-1", "--supervisor", "王主管"], data,
                           ACTING).returncode == 0
    roster = tmp_path / "名单.csv"
    roster.write_text("身份证号,姓名,培养单位,学历层次,学制,入学年份\n"
                      "530111198704173634,邵露真,物理与天文学院,博士研究生,3,2014\n", encoding="utf-8")
    assert run_station_cmd(["roster", "import", str(roster)], data, ACTING).returncode == 0
    zh = run_station_cmd(["roster", "show", "530111198704173634"], data, ACTING)
    first = zh.stdout.splitlines()[0]
    assert "邵露真" in first and "博士研究生" in first and "phd" not in first, zh.stdout
    en = run_station_cmd(["--lang", "en", "roster", "show", "530111198704173634"], data, ACTING)
    assert "doctoral" in en.stdout.splitlines()[0], en.stdout
    doc = run_station_cmd(["roster", "show", "530111198704173634", "--json"], data, ACTING).json()
    assert doc["entry"]["degree"] == "phd"              # scripts keep the code


@pytest.mark.parametrize("command", [["history", "53011119870417"],
                                     ["roster", "show", "53011119870417"],
                                     ["correct", "53011119870417", "--field", "name", "--value", "张三",
                                      "--reason", "typo"]])
def test_a_mistyped_id_number_is_bad_input_not_an_unknown_person(tmp_path, command):
    r = run_station_cmd(command, tmp_path / "d", ACTING)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "ID_NUMBER" in r.stderr and "18 位" in r.stderr and "14 位" in r.stderr, r.stderr
    letters = run_station_cmd([c.replace("53011119870417", "53011119870417ABCD") for c in command],
                              tmp_path / "d", ACTING)
    assert letters.returncode == 2 and "末位为数字或 X" in letters.stderr, letters.stderr


@pytest.mark.parametrize("args, words_zh, words_en", [
    (["export", "build", "--json"], "缺少必需的参数：--out", "the following arguments are required: --out"),
    (["report", "daily", "--format", "xml", "--json"], "无效的选项值 'xml'", "invalid choice: 'xml'"),
    (["check", "x.jpg", "--json", "--frobnicate"], "无法识别的参数：--frobnicate",
     "unrecognized arguments: --frobnicate"),
])
def test_a_usage_error_with_json_is_still_one_json_document(tmp_path, args, words_zh, words_en):
    # cli.md: with --json a command prints exactly one JSON document on stdout, a refusal too
    r = run_station_cmd(args, tmp_path / "d")
    assert r.returncode == 2
    doc = r.json()
    assert doc["error"] == "common.usage", doc
    assert words_zh in doc["message_zh"] and words_en in doc["message_en"], doc
    assert "用法" in r.stderr and words_zh in r.stderr        # the person still reads the usage
    en = run_station_cmd(["--lang", "en", *args], tmp_path / "d")
    assert en.json() == doc and words_en in en.stderr, en.stderr
    plain = run_station_cmd([a for a in args if a != "--json"], tmp_path / "d")
    assert plain.returncode == 2 and plain.stdout == ""


def test_run_before_init_says_so_instead_of_a_login_nobody_can_pass(tmp_path):
    r = run_station_cmd(["run", "--camera", "sim", "--reader", "sim"], tmp_path / "d", timeout=30)
    assert r.returncode == 2 and "station init" in r.stderr and str(tmp_path / "d") in r.stderr, \
        (r.stdout[-500:], r.stderr)
    assert not (tmp_path / "d").exists()


def test_a_serial_reader_port_that_does_not_exist_is_said_in_words(tmp_path):
    # camera.md's rule for every device error: words the operator can act on, never a bare errno
    port = tmp_path / "ttyUSB9"
    r = run_station_cmd(["idcard", "read", "--reader", f"serial:{port}", "--timeout", "1", "--json"],
                        tmp_path / "d")
    assert r.returncode == 3, r.stderr
    doc = r.json()
    assert doc["error"] == "idcard.serial_missing", doc
    assert str(port) in r.stderr and "不存在" in r.stderr and "Errno" not in r.stderr, r.stderr


def test_a_wrong_value_in_station_toml_is_explained_in_chinese(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "station.toml").write_text('[camera]\nfps = "fast"\nbusy_retries = -1\n'
                                       '[tui]\npicture = "sixels"\n', encoding="utf-8")
    zh = run_station_cmd(["fsck"], data)
    assert zh.returncode == 2
    assert "station.toml:2" in zh.stderr and "应为数字" in zh.stderr, zh.stderr
    assert "station.toml:3" in zh.stderr and "不小于 0" in zh.stderr, zh.stderr
    assert "Input should" not in zh.stderr and "station.toml:5" in zh.stderr, zh.stderr
    en = run_station_cmd(["--lang", "en", "fsck"], data)
    assert "Input should be a valid number" in en.stderr, en.stderr


def test_an_output_path_that_is_a_folder_is_named_as_given_in_words(tmp_path):
    data = tmp_path / "d"
    assert run_station_cmd(["init", "--station-id", "cg-1", "--supervisor", "王主管"], data,
                           ACTING).returncode == 0
    folder = tmp_path / "U 盘"
    folder.mkdir()
    for args in (["bundle", "create", "--out", str(folder)],
                 ["report", "daily", "--format", "csv", "--out", str(folder)]):
        r = run_station_cmd(args, data, ACTING)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert r.stderr.startswith(f"{folder}: ") and "partial" not in r.stderr, r.stderr
        assert "是一个文件夹" in r.stderr and "Is a directory" not in r.stderr, r.stderr
        assert run_station_cmd([*args, "--json"], data, ACTING).json()["file"] == str(folder)
        en = run_station_cmd(["--lang", "en", *args], data, ACTING)
        assert "it is a folder" in en.stderr, en.stderr
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob(".*partial*"))


def test_station_lang_in_the_environment_sets_the_messages_too(tmp_path):
    # `--lang` help: "env STATION_LANG; default zh": the usage followed it, the messages did not
    r = run_station_cmd(["fsck"], tmp_path / "d", {"STATION_LANG": "en"})
    assert r.returncode == 2 and "No station database" in r.stderr, r.stderr
    zh = run_station_cmd(["--lang", "zh", "fsck"], tmp_path / "d", {"STATION_LANG": "en"})
    assert "没有工作站数据库" in zh.stderr, zh.stderr              # the option wins


def test_run_with_a_walk_in_school_not_configured_says_so_before_the_desk_opens(tmp_path):
    """`station run --walk-in 99999` opened the desk, which crashed on mount with a traceback (in
    English, with its locals) and exited 0; now exit 2 in words naming --walk-in, no screen."""
    d = tmp_path / "d"
    init = run_station_cmd(["init", "--station-id", "s1", "--supervisor", "主管"], d,
                           env={"STATION_PIN": "24681357"})
    assert init.returncode == 0, init.stderr
    for code, said in (("99999", "未配置的学校代码"), ("1067", "无效")):  # (4 digits: not a school code)
        r = run_station_cmd(["run", "--camera", "sim", "--reader", "sim", "--walk-in", code], d,
                            timeout=30)
        assert r.returncode == 2, (r.stdout[-500:], r.stderr[-2000:])
        assert "Traceback" not in r.stderr and "\x1b[" not in r.stdout   # no screen was drawn
        assert r.stderr.startswith("--walk-in") and said in r.stderr, r.stderr


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "1e9"])
def test_run_refuses_an_auto_capture_delay_that_is_not_a_delay(tmp_path, value):
    """`--auto-capture -5` opened the desk capturing on the first passing frame, with no steady
    wait; nan and inf opened it never capturing. Refused as --wait is (exit 2), before any screen."""
    d = tmp_path / "d"
    init = run_station_cmd(["init", "--station-id", "s1", "--supervisor", "主管"], d,
                           env={"STATION_PIN": "24681357"})
    assert init.returncode == 0, init.stderr
    r = run_station_cmd(["run", "--camera", "sim", "--reader", "sim", f"--auto-capture={value}"],
                        d, timeout=30)
    assert r.returncode == 2, (r.stdout[-300:], r.stderr[-1000:])
    assert r.stderr.startswith("--auto-capture") and "\x1b[" not in r.stdout, r.stderr


@pytest.mark.parametrize("args, words", [(["--reader", "bogus"], "读卡器设置“bogus”无效"),
                                         (["--reader", "sim:1"], "读卡器设置“sim:1”无效"),
                                         (["--camera", "gphoto"], "--camera")])
def test_run_refuses_a_mistyped_device_before_the_desk_opens(tmp_path, args, words):
    """`station run --reader bogus` opened the desk (its reader then never worked) while `idcard
    read --reader bogus` refused it; both devices are now checked first (exit 2, no screen)."""
    d = tmp_path / "d"
    init = run_station_cmd(["init", "--station-id", "s1", "--supervisor", "主管"], d,
                           env={"STATION_PIN": "24681357"})
    assert init.returncode == 0, init.stderr
    r = run_station_cmd(["run", *args], d, timeout=30)
    assert r.returncode == 2, (r.stdout[-300:], r.stderr[-1000:])
    assert words in r.stderr and "\x1b[" not in r.stdout, r.stderr


def test_the_reader_forms_the_desk_takes_still_pass_the_check():
    from station.errors import InputError
    from station.idcard import check_reader_spec

    for spec in ("pcsc", "pcsc:ACS ACR 38U", "usb", "usb:routon", "serial:/dev/idcard-reader",
                 "virtual", "sim", "manual"):
        assert check_reader_spec(spec) == spec
    for spec in ("", "serial", "serial:", "sim:x", "manual:1", "pcsc2"):
        with pytest.raises(InputError):
            check_reader_spec(spec)


def test_calibrate_refuses_a_portrait_given_as_the_empty_backdrop(run_station, tmp_path):
    """`calibrate --empty portrait.jpg` (files swapped, or the same one twice) took the portrait's
    median colour as the backdrop: every later good photo failed framing and backdrop colour.
    Refused now (exit 2, naming --empty), nothing saved; the right way round still calibrates."""
    import cv2

    from station.sim.portrait import render

    empty, subject = tmp_path / "empty.png", tmp_path / "subject.png"
    cv2.imwrite(str(empty), render(1200, 1600, face=False)[0])
    cv2.imwrite(str(subject), render(1200, 1600)[0])
    sup = {"STATION_OPERATOR": "sup", "STATION_PIN": "24681357"}
    assert run_station("init", "--station-id", "c1", "--supervisor", "sup", env=sup).returncode == 0
    for wrong in (["--empty", str(subject), "--subject", str(empty)],
                  ["--empty", str(subject), "--subject", str(subject)]):
        r = run_station("calibrate", *wrong, "--json", env=sup)
        assert r.returncode == 2, r.stdout
        assert r.json()["error"] == "checks.calibration_empty_has_face" and r.json()["file"] == "--empty"
        assert not (run_station.data_dir / "calibration.json").exists()
    ok = run_station("calibrate", "--empty", str(empty), "--subject", str(subject), env=sup)
    assert ok.returncode == 0, ok.stderr
    assert run_station("check", str(subject)).returncode == 0
