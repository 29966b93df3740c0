"""opsbot's own credentials are redacted wherever they appear, whatever their shape: each
token setting, including the metrics and alert ones, is an own secret of the redactor."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.tool_setup import load_redactor
from core.settings import load_settings

SECRETS = {
    "slack_bot_token": "xoxb-1111-2222-aaaaBBBBccccDDDD",
    "anthropic_api_key": "sk-ant-api03-" + "k" * 40,
    "alertmanager_token": "am-webhook-Q2x9plainword",
    "prometheus_token": "promtoken-plain-7f3a9b",
    "alertmanager_api_token": "amapi-plain-88d1c0",
}


@pytest.mark.parametrize("field", sorted(SECRETS))
def test_each_own_token_is_redacted(field: str, tmp_path: Path) -> None:
    settings = load_settings(**{field: SECRETS[field], "workspace": tmp_path})
    redactor = load_redactor(settings)
    said = f"the value was {SECRETS[field]} (and again {SECRETS[field]}.)"
    clean = redactor.redact(said)
    assert SECRETS[field] not in clean
    assert "the value was" in clean
