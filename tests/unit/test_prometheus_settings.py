"""The prometheus toolset is offered only when configured (its tools and the prompt's guide),
the silence only to the agent that may ask; a bad URL or timeout fails at start naming the
variable."""

from __future__ import annotations

import json

import pytest

from agents.specs import CODING, LOG_ANALYZER, default_agents
from agents.state import NetworkState
from core.errors import ConfigError
from core.settings import load_settings
from core.types import Risk
from tools.registry import default_tools

TOOLS = default_tools()


def test_tools_and_their_guide_are_offered_only_when_configured() -> None:
    bare = default_agents(TOOLS, load_settings(_env_file=None))
    for spec in bare.values():
        names = [t.name for t in spec.tools]
        assert not any(n.startswith(("prometheus_", "alertmanager_")) for n in names)
        assert "prometheus" not in spec.prompt(NetworkState())
        assert "alertmanager" not in spec.prompt(NetworkState())
    settings = load_settings(
        _env_file=None,
        OPSBOT_PROMETHEUS_URL="http://127.0.0.1:9090",
        OPSBOT_ALERTMANAGER_URL="http://127.0.0.1:9093",
    )
    agents = default_agents(TOOLS, settings)
    investigator = [t.name for t in agents[LOG_ANALYZER].tools]
    coder = [t.name for t in agents[CODING].tools]
    assert "prometheus_query_range" in investigator
    assert "alertmanager_alerts" in investigator
    assert "alertmanager_create_silence" not in investigator
    assert "alertmanager_create_silence" in coder
    assert all(
        t.risk is Risk.READ
        for t in agents[LOG_ANALYZER].tools
        if t.name in {"prometheus_query", "prometheus_rules", "alertmanager_silences"}
    )
    assert "prometheus_query_range" in agents[LOG_ANALYZER].prompt(NetworkState())
    only_prometheus = default_agents(
        TOOLS, load_settings(_env_file=None, OPSBOT_PROMETHEUS_URL="http://127.0.0.1:9090")
    )
    assert "alertmanager" not in json.dumps(only_prometheus[CODING].tool_definitions())


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OPSBOT_PROMETHEUS_URL", "127.0.0.1:9090"),
        ("OPSBOT_PROMETHEUS_URL", "ftp://prometheus"),
        ("OPSBOT_ALERTMANAGER_URL", "http://alertmanager:port"),
        ("OPSBOT_ALERTMANAGER_URL", "http://alertmanager:9093/?x=1"),
        ("OPSBOT_METRICS_TIMEOUT_S", "0"),
    ],
)
def test_bad_configuration_fails_at_start_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None, **{variable: value})
    assert variable in str(raised.value)
