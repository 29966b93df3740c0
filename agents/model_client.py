"""The one place that makes the model client, for the provider of OPSBOT_MODEL_PROVIDER.

`anthropic` is the Anthropic API (or a Messages-API-compatible server at ANTHROPIC_BASE_URL),
`bedrock` the SDK's `AsyncAnthropicBedrock` (the AWS credential chain: AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a role; or a Bedrock API key, AWS_BEARER_TOKEN_BEDROCK),
`vertex` its `AsyncAnthropicVertex` (Google Application Default Credentials). All three speak
the same `messages.create`/`messages.stream`; Bedrock has no `count_tokens` in the SDK.
See docs/models.md.
"""

from __future__ import annotations

from typing import TypeAlias

import anthropic
from anthropic import OpenTelemetryOptions
from opentelemetry.trace import TracerProvider

from agents.model_provider import provider_problems
from core.errors import ConfigError
from core.settings import MODEL_FEATURES, Settings

ModelClient: TypeAlias = (
    anthropic.AsyncAnthropic | anthropic.AsyncAnthropicBedrock | anthropic.AsyncAnthropicVertex
)
"""A client of any provider: each has `messages.create`, `messages.stream`, `close()`."""

NO_TOKEN_COUNTING = {"bedrock"}
"""Providers whose SDK client has no `count_tokens` (AsyncAnthropicBedrock raises)."""


def model_features(settings: Settings) -> frozenset[str]:
    """What the endpoint supports, of `MODEL_FEATURES`: OPSBOT_MODEL_FEATURES when set, else
    all the provider offers (Bedrock's client cannot count tokens)."""
    offered = frozenset(MODEL_FEATURES)
    if settings.model_provider in NO_TOKEN_COUNTING:
        offered -= {"token-counting"}
    return offered if settings.model_features is None else settings.model_features & offered


def _telemetry(provider: TracerProvider | None, exporting: bool) -> OpenTelemetryOptions | None:
    if provider is None:
        return None
    # The SDK's own call spans nest under opsbot's chat spans; never with content, which
    # would hold the model's words unredacted (opsbot records content itself, redacted).
    return {
        "tracer_provider": provider,
        "traces": {"enabled": exporting, "content_mode": "metadata_only"},
    }


def make_client(
    settings: Settings,
    tracer_provider: TracerProvider | None = None,
    exporting: bool = False,
    timeout: float | None = None,
    max_retries: int = 0,
) -> ModelClient:
    """The client for `settings.model_provider`, by default without retries (one retry layer:
    the DBOS step's). `tracer_provider` (with `exporting`) gets the SDK's call spans; `timeout`
    (seconds) bounds each request (the SDK's default, 10 minutes, when None). The region of
    Bedrock is AWS_REGION's, else the AWS profile's, as the SDK finds it.

    Raises `ConfigError` (one line) for a provider configuration that cannot work.
    """
    if problems := provider_problems(settings, credentials=False):
        raise ConfigError.of_all(problems)
    telemetry = _telemetry(tracer_provider, exporting)
    limit = timeout if timeout is not None else anthropic.NOT_GIVEN
    if settings.model_provider == "bedrock":
        return anthropic.AsyncAnthropicBedrock(
            aws_region=settings.aws_region, api_key=settings.aws_bearer_token_bedrock or None,
            base_url=settings.bedrock_base_url, max_retries=max_retries, timeout=limit,
            open_telemetry=telemetry,
        )  # fmt: skip
    if settings.model_provider == "vertex":
        return anthropic.AsyncAnthropicVertex(
            region=settings.vertex_region or "", project_id=settings.vertex_project_id or "",
            base_url=settings.vertex_base_url, max_retries=max_retries, timeout=limit,
            open_telemetry=telemetry,
        )  # fmt: skip
    return anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key or "missing-key", base_url=settings.anthropic_base_url,
        max_retries=max_retries, timeout=limit, open_telemetry=telemetry,
    )  # fmt: skip
