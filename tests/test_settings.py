"""The settings object: layers, and every misspelt key or wrong value named with its file/key."""

from __future__ import annotations

import tomllib

import pytest

from station.config import SettingsError, default_settings, load_settings, reference_toml
from station.settings import Settings
from tests.conftest import run_station_cmd


def _write(folder, text: str) -> None:
    (folder / "station.toml").write_text(text, encoding="utf-8")


def test_defaults_file_and_environment_in_that_order(tmp_path, monkeypatch):
    assert load_settings(tmp_path) == default_settings()
    assert load_settings(tmp_path).source is None
    _write(tmp_path, '[camera]\nfps = 10\ndriver = "sim"\n[camera.preset]\niso = 200\n'
                     '[schools]\n10001 = "清华大学"\n')
    monkeypatch.setenv("STATION__CAMERA__FPS", "12")
    monkeypatch.setenv("STATION__ROSTER__MAKEUP_WEEKDAYS", "[4, 5]")
    s = load_settings(tmp_path)
    assert s.camera.fps == 12 and s.camera.driver == "sim"          # env over file over default
    assert s.camera.preset == {"iso": "200"}                        # a TOML number is text here
    assert s.roster.makeup_weekdays == [4, 5]
    assert s.schools["10001"] == "清华大学" and s.schools["10673"] == "云南大学"  # added to
    assert s.source == tmp_path / "station.toml"


def test_a_typo_in_the_file_names_file_line_and_key(tmp_path):
    _write(tmp_path, "[station]\nlang = \"zh\"\n\n[camera]\nfsp = 12\n")
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    (problem,) = err.value.problems
    assert (problem.where, problem.line, problem.key) == (str(tmp_path / "station.toml"), 5,
                                                          "camera.fsp")
    assert "camera.fps" in problem.text("en")                        # the likely meant key
    assert err.value.exit_code == 2


def test_a_wrong_type_in_the_file_names_the_key_and_the_value(tmp_path):
    _write(tmp_path, '[camera]\ndriver = "sim"\nfps = "fast"\n[fee]\ncents = 3100\n')
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    found = {p.key: p for p in err.value.problems}
    assert found["camera.fps"].line == 3 and "'fast'" in found["camera.fps"].text("en")
    assert "must equal cents" in found["fee"].text("en")            # parts add up to the fee
    assert len(err.value.problems) == 2                             # every problem at once


def test_a_wrong_value_in_the_environment_names_the_variable(tmp_path, monkeypatch):
    _write(tmp_path, "[camera]\nfps = 10\n")
    monkeypatch.setenv("STATION__CAMERA__FPS", "fast")
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    (problem,) = err.value.problems
    assert problem.where == "STATION__CAMERA__FPS" and problem.key == "camera.fps"


def test_unknown_keys_in_the_environment_are_reported_too(tmp_path, monkeypatch):
    monkeypatch.setenv("STATION__CAMRA__FPS", "12")                 # no such section
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    assert "camera.fps" in err.value.problems[0].text("en")
    monkeypatch.delenv("STATION__CAMRA__FPS")
    monkeypatch.setenv("STATION__CAMERA__FSP", "12")                # no such key
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    assert err.value.problems[0].key == "camera.fsp"


def test_keys_of_earlier_versions_say_where_they_went(tmp_path):
    _write(tmp_path, "[session]\nfee_cents = 3000\nprofile = \"chsi\"\n")
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    texts = " | ".join(p.text("en") for p in err.value.problems)
    assert "fee.cents" in texts and "exports.profile" in texts


def test_the_reference_documents_every_key_and_reads_back_as_the_defaults():
    text = reference_toml()
    assert Settings.model_validate(tomllib.loads(text)) == default_settings()
    for section, field in Settings.model_fields.items():
        assert field.description, section
        sub = field.annotation
        for name, f in getattr(sub, "model_fields", {}).items():
            assert f.description and f.description.split()[0] in text, f"{section}.{name}"


def test_every_command_refuses_a_bad_configuration_at_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write(data, "[camera]\nfps = \"fast\"\n")
    r = run_station_cmd(["--lang", "en", "roster", "demo-files", "--out", str(tmp_path / "o")],
                        data_dir=data)
    assert r.returncode == 2 and "camera.fps" in r.stderr and "station.toml:2" in r.stderr
    assert not (tmp_path / "o").exists()


def test_doctor_reports_the_bad_key_among_its_other_answers(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write(data, "[tui]\npicture = \"sixels\"\n[idcard]\nreadr = \"sim\"\n")
    r = run_station_cmd(["--lang", "en", "doctor", "--json"], data_dir=data)
    assert r.returncode == 1, r.stderr
    answers = r.json()["checks"]
    bad = [c for c in answers if c["area"] == "settings"]
    assert {c["status"] for c in bad} == {"fail"}
    assert {c["details"]["key"] for c in bad} == {"tui.picture", "idcard.readr"}
    assert any(c["area"] == "system" and c["name"] == "python" for c in answers)


def test_config_show_prints_the_settings_in_effect(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write(data, "[exports]\nthrottle_ms = 5\n")
    r = run_station_cmd(["config", "show"], data_dir=data)
    assert r.returncode == 0 and "throttle_ms = 5" in r.stdout
    shown = run_station_cmd(["config", "show", "--json"], data_dir=data).json()
    assert shown["settings"]["exports"]["throttle_ms"] == 5
    assert shown["source"] == str(data / "station.toml")


def test_doctor_tells_a_card_mode_station_that_the_pipeline_now_keys_by_capture_code(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    card = run_station_cmd(["--lang", "en", "doctor", "--json"], data_dir=data)
    mode = [c for c in card.json()["checks"] if c["area"] == "settings" and c["name"] == "mode"]
    assert [c["status"] for c in mode] == ["warn"]
    assert "2023-01-01" in mode[0]["message_en"] and 'mode = "code"' in mode[0]["message_en"]
    _write(data, '[session]\nmode = "code"\n')
    code = run_station_cmd(["--lang", "en", "doctor", "--json"], data_dir=data)
    mode = [c for c in code.json()["checks"] if c["area"] == "settings" and c["name"] == "mode"]
    assert [c["status"] for c in mode] == ["pass"]


@pytest.mark.parametrize("code", ["１０６７３", "١٠٦٧٣", "1067", "10673a"])
def test_a_school_code_is_five_ascii_digits_in_the_file_too(tmp_path, code):
    """As at init, walk-ins and --school-code: a batch under a full-width code never reaches
    its school."""
    _write(tmp_path, f'[station]\nschool_code = "{code}"\n')
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    assert [p.key for p in err.value.problems] == ["station.school_code"]
    _write(tmp_path, '[station]\nschool_code = "10673"\n')
    assert load_settings(tmp_path).station.school_code == "10673"
