"""`opsbot mcp list`: the configured MCP servers, their state, their tools with the verdict of
each, and what each agent's tool definitions cost per model call."""

from __future__ import annotations

import sys
from typing import TextIO

from agents.specs import AGENT_NAMES, LOG_ANALYZER, default_agents
from agents.tool_setup import load_mcp_servers
from agents.versioning import APP_VERSION
from core.settings import Settings
from tools.mcp.hub import CHARS_PER_TOKEN, McpHub, definition_tokens
from tools.mcp.toolset import hints
from tools.registry import default_tools

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
    try:
        await hub.start()
        _print_servers(hub, out)
        _print_agents(hub, settings, out)
    finally:
        await hub.close()
    connected = all(c.status.state == "connected" for c in hub.connections.values())
    return 0 if connected else 1


def _print_servers(hub: McpHub, out: TextIO) -> None:
    for name, connection in hub.connections.items():
        status = connection.status
        config = connection.config
        state = (f"connected, protocol {status.protocol}" if status.state == "connected"
                 else f"NOT CONNECTED: {status.detail or status.state}")  # fmt: skip
        agents = ", ".join(config.agents) if config.agents is not None else "every agent"
        print(f"{name}  ({config.transport}: {config.target()})", file=out)
        print(f"  {state}; for {agents}; calls time out after {config.timeout_s:g} s; "
              f"annotations {'trusted' if config.trust_annotations else 'not trusted'}",
              file=out)  # fmt: skip
        for entry in (e for e in hub.entries if e.server == name):
            info = next(t for t in status.tools if t.name == entry.name)
            said = f"  [server says: {', '.join(hints(info))}]" if hints(info) else ""
            print(f"  {entry.tool.name}: {VERDICT_WORDS[entry.verdict.kind]} "
                  f"({entry.verdict.rule}){said}", file=out)  # fmt: skip


def _print_agents(hub: McpHub, settings: Settings, out: TextIO) -> None:
    agents = default_agents(default_tools(hub.tools()), settings, hub)
    print(f"tool definitions per model call (about {CHARS_PER_TOKEN} characters per token):",
          file=out)  # fmt: skip
    for name, spec in agents.items():
        mcp_tools = hub.tools_for(name, only_allowed=name == LOG_ANALYZER)
        total = definition_tokens(spec.tools)
        print(f"  {name}: {len(spec.tools)} tools, about {total} tokens, of which "
              f"{len(mcp_tools)} MCP tools, about {definition_tokens(mcp_tools)} tokens",
              file=out)  # fmt: skip
