"""What tools get from settings: the command policy, the redactor and the kernel sandbox,
each failing at start with one line naming the variable (ConfigError)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from core.errors import ConfigError
from core.redact import Redactor
from core.settings import Settings
from tools.confine import DEFAULT_LOG_ROOTS, Confinement
from tools.confine import probe as confinement_probe
from tools.mcp.config import McpConfigError, McpServerConfig, load_mcp_config
from tools.policy import CommandPolicy


def load_policy(settings: Settings) -> CommandPolicy:
    """The command policy, as one clear error when the user's file is wrong."""
    try:
        return CommandPolicy.load(settings.policy_file)
    except (ValueError, KeyError, TypeError, yaml.YAMLError) as error:
        raise ConfigError("OPSBOT_POLICY_FILE", str(error).replace("\n", " ")) from None


def load_redactor(settings: Settings) -> Redactor:
    """The shipped secret patterns plus the user's (OPSBOT_REDACT_PATTERNS)."""
    try:
        own = (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret,
               settings.anthropic_api_key, settings.alertmanager_token, settings.prometheus_token,
               settings.alertmanager_api_token, settings.aws_bearer_token_bedrock,
               settings.github_token, settings.gitlab_token,
               settings.github_app_private_key)  # fmt: skip
        return Redactor(
            extra_patterns=tuple(settings.redact_patterns.items()),
            own_secrets=tuple(secret for secret in own if secret),
        )
    except re.error as error:
        raise ConfigError("OPSBOT_REDACT_PATTERNS", f"bad pattern: {error}") from None


def sqlite_files(database_url: str) -> tuple[Path, ...]:
    """The SQLite database file of a URL and its journal files (none for other databases)."""
    if not database_url.startswith("sqlite:///"):
        return ()
    path = Path(database_url.removeprefix("sqlite:///").split("?", 1)[0])
    return (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")))


def log_roots(settings: Settings) -> tuple[Path, ...]:
    """The directories of the absolute log sources (up to their first glob character)."""
    roots: list[Path] = []
    for source in settings.log_sources:
        if not source.startswith("/"):
            continue  # relative sources lie in the workspace
        fixed = re.split(r"[*?\[]", source, maxsplit=1)[0]
        roots.append(Path(fixed) if fixed.endswith("/") else Path(fixed).parent)
    return tuple(dict.fromkeys(roots))


def load_confinement(settings: Settings) -> tuple[Confinement | None, str]:
    """The kernel sandbox for unapproved commands, or None (every command then needs
    approval), and the one line that says which; raises ConfigError when OPSBOT_SANDBOX is
    required and the kernel cannot confine."""
    if settings.sandbox == "off":
        return None, "no kernel sandbox (OPSBOT_SANDBOX=off): every command needs approval"
    status = confinement_probe()
    if not status.active:
        if settings.sandbox == "required":
            raise ConfigError("OPSBOT_SANDBOX", f"required, but {status.detail}")
        return None, f"{status.detail}: every command needs approval"
    ports = tuple(settings.sandbox_tcp_ports)
    confinement = Confinement(
        settings.workspace,
        read_roots=(*DEFAULT_LOG_ROOTS, *log_roots(settings)),
        hidden=sqlite_files(settings.database_url),
        tcp_ports=ports,
        network=bool(ports),
        kubeconfig=settings.kubeconfig,
    )
    network = f"TCP ports {', '.join(map(str, ports))}" if ports else "no network"
    return confinement, status.detail.replace("no network", network)


def load_mcp_servers(
    settings: Settings, known_agents: tuple[str, ...], environ: Mapping[str, str] | None = None
) -> tuple[McpServerConfig, ...]:
    """The MCP servers of OPSBOT_MCP_CONFIG (none when it is unset); one line naming the
    server and the field when the file is wrong (ConfigError)."""
    if settings.mcp_config is None:
        return ()
    try:
        return load_mcp_config(
            settings.mcp_config, os.environ if environ is None else environ, known_agents
        )
    except McpConfigError as error:
        raise ConfigError("OPSBOT_MCP_CONFIG", str(error)) from None
