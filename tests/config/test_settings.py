"""A bad ``DIALER_*`` value stops every command with one line naming the variable, never a traceback, and
never prints a secret's value."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import cli
from config.settings import SettingsError, default_data_dir, describe, load_settings


def test_a_bad_value_names_the_variable_and_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALER_AMI_PORT", "abc")
    with pytest.raises(SettingsError, match=r"DIALER_AMI_PORT='abc': .*integer"):
        load_settings()
    monkeypatch.setenv("DIALER_AMI_PORT", "70000")
    with pytest.raises(SettingsError, match=r"DIALER_AMI_PORT='70000': .*65535"):
        load_settings()


@pytest.mark.parametrize("command", [["run"], ["db", "status"], ["lists", "show", "trial"]])
def test_commands_stop_with_one_line_instead_of_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                            command: list[str]) -> None:
    result = CliRunner().invoke(cli.app, command, env={"DIALER_AMI_PORT": "abc", "COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: DIALER_AMI_PORT='abc'"), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_a_secret_is_named_but_its_value_never_shown() -> None:
    error = {"loc": ("ami_secret",), "msg": "String should have at most 64 characters", "input": "hunter2"}
    assert describe(error) == "DIALER_AMI_SECRET: String should have at most 64 characters"
    error = {"loc": ("database_url",), "msg": "bad", "input": "postgresql://u:hunter2@db/x"}
    assert "hunter2" not in describe(error)


def test_an_empty_variable_counts_as_unset_rather_than_as_the_current_folder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``DIALER_DATA_DIR=`` (set, but empty) started an embedded store in whatever folder the command ran
    from; an empty ``DIALER_DATABASE_URL`` already meant the embedded store. Empty is unset, for all."""
    for variable in ("DIALER_DATA_DIR", "DIALER_SOUNDS_DIR", "DIALER_AMI_SERVERS_FILE", "DIALER_AMI_PORT"):
        monkeypatch.setenv(variable, "")
    settings = load_settings()
    assert settings.data_dir == default_data_dir() and settings.sounds_dir is None
    assert settings.ami_servers_file is None and settings.ami_port == 5038


@pytest.mark.parametrize("value", ["true", "yes", "on", "2"])
def test_a_check_floor_value_that_is_not_1_or_0_is_refused_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """DIALER_CHECK_FLOOR=true left the check off without a word: the person thought it was on."""
    from dialer.config import EngineConfig

    monkeypatch.setenv("DIALER_CHECK_FLOOR", value)
    with pytest.raises(ValueError, match=f"DIALER_CHECK_FLOOR='{value}': give 1 .on. or 0 .off."):
        EngineConfig()


@pytest.mark.parametrize(("value", "on"), [("1", True), ("0", False), ("", False)])
def test_check_floor_is_1_or_0_or_unset(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    from dialer.config import EngineConfig

    monkeypatch.setenv("DIALER_CHECK_FLOOR", value)
    assert EngineConfig().check_floor is on


def test_a_mistyped_variable_is_refused_naming_it_and_the_setting_meant(monkeypatch: pytest.MonkeyPatch) -> None:
    """``DIALER_AMI_PROT=5039`` was ignored without a word: the engine dialed the default port, and a
    variable meant to change a limit would change nothing."""
    monkeypatch.setenv("DIALER_AMI_PROT", "5039")
    with pytest.raises(SettingsError, match=r"^DIALER_AMI_PROT: not a setting of dialer \(DIALER_AMI_PORT\?\)"):
        load_settings()


def test_the_variables_read_outside_the_settings_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DIALER_CHECK_FLOOR", "DIALER_SERVE_TRACE", "DIALER_ASTERISK", "DIALER_FLOOR_HOURS",
                 "DIALER_SCREENSHOTS"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("DIALER_ENGINE_NAME", "engine-2")
    assert load_settings().engine_name == "engine-2"


def test_a_mistyped_variable_stops_a_command_with_one_line() -> None:
    result = CliRunner().invoke(cli.app, ["db", "status"], env={"DIALER_WRAP_UP_MAX_S": "x", "COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: DIALER_WRAP_UP_MAX_S: not a setting of dialer"), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
