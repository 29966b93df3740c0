"""The alert settings: a bad value stops the start with one line naming the variable, and a
token is read without the blanks around it (the header's token is compared trimmed too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.startup_checks import config_problems
from core.errors import ConfigError
from core.settings import load_settings

GOOD = {"slack_bot_token": "xoxb-1-2-abc", "slack_app_token": "xapp-1-A1-2-abc",
        "anthropic_api_key": "sk-ant-x"}  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("OPSBOT_ALERT_ROUTES", "team=payments", "is not label=value:channel"),
        ("OPSBOT_ALERT_ROUTES", "payments:C0PAY", "is not label=value:channel"),
        ("OPSBOT_ALERT_ROUTES", "team=a:C0A,=b:C0B", "is not label=value:channel"),
        ("OPSBOT_ALERT_FLAP_LIMIT", "0", "greater than or equal to 1"),
        ("OPSBOT_ALERT_FLAP_LIMIT", "three", "valid integer"),
        ("OPSBOT_ALERT_FLAP_WINDOW_S", "-5", "greater than 0"),
        ("OPSBOT_ALERT_FLAP_WINDOW_S", "1h", "valid number"),
    ],
)
def test_a_bad_alert_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    line = str(raised.value)
    assert variable in line
    assert says in line
    assert "\n" not in line


@pytest.mark.parametrize("token", [" ", "\t", "  \n"])
def test_a_blank_token_is_one_problem(token: str, tmp_path: Path) -> None:
    settings = load_settings(**GOOD, alertmanager_token=token, workspace=tmp_path)
    problems = config_problems(settings)
    assert problems == [("OPSBOT_ALERTMANAGER_TOKEN", "is empty (unset it to turn alerts off)")]


@pytest.mark.parametrize("token", ["tok-123", " tok-123", "tok-123\n"])
def test_a_token_is_read_without_blanks_and_needs_a_channel(token: str, tmp_path: Path) -> None:
    settings = load_settings(**GOOD, alertmanager_token=token, workspace=tmp_path)
    assert settings.alertmanager_token == "tok-123"
    assert [v for v, _ in config_problems(settings)] == ["OPSBOT_ALERT_CHANNEL"]
    with_channel = load_settings(**GOOD, alertmanager_token=token, alert_channel="C0ALERTS",
                                 workspace=tmp_path)  # fmt: skip
    assert config_problems(with_channel) == []
