"""`opsbot mcp list`: the configured MCP servers, their state, their tools with the verdict of
each, and what each agent's tool definitions cost per model call."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, ClassVar, TextIO

import anthropic
from anthropic.types import MessageParam

from agents.model_client import ModelClient, make_client, model_features
from agents.model_errors import describe_error as describe_model_error
from agents.specs import AGENT_NAMES, LOG_ANALYZER, default_agents
from agents.tool_setup import load_mcp_servers
from agents.versioning import APP_VERSION
from core.errors import ConfigError
from core.redact import Redactor
from core.settings import Settings
from tools.base import Tool
from tools.mcp.hub import CHARS_PER_TOKEN, McpHub, definition_tokens
from tools.mcp.toolset import hints
from tools.registry import default_tools

MANY_TOKENS = 2_000
"""MCP tool definitions above this many tokens per call are worth narrowing."""
VERDICT_WORDS = {"allow": "runs at once", "approve": "asks for approval", "deny": "denied"}


async def list_servers(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Connect every server of OPSBOT_MCP_CONFIG, print what `opsbot mcp list` shows, close
    them. Returns 0 when every server connected, 1 when one did not, 2 when none is
    configured. Raises ConfigError for a bad file."""
    servers = load_mcp_servers(settings, AGENT_NAMES)
    if not servers:
        print("no MCP servers: set OPSBOT_MCP_CONFIG to a JSON or YAML file with mcpServers "
              "(docs/operating.md)", file=out)  # fmt: skip
        return 2
    hub = McpHub(servers, version=APP_VERSION, errlog=sys.stderr)
    longest = max(server.connect_timeout_s for server in servers)
    print(f"connecting to {len(servers)} MCP server(s), up to {longest:g} s...", file=sys.stderr,
          flush=True)  # fmt: skip
    try:
        await hub.start(wait_s=longest + 1)
        connected = all(c.status.state == "connected" for c in hub.connections.values())
        _print_servers(hub, out)
        await _print_agents(hub, settings, out)
    finally:
        await hub.close()
    return 0 if connected else 1


def _print_servers(hub: McpHub, out: TextIO) -> None:
    shown = Redactor()  # a token written into args literally stays off the terminal
    for name, connection in hub.connections.items():
        status = connection.status
        config = connection.config
        state = (f"connected, protocol {status.protocol}" if status.state == "connected"
                 else f"NOT CONNECTED: {status.detail or status.state}")  # fmt: skip
        agents = ", ".join(config.agents) if config.agents is not None else "every agent"
        print(f"{name}  ({config.transport}: {shown.redact(config.target())})", file=out)
        print(f"  {state}; for {agents}; calls time out after {config.timeout_s:g} s; "
              f"annotations {'trusted' if config.trust_annotations else 'not trusted'}",
              file=out)  # fmt: skip
        for entry in (e for e in hub.entries if e.server == name):
            info = next(t for t in status.tools if t.name == entry.name)
            said = f"  [server says: {', '.join(hints(info))}]" if hints(info) else ""
            given = [agent for agent in AGENT_NAMES if entry.tool in hub.tools_for(
                agent, only_allowed=agent == LOG_ANALYZER)]  # fmt: skip
            to = f"; offered to {', '.join(given)}" if given else "; offered to no agent"
            print(f"  {entry.tool.name}: {VERDICT_WORDS[entry.verdict.kind]} "
                  f"({entry.verdict.rule}){to}{said}", file=out)  # fmt: skip


async def _print_agents(hub: McpHub, settings: Settings, out: TextIO) -> None:
    agents = default_agents(default_tools(more=hub.get), settings, hub)
    counter = TokenCounter(settings)
    try:
        sizes = {}
        for name, spec in agents.items():
            mcp_tools = hub.tools_for(name, only_allowed=name == LOG_ANALYZER)
            sizes[name] = (spec, mcp_tools, await counter.count(spec.all_tools()),
                           await counter.count(mcp_tools))  # fmt: skip
    finally:
        await counter.close()
    how = (
        "counted with the Messages API's count_tokens"
        if counter.failure is None
        else f"estimated at {CHARS_PER_TOKEN} characters a token; count_tokens: {counter.failure}"
    )
    print(f"tool definitions sent with every model call ({how}):", file=out)
    for name, (spec, mcp_tools, total, of_mcp) in sizes.items():
        print(f"  {name}: {len(spec.all_tools())} tools, {total} tokens, of which {len(mcp_tools)} "
              f"MCP tools, {of_mcp} tokens", file=out)  # fmt: skip
        if of_mcp > MANY_TOKENS:
            print(f"    that is many for every call: narrow the servers with agents or deny "
                  f"(over {MANY_TOKENS} tokens of MCP tools)", file=out)  # fmt: skip
    if any(spec.name == LOG_ANALYZER and not mcp for spec, mcp, _, _ in sizes.values()):
        print("  log_analyzer only looks: it gets the tools that run at once (allow globs, or "
              "readOnlyHint with trust_annotations)", file=out)  # fmt: skip


class TokenCounter:
    """Input tokens that tool definitions add to a call: the difference of two
    `POST /v1/messages/count_tokens` calls (https://docs.anthropic.com/en/api/messages-count-tokens),
    with and without the tools; once that fails (no key, no network), an estimate
    (`definition_tokens`) and `failure` says why."""

    PROBE: ClassVar[list[MessageParam]] = [{"role": "user", "content": "status?"}]

    def __init__(self, settings: Settings) -> None:
        self.failure: str | None = None
        if settings.model_provider == "anthropic" and not settings.anthropic_api_key:
            self.failure = "no ANTHROPIC_API_KEY"
        elif "token-counting" not in model_features(settings):
            self.failure = f"not offered by {settings.model_provider} (OPSBOT_MODEL_FEATURES)"
        self._model = settings.model
        self._client: ModelClient | None = None
        try:
            self._client = make_client(settings, timeout=15.0)
        except ConfigError as error:
            self.failure = self.failure or str(error)
        self._base: int | None = None

    async def count(self, tools: Sequence[Tool[Any]]) -> int:
        """Tokens of `tools`' definitions (0 for none)."""
        if not tools:
            return 0
        if self.failure is None and self._client is not None:
            try:
                if self._base is None:
                    self._base = await self._measure([])
                return await self._measure([t.definition() for t in tools]) - self._base
            except anthropic.AnthropicError as error:
                self.failure = describe_model_error(error)
        return definition_tokens(tools)

    async def _measure(self, tools: list[dict[str, Any]]) -> int:
        assert self._client is not None
        counted = await self._client.messages.count_tokens(
            model=self._model, messages=self.PROBE, tools=tools  # type: ignore[arg-type]
        ) if tools else await self._client.messages.count_tokens(
            model=self._model, messages=self.PROBE
        )  # fmt: skip
        return counted.input_tokens

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.close()
