"""Settings from the environment or `.env`, per the configuration contract (DESIGN section 4)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.errors import ConfigError

DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_ROUTER_MODEL = "claude-haiku-4-5"
MIN_CONTEXT_TOKENS = 1024
"""The smallest OPSBOT_MAX_CONTEXT_TOKENS: a system prompt and tool definitions need that."""
MODEL_FEATURES = ("prompt-caching", "thinking", "token-counting")
"""What a model endpoint may lack (OPSBOT_MODEL_FEATURES): cache breakpoints, extended
thinking, and `POST /v1/messages/count_tokens`."""
THINKING_MODES = ("off", "adaptive")
"""OPSBOT_THINKING's values."""


class Settings(BaseSettings):
    """Every setting opsbot reads. Build it with `load_settings()`, never at import time."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(
        default="https://slack.com/api/", validation_alias="OPSBOT_SLACK_API_URL"
    )

    model_provider: Literal["anthropic", "bedrock", "vertex"] = Field(
        default="anthropic", validation_alias="OPSBOT_MODEL_PROVIDER"
    )
    """Who serves the model: the Anthropic API (or a Messages-API-compatible server at
    ANTHROPIC_BASE_URL), Amazon Bedrock, or Google Vertex AI (docs/models.md)."""
    anthropic_api_key: str | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(default=None, validation_alias="ANTHROPIC_BASE_URL")
    """Another Messages API server than api.anthropic.com (a LiteLLM proxy, vLLM, Ollama)."""
    model_features: Annotated[frozenset[str] | None, NoDecode] = Field(
        default=None, validation_alias="OPSBOT_MODEL_FEATURES"
    )
    """What the endpoint supports, of MODEL_FEATURES, comma-separated (`none`: nothing);
    unset: all the provider offers (agents/model_client.model_features)."""
    thinking: Literal["off", "adaptive"] = Field(default="off", validation_alias="OPSBOT_THINKING")
    """Extended thinking for the agents' calls (never the router's): `adaptive` lets the model
    decide when and how much to think (agents/thinking.py); off where OPSBOT_MODEL_FEATURES
    lacks `thinking`."""
    aws_region: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    """Bedrock's region; unset: the AWS profile's."""
    aws_bearer_token_bedrock: str | None = Field(
        default=None, validation_alias="AWS_BEARER_TOKEN_BEDROCK"
    )
    """A Bedrock API key, instead of AWS credentials (which the AWS chain finds)."""
    bedrock_base_url: str | None = Field(
        default=None, validation_alias="ANTHROPIC_BEDROCK_BASE_URL"
    )
    """Another Bedrock runtime endpoint (a VPC endpoint); unset: bedrock-runtime.<region>."""
    vertex_project_id: str | None = Field(
        default=None, validation_alias="ANTHROPIC_VERTEX_PROJECT_ID"
    )
    """The Google Cloud project whose Vertex AI serves Claude."""
    vertex_region: str | None = Field(default=None, validation_alias="CLOUD_ML_REGION")
    """Vertex AI's region (`us-east5`, `europe-west1`, `global`...)."""
    vertex_base_url: str | None = Field(default=None, validation_alias="ANTHROPIC_VERTEX_BASE_URL")
    """Another Vertex AI endpoint (Private Service Connect); unset: the region's."""
    model: str = Field(default=DEFAULT_MODEL, validation_alias="OPSBOT_MODEL")
    router_model: str = Field(default=DEFAULT_ROUTER_MODEL, validation_alias="OPSBOT_ROUTER_MODEL")
    max_output_tokens: int = Field(default=4096, gt=0, validation_alias="OPSBOT_MAX_OUTPUT_TOKENS")
    model_max_attempts: int = Field(default=5, ge=1, validation_alias="OPSBOT_MODEL_MAX_ATTEMPTS")
    max_concurrent_model_calls: int = Field(
        default=64, ge=1, validation_alias="OPSBOT_MAX_CONCURRENT_MODEL_CALLS"
    )
    model_retry_interval_s: float = Field(
        default=1.0, ge=0, validation_alias="OPSBOT_MODEL_RETRY_INTERVAL_S"
    )

    database_url: str = Field(
        default="sqlite:///opsbot.sqlite", validation_alias="OPSBOT_DATABASE_URL"
    )
    executor_id: str = Field(default="local", validation_alias="OPSBOT_EXECUTOR_ID")
    slack_rate_scale: float = Field(
        default=1.0, gt=0, le=100, validation_alias="OPSBOT_SLACK_RATE_SCALE"
    )
    http_port: int = Field(default=3000, ge=1, le=65535, validation_alias="OPSBOT_HTTP_PORT")
    health_port: int | None = Field(
        default=None, ge=1, le=65535, validation_alias="OPSBOT_HEALTH_PORT"
    )
    runs_api: bool = Field(default=False, validation_alias="OPSBOT_RUNS_API")
    approvers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="OPSBOT_APPROVERS"
    )
    channel_approvers: dict[str, list[str]] = Field(
        default_factory=dict, validation_alias="OPSBOT_CHANNEL_APPROVERS"
    )
    no_self_approval: Literal["none", "critical", "all"] = Field(
        default="critical", validation_alias="OPSBOT_SELF_APPROVAL"
    )
    two_person_critical: bool = Field(default=False, validation_alias="OPSBOT_TWO_PERSON")
    policy_file: Path | None = Field(default=None, validation_alias="OPSBOT_POLICY_FILE")
    mcp_config: Path | None = Field(default=None, validation_alias="OPSBOT_MCP_CONFIG")
    """A JSON or YAML file of MCP servers in the common `mcpServers` shape (tools.mcp.config);
    unset: no MCP servers."""
    redact_patterns: dict[str, str] = Field(
        default_factory=dict, validation_alias="OPSBOT_REDACT_PATTERNS"
    )
    approval_timeout_s: float = Field(
        default=4 * 3600, gt=0, validation_alias="OPSBOT_APPROVAL_TIMEOUT_S"
    )
    workspace: Path = Field(default_factory=Path.cwd, validation_alias="OPSBOT_WORKSPACE")
    change_mode: Literal["auto", "pull_request", "workspace"] = Field(
        default="auto", validation_alias="OPSBOT_CHANGE_MODE"
    )
    """Where approved code changes go: pull_request (a branch and a pull request per thread on
    the workspace's `origin`), workspace (written into OPSBOT_WORKSPACE: the local demo), auto
    (pull_request when the workspace has an `origin` and GITHUB_TOKEN or GITLAB_TOKEN is set)."""
    worktrees: Path | None = Field(default=None, validation_alias="OPSBOT_WORKTREES")
    """Where the threads' worktrees live; unset: `.git/opsbot-worktrees` of the workspace."""
    github_token: str | None = Field(default=None, validation_alias="GITHUB_TOKEN")
    github_api_url: str | None = Field(default=None, validation_alias="GITHUB_API_URL")
    """GitHub's REST API base; unset: https://api.github.com for github.com, else
    https://HOST/api/v3 (GitHub Enterprise Server)."""
    github_app_id: str | None = Field(default=None, validation_alias="GITHUB_APP_ID")
    """A GitHub App's id (or client id): pull requests as the App, with installation tokens
    made from GITHUB_APP_PRIVATE_KEY, instead of GITHUB_TOKEN."""
    github_app_private_key: str | None = Field(
        default=None, validation_alias="GITHUB_APP_PRIVATE_KEY"
    )
    """The App's private key (PEM text, or a path to the .pem file)."""
    github_app_installation_id: str | None = Field(
        default=None, validation_alias="GITHUB_APP_INSTALLATION_ID"
    )
    """The App's installation on the repository; unset: looked up from the repository."""
    gitlab_url: str | None = Field(default=None, validation_alias="GITLAB_URL")
    """A GitLab instance (https://gitlab.com or your own): merge requests, not pull requests."""
    gitlab_token: str | None = Field(default=None, validation_alias="GITLAB_TOKEN")
    sandbox: Literal["auto", "required", "off"] = Field(
        default="auto", validation_alias="OPSBOT_SANDBOX"
    )
    """Kernel confinement of unapproved commands: auto (on where the kernel offers it; else
    every command needs approval), required (refuse to start without it), off (always ask)."""
    kubeconfig: str | None = Field(default=None, validation_alias="KUBECONFIG")
    """kubectl's standard variable: the kubeconfig file(s), `:`-separated, that commands use
    (confined ones may read exactly these files); unset: kubectl has no cluster."""
    sandbox_tcp_ports: Annotated[list[int], NoDecode] = Field(
        default_factory=list, validation_alias="OPSBOT_SANDBOX_TCP_PORTS"
    )
    """TCP ports confined commands may connect to (a Kubernetes API server's 443 or 6443);
    empty: no network at all."""
    alertmanager_token: str | None = Field(
        default=None, validation_alias="OPSBOT_ALERTMANAGER_TOKEN"
    )
    """Bearer token Alertmanager sends to `POST /alerts/alertmanager`; unset: no alert intake."""
    alert_channel: str | None = Field(default=None, validation_alias="OPSBOT_ALERT_CHANNEL")
    """Channel id where alert threads open (unless a route of OPSBOT_ALERT_ROUTES matches)."""
    alert_routes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="OPSBOT_ALERT_ROUTES"
    )
    """`label=value:channel`, comma-separated: the first whose label the group's common labels
    have with that value picks the channel."""
    alert_flap_limit: int = Field(default=3, ge=1, validation_alias="OPSBOT_ALERT_FLAP_LIMIT")
    """Firing episodes of one group within OPSBOT_ALERT_FLAP_WINDOW_S that each open a thread;
    more are told in the last thread, not investigated again."""
    alert_flap_window_s: float = Field(
        default=3600.0, gt=0, validation_alias="OPSBOT_ALERT_FLAP_WINDOW_S"
    )
    session_close_after_s: float = Field(
        default=86_400.0, ge=0, validation_alias="OPSBOT_SESSION_CLOSE_AFTER_S"
    )
    """Seconds after its last run ended that an idle thread's agent session is set `closed`
    (bot/session_expiry.py); 0: never."""
    log_sources: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="OPSBOT_LOG_SOURCES"
    )
    prometheus_url: str | None = Field(default=None, validation_alias="OPSBOT_PROMETHEUS_URL")
    """Prometheus HTTP API base (`http://user:password@host:9090` for basic auth); unset: no
    prometheus tools."""
    prometheus_token: str | None = Field(default=None, validation_alias="OPSBOT_PROMETHEUS_TOKEN")
    """Bearer token sent to Prometheus."""
    alertmanager_url: str | None = Field(default=None, validation_alias="OPSBOT_ALERTMANAGER_URL")
    """Alertmanager base URL (its API v2 is under /api/v2); unset: no alertmanager tools."""
    alertmanager_api_token: str | None = Field(
        default=None, validation_alias="OPSBOT_ALERTMANAGER_API_TOKEN"
    )
    """Bearer token sent to Alertmanager's API (not the webhook's OPSBOT_ALERTMANAGER_TOKEN)."""
    metrics_timeout_s: float = Field(
        default=30.0, gt=0, le=600, validation_alias="OPSBOT_METRICS_TIMEOUT_S"
    )
    """How long one Prometheus or Alertmanager request may take, in seconds."""

    max_iterations: int = Field(default=24, ge=1, validation_alias="OPSBOT_MAX_ITERATIONS")
    max_run_tokens: int = Field(default=400_000, ge=1, validation_alias="OPSBOT_MAX_RUN_TOKENS")
    max_context_tokens: int = Field(
        default=180_000, ge=MIN_CONTEXT_TOKENS, validation_alias="OPSBOT_MAX_CONTEXT_TOKENS"
    )
    """The prompt size an agent call aims to stay under: above 85 % of it, older tool results
    are cleared before the call (agents/context_budget.py). Below the models' 200k window, so
    the reply has room."""
    max_run_cost_usd: float = Field(default=2.0, gt=0, validation_alias="OPSBOT_MAX_RUN_COST_USD")
    max_thread_cost_usd: float = Field(
        default=10.0, gt=0, validation_alias="OPSBOT_MAX_THREAD_COST_USD"
    )
    max_identical_tool_calls: int = Field(
        default=3, ge=2, validation_alias="OPSBOT_MAX_IDENTICAL_TOOL_CALLS"
    )
    tool_output_cap: int = Field(default=16_000, ge=256, validation_alias="OPSBOT_TOOL_OUTPUT_CAP")
    shell_timeout_s: float = Field(default=120.0, gt=0, validation_alias="OPSBOT_SHELL_TIMEOUT_S")
    poll_interval_s: float = Field(default=1.0, gt=0, validation_alias="OPSBOT_POLL_INTERVAL_S")
    fault: str | None = Field(default=None, validation_alias="OPSBOT_FAULT")

    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    otel_service_name: str = Field(default="opsbot", validation_alias="OTEL_SERVICE_NAME")
    otel_console: bool = Field(default=False, validation_alias="OPSBOT_OTEL_CONSOLE")
    otel_record_content: bool = Field(default=False, validation_alias="OPSBOT_OTEL_RECORD_CONTENT")

    @field_validator("sandbox_tcp_ports", mode="before")
    @classmethod
    def _ports(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(p) for p in value.replace(",", " ").split()] if value.strip() else []
        return value

    @field_validator("approvers", "log_sources", "alert_routes", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("thinking", mode="before")
    @classmethod
    def _thinking_word(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        word = value.strip().lower() or "off"
        if word not in THINKING_MODES:
            raise ValueError(
                f"{value!r} is not a thinking mode: name {' or '.join(THINKING_MODES)}"
            )
        return word

    @field_validator("model_features", mode="before")
    @classmethod
    def _features(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        words = {part.strip().lower() for part in value.split(",") if part.strip()}
        if words == {"none"}:
            return frozenset()
        if unknown := sorted(words - set(MODEL_FEATURES)):
            raise ValueError(f"unknown feature(s) {', '.join(unknown)}: name some of "
                             f"{', '.join(MODEL_FEATURES)}, or none")  # fmt: skip
        return frozenset(words) if words else None  # blank: unset

    @field_validator("model_features")
    @classmethod
    def _known_features(cls, value: frozenset[str] | None) -> frozenset[str] | None:
        if value is not None and (unknown := sorted(value - set(MODEL_FEATURES))):
            raise ValueError(f"unknown feature(s) {', '.join(unknown)}")
        return value

    @field_validator("alertmanager_token")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

    @field_validator("alert_routes")
    @classmethod
    def _routes(cls, value: list[str]) -> list[str]:
        for route in value:
            if not ALERT_ROUTE.fullmatch(route):
                raise ValueError(f"{route!r} is not label=value:channel (e.g. team=payments:C0PAY)")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slash_terminated(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("anthropic_base_url", "bedrock_base_url", "vertex_base_url")
    @classmethod
    def _model_base(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host, e.g. http://127.0.0.1:11434")
        return value.strip()

    @field_validator("prometheus_url", "alertmanager_url", "github_api_url", "gitlab_url")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host, e.g. http://127.0.0.1:9090")
        try:
            parts.port  # noqa: B018  (raises for a port that is not a number)
        except ValueError as bad:
            raise ValueError(f"bad port: {bad}") from None
        if parts.query or parts.fragment:
            raise ValueError("must be a base URL without ?query or #fragment")
        return value.strip().rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+", "postgres:")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        if value.startswith("postgres:"):
            return "postgresql:" + value[len("postgres:") :]
        return value

    @field_validator("policy_file", "mcp_config")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_file():
            raise ValueError(f"{value} is not a file")
        return value.expanduser() if value is not None else None

    @field_validator("workspace")
    @classmethod
    def _existing_directory(cls, value: Path) -> Path:
        resolved = value.expanduser().resolve()
        if not resolved.is_dir():
            raise ValueError(f"{resolved} is not a directory")
        return resolved


ALERT_ROUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=[^:,]*:[A-Za-z0-9_-]+")


def _variable_for(field_name: str) -> str:
    field = Settings.model_fields.get(field_name)
    alias = field.validation_alias if field is not None else None
    return alias if isinstance(alias, str) else field_name.upper()


def load_settings(**overrides: Any) -> Settings:
    """Read settings; bad values raise one `ConfigError` naming every bad variable (one line)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append((_variable_for(name), message))
        raise ConfigError.of_all(problems) from None
