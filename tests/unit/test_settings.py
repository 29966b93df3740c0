"""Configuration: defaults, list parsing, and one clear line naming a bad variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_follow_the_configuration_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("OPSBOT_", "ANTHROPIC_", "SLACK_")):
            monkeypatch.delenv(name)
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite:///opsbot.sqlite"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.http_port == 3000
    assert settings.approval_timeout_s == 4 * 3600
    assert settings.approvers == []


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSBOT_APPROVERS", "U1, S_ONCALL ,U2")
    monkeypatch.setenv("OPSBOT_LOG_SOURCES", "/var/log/a.log,logs/*.log")
    monkeypatch.setenv("OPSBOT_SLACK_API_URL", "http://127.0.0.1:8765/api")
    settings = load_settings(_env_file=None)
    assert settings.approvers == ["U1", "S_ONCALL", "U2"]
    assert settings.log_sources == ["/var/log/a.log", "logs/*.log"]
    assert settings.slack_api_url == "http://127.0.0.1:8765/api/"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("OPSBOT_HTTP_PORT", "eighty", "OPSBOT_HTTP_PORT"),
        ("OPSBOT_DATABASE_URL", "mysql://x", "must be a sqlite:/// or postgresql:// URL"),
        ("OPSBOT_WORKSPACE", "/no/such/dir", "is not a directory"),
        ("OPSBOT_MAX_ITERATIONS", "0", "OPSBOT_MAX_ITERATIONS"),
        ("OPSBOT_MAX_CONTEXT_TOKENS", "1000", "greater than or equal to 1024"),
        ("OPSBOT_MAX_CONTEXT_TOKENS", "lots", "OPSBOT_MAX_CONTEXT_TOKENS"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    assert raised.value.variable == variable
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


def _opsbot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "ANTHROPIC_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_cli_bad_config_exits_2_with_one_line() -> None:
    result = _opsbot("ask", "hello", OPSBOT_HTTP_PORT="eighty")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "OPSBOT_HTTP_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_without_a_key_exits_2_and_points_at_the_demo(tmp_path: Path) -> None:
    result = _opsbot("ask", "checkout is returning 500s", OPSBOT_WORKSPACE=str(tmp_path))
    assert result.returncode == 2
    assert "ANTHROPIC_API_KEY is not set" in result.stderr
    assert "opsbot ask --demo" in result.stderr


def test_every_bad_value_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSBOT_HTTP_PORT", "eighty")
    monkeypatch.setenv("OPSBOT_DATABASE_URL", "mysql://x")
    monkeypatch.setenv("OPSBOT_MAX_ITERATIONS", "0")
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    assert set(raised.value.variables) == {
        "OPSBOT_HTTP_PORT", "OPSBOT_DATABASE_URL", "OPSBOT_MAX_ITERATIONS"
    }  # fmt: skip
    assert "\n" not in str(raised.value)
    assert str(raised.value).count("; ") == 2
