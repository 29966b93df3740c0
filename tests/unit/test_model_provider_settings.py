"""OPSBOT_MODEL_PROVIDER and its settings: a configuration that cannot work stops the start in
one line naming the variables to fix (missing region or project, no credentials the AWS or
Google chain finds, a model id of another provider), and OPSBOT_MODEL_FEATURES is validated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anthropic
import pytest
from google.auth.compute_engine import _metadata as google_metadata

from agents.model_client import make_client, model_features
from agents.model_provider import model_id_problem, provider_problems
from bot.mcp_command import TokenCounter
from bot.startup_checks import config_problems
from core.errors import ConfigError
from core.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
SLACK = {"slack_bot_token": "xoxb-1-2-abc", "slack_app_token": "xapp-1-A1-2-abc"}
BEDROCK_IDS = {"model": "us.anthropic.claude-sonnet-4-6",
               "router_model": "anthropic.claude-haiku-4-5-20251001-v1:0"}  # fmt: skip


@pytest.fixture(autouse=True)
def no_cloud_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither the AWS nor the Google chain finds anything, nor asks a metadata server."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "OPSBOT_", "ANTHROPIC_", "GOOGLE_", "CLOUD_ML_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    # google-auth reads NO_GCE_CHECK once, at import: the setting itself, not the variable
    monkeypatch.setattr(google_metadata, "_NO_GCE_CHECK", True)


def _variables(problems: list[tuple[str, str]]) -> list[str]:
    return [variable for variable, _ in problems]


@pytest.mark.parametrize("value", ["openai", "Bedrock", "vertex-ai"])
def test_an_unknown_provider_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("OPSBOT_MODEL_PROVIDER", value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    assert raised.value.variables == ["OPSBOT_MODEL_PROVIDER"]
    assert "'anthropic', 'bedrock' or 'vertex'" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_vertex_needs_project_region_and_google_credentials(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, **SLACK, workspace=tmp_path,
                             model_provider="vertex")  # fmt: skip
    problems = config_problems(settings)
    assert _variables(problems) == ["ANTHROPIC_VERTEX_PROJECT_ID", "CLOUD_ML_REGION",
                                    "GOOGLE_APPLICATION_CREDENTIALS"]  # fmt: skip
    assert "gcloud auth application-default login" in problems[2][1]
    with pytest.raises(ConfigError) as raised:
        make_client(settings)
    assert raised.value.variables == ["ANTHROPIC_VERTEX_PROJECT_ID", "CLOUD_ML_REGION"]


def test_vertex_with_a_credentials_file_that_is_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="vertex",
                             vertex_project_id="opsbot-test", vertex_region="us-east5")  # fmt: skip
    problems = provider_problems(settings)
    assert _variables(problems) == ["GOOGLE_APPLICATION_CREDENTIALS"]
    assert "missing.json" in problems[0][1]


def test_bedrock_needs_a_region_and_aws_credentials(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, **SLACK, workspace=tmp_path,
                             model_provider="bedrock", **BEDROCK_IDS)  # fmt: skip
    problems = config_problems(settings)
    assert _variables(problems) == ["AWS_REGION", "AWS_ACCESS_KEY_ID"]
    assert "ANTHROPIC_API_KEY" not in _variables(problems), "Bedrock needs no Anthropic key"


def test_a_bedrock_api_key_stands_for_aws_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "ABSKsandbox")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="bedrock",
                             **BEDROCK_IDS)  # fmt: skip
    assert settings.aws_region == "eu-central-1"
    assert provider_problems(settings) == []
    client = make_client(settings)
    assert isinstance(client, anthropic.AsyncAnthropicBedrock)
    assert (client.api_key, client.aws_region) == ("ABSKsandbox", "eu-central-1")


def test_bedrock_with_a_profile_that_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="bedrock",
                             aws_region="us-east-1", **BEDROCK_IDS)  # fmt: skip
    problems = provider_problems(settings)
    assert _variables(problems) == ["AWS_PROFILE"]
    assert "no-such-profile" in problems[0][1]


@pytest.mark.parametrize(("provider", "model", "owner"), [
    ("anthropic", "us.anthropic.claude-sonnet-4-6", "Bedrock"),
    ("anthropic", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/x", "Bedrock"),
    ("anthropic", "claude-haiku-4-5@20251001", "Vertex AI"),
    ("bedrock", "claude-sonnet-4-6", "the Anthropic API"),
    ("bedrock", "claude-haiku-4-5@20251001", "Vertex AI"),
    ("vertex", "anthropic.claude-haiku-4-5-20251001-v1:0", "Bedrock"),
    ("vertex", "global.anthropic.claude-sonnet-4-6", "Bedrock"),
])  # fmt: skip
def test_a_model_id_of_another_provider_is_refused(provider: str, model: str, owner: str) -> None:
    problem = model_id_problem(provider, model)
    assert problem is not None
    assert f"{model} is a model id of {owner}" in problem


@pytest.mark.parametrize(("provider", "model"), [
    ("anthropic", "claude-sonnet-4-6"),
    ("bedrock", "us.anthropic.claude-sonnet-4-6"),
    ("bedrock", "anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("bedrock", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc"),
    ("vertex", "claude-sonnet-4-6"),
    ("vertex", "claude-haiku-4-5@20251001"),
])  # fmt: skip
def test_a_model_id_of_the_provider_passes(provider: str, model: str) -> None:
    assert model_id_problem(provider, model) is None


def test_the_default_models_are_refused_on_bedrock_in_one_line(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="bedrock",
                             aws_region="us-east-1", aws_bearer_token_bedrock="ABSKx")  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        make_client(settings)
    assert raised.value.variables == ["OPSBOT_MODEL", "OPSBOT_ROUTER_MODEL"]
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("model", ["llama3.1:8b", "claude-sonnet-4-6@proxy"])
def test_a_compatible_endpoint_names_its_own_models(model: str, tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, workspace=tmp_path, model=model, router_model=model,
                             anthropic_base_url="http://127.0.0.1:11434")  # fmt: skip
    assert provider_problems(settings) == []


@pytest.mark.parametrize(("value", "expected"), [
    ("prompt-caching,thinking", {"prompt-caching", "thinking"}),
    (" Token-Counting ", {"token-counting"}),
    ("none", set()),
    ("", {"prompt-caching", "thinking", "token-counting"}),
])  # fmt: skip
def test_model_features_name_what_the_endpoint_supports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: set[str]
) -> None:
    monkeypatch.setenv("OPSBOT_MODEL_FEATURES", value)
    settings = load_settings(_env_file=None, workspace=tmp_path)
    assert model_features(settings) == expected


@pytest.mark.parametrize("value", ["caching", "prompt-caching,thinking-budget", "none,thinking"])
def test_an_unknown_model_feature_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("OPSBOT_MODEL_FEATURES", value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    assert raised.value.variables == ["OPSBOT_MODEL_FEATURES"]
    assert "prompt-caching, thinking, token-counting, or none" in str(raised.value)


async def test_bedrock_counts_no_tokens_so_opsbot_mcp_estimates(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="bedrock",
                             aws_region="us-east-1", aws_bearer_token_bedrock="ABSKx",
                             **BEDROCK_IDS)  # fmt: skip
    assert "token-counting" not in model_features(settings)
    counter = TokenCounter(settings)
    try:
        assert counter.failure == "not offered by bedrock (OPSBOT_MODEL_FEATURES)"
    finally:
        await counter.close()


@pytest.mark.parametrize(("env", "named"), [
    ({"OPSBOT_MODEL_PROVIDER": "vertex", "CLOUD_ML_REGION": "us-east5"},
     "ANTHROPIC_VERTEX_PROJECT_ID: is required with OPSBOT_MODEL_PROVIDER=vertex"),
    ({"OPSBOT_MODEL_PROVIDER": "bedrock", "OPSBOT_MODEL": BEDROCK_IDS["model"],
      "OPSBOT_ROUTER_MODEL": BEDROCK_IDS["router_model"], "AWS_BEARER_TOKEN_BEDROCK": "ABSKx"},
     "AWS_REGION: is required with OPSBOT_MODEL_PROVIDER=bedrock"),
])  # fmt: skip
def test_opsbot_ask_with_a_bad_provider_exits_2_with_one_line(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "checkout is returning 500s"], cwd=tmp_path,
        env={**os.environ, **env, "OPSBOT_WORKSPACE": str(tmp_path), "PYTHONPATH": str(ROOT),
             "NO_GCE_CHECK": "true"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert named in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("region", ["us east 1", "US-EAST-1", "", " ", "us-east-1/x"])
def test_a_bedrock_region_that_is_not_one_stops_the_start(region: str, tmp_path: Path) -> None:
    # the SDK would put it into https://bedrock-runtime.<region>.amazonaws.com: a DNS error at
    # the first call, after every retry, instead of one line at the start
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="bedrock",
                             aws_region=region, aws_bearer_token_bedrock="ABSKx",
                             **BEDROCK_IDS)  # fmt: skip
    problems = provider_problems(settings)
    assert _variables(problems) == ["AWS_REGION"]
    assert "is not an AWS region name" in problems[0][1]
    with pytest.raises(ConfigError) as raised:
        make_client(settings)
    assert raised.value.variables == ["AWS_REGION"]
    assert "\n" not in str(raised.value)


def test_an_aws_profile_region_that_is_not_one_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "aws-config").write_text("[profile ops]\nregion = us east 1\n")
    monkeypatch.setenv("AWS_PROFILE", "ops")
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="bedrock",
                             aws_bearer_token_bedrock="ABSKx", **BEDROCK_IDS)  # fmt: skip
    assert _variables(provider_problems(settings)) == ["AWS_REGION"]


@pytest.mark.parametrize("region", ["us east5", "US-EAST5", " ", "", "us-east5.evil.example"])
def test_a_vertex_region_that_is_not_one_stops_the_start(region: str, tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="vertex",
                             vertex_project_id="opsbot-test", vertex_region=region)  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        make_client(settings)
    assert raised.value.variables == ["CLOUD_ML_REGION"]
    assert "is not a Vertex AI region" in str(raised.value)


@pytest.mark.parametrize("project", ["my project", " ", "", "proj/../other", "p"])
def test_a_vertex_project_that_is_not_one_stops_the_start(project: str, tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="vertex",
                             vertex_project_id=project, vertex_region="us-east5")  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        make_client(settings)
    assert raised.value.variables == ["ANTHROPIC_VERTEX_PROJECT_ID"]


@pytest.mark.parametrize(("region", "project"), [
    ("global", "opsbot-test"), ("eu", "example.com:opsbot-test"), ("europe-west1", "ops-123456"),
    ("northamerica-northeast1", "opsbot-test"),
])  # fmt: skip
def test_vertex_regions_and_projects_of_every_shape_pass(
    region: str, project: str, tmp_path: Path
) -> None:
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="vertex",
                             vertex_project_id=project, vertex_region=region)  # fmt: skip
    assert provider_problems(settings, credentials=False) == []
    assert isinstance(make_client(settings), anthropic.AsyncAnthropicVertex)


@pytest.mark.parametrize("region", ["us-gov-west-1", "ap-southeast-2", "eu-central-1"])
def test_aws_regions_of_every_shape_pass(region: str, tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="bedrock",
                             aws_region=region, aws_bearer_token_bedrock="ABSKx",
                             **BEDROCK_IDS)  # fmt: skip
    assert provider_problems(settings) == []


@pytest.mark.parametrize(("provider", "extra"), [
    ("anthropic", {"anthropic_base_url": "http://127.0.0.1:11434"}),
    ("anthropic", {}),
    ("bedrock", {"aws_region": "us-east-1", "aws_bearer_token_bedrock": "ABSKx"}),
])  # fmt: skip
@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_model_id_stops_the_start(
    provider: str, extra: dict[str, str], blank: str, tmp_path: Path
) -> None:
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider=provider,
                             model=blank, router_model=BEDROCK_IDS["router_model"] if provider
                             == "bedrock" else "claude-haiku-4-5", **extra)  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        make_client(settings)
    assert raised.value.variables == ["OPSBOT_MODEL"]
    assert "OPSBOT_MODEL: is empty" in str(raised.value)


@pytest.mark.parametrize("model", [
    "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1-20250805",
    "claude-sonnet-4-20250514", "claude-3-7-sonnet-20250219",
])  # fmt: skip
def test_adaptive_thinking_with_a_model_without_it_stops_the_start(
    model: str, tmp_path: Path
) -> None:
    # the API answers every agent call with a 400: the start says it once, in one line
    settings = load_settings(_env_file=None, workspace=tmp_path, model=model, thinking="adaptive",
                             anthropic_api_key="sk-ant-x")  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        make_client(settings)
    assert raised.value.variables == ["OPSBOT_THINKING"]
    assert f"adaptive thinking is not offered by {model}" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_bedrock_model_without_adaptive_thinking_is_named_too(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, workspace=tmp_path, model_provider="bedrock",
                             aws_region="us-east-1", aws_bearer_token_bedrock="ABSKx",
                             model="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                             router_model=BEDROCK_IDS["router_model"],
                             thinking="adaptive")  # fmt: skip
    assert _variables(provider_problems(settings)) == ["OPSBOT_THINKING"]


@pytest.mark.parametrize(("model", "values"), [
    ("claude-sonnet-4-6", {"thinking": "adaptive"}),
    ("claude-opus-4-6", {"thinking": "adaptive"}),
    ("claude-opus-4-7", {"thinking": "adaptive"}),
    ("claude-sonnet-4-5", {"thinking": "off"}),
    ("claude-sonnet-4-5", {"thinking": "adaptive", "model_features": "prompt-caching"}),
])  # fmt: skip
def test_adaptive_thinking_passes_where_it_is_offered_or_not_sent(
    model: str, values: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "model_features" in values:
        monkeypatch.setenv("OPSBOT_MODEL_FEATURES", values.pop("model_features"))
    settings = load_settings(_env_file=None, workspace=tmp_path, model=model, **values)
    assert provider_problems(settings) == []


def test_opsbot_ask_with_adaptive_thinking_on_an_older_model_exits_2(tmp_path: Path) -> None:
    env = {"OPSBOT_THINKING": "adaptive", "OPSBOT_MODEL": "claude-haiku-4-5",
           "ANTHROPIC_API_KEY": "sk-ant-x"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "checkout is returning 500s"], cwd=tmp_path,
        env={**os.environ, **env, "OPSBOT_WORKSPACE": str(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: OPSBOT_THINKING: adaptive thinking is not offered by "
        "claude-haiku-4-5 (OPSBOT_MODEL): use a model with it (claude-sonnet-4-6, "
        "claude-opus-4-6) or OPSBOT_THINKING=off"
    ]
