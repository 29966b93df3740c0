"""Every configured MCP server: connected together at start, their tools gated and named,
chosen per agent, closed together at shutdown."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from tools.base import Tool
from tools.mcp.config import McpServerConfig
from tools.mcp.connection import START_WAIT_S, McpConnection
from tools.mcp.toolset import Verdict, mcp_tool, model_name, verdict_for

log = logging.getLogger(__name__)
CHARS_PER_TOKEN = 4
"""For the size of tool definitions: Anthropic's rule of thumb for English text and JSON."""


@dataclass(frozen=True)
class McpToolEntry:
    """One MCP tool as opsbot uses it."""

    server: str
    name: str
    verdict: Verdict
    tool: Tool[Any]


class McpHub:
    """The MCP servers of one process (see the module docstring). A server's tools are
    (re)gated each time it lists them, so one that answers after the start (an `npx` download,
    a restarted server) brings its tools then."""

    def __init__(self, configs: Iterable[McpServerConfig], version: str = "",
                 errlog: TextIO | None = None) -> None:  # fmt: skip
        self.connections = {
            c.name: McpConnection(c, version, errlog, on_listed=self._listed) for c in configs
        }
        self._by_server: dict[str, list[McpToolEntry]] = {}
        self._started = False

    @property
    def entries(self) -> list[McpToolEntry]:
        """Every MCP tool of every server that has listed its tools, in configuration order."""
        return [entry for name in self.connections for entry in self._by_server.get(name, [])]

    async def start(self, wait_s: float = START_WAIT_S) -> None:
        """Connect every server at once; return when each has listed its tools or failed, or
        after `wait_s` seconds (those still connecting keep trying in the background)."""
        await asyncio.gather(*(c.start(wait_s) for c in self.connections.values()))
        self._started = True

    def get(self, name: str) -> Tool[Any] | None:
        """The MCP tool the model knows as `name`, if a server lists it now."""
        return next((entry.tool for entry in self.entries if entry.tool.name == name), None)

    def _listed(self, connection: McpConnection) -> None:
        """Gate the tools `connection` listed. Two tools whose names become one model name
        (`a.b` and `a_b`) are both left out, whatever order the server lists them in; two
        servers' tools never share a name (server names hold no `__`, tools.mcp.config)."""
        server = connection.config.name
        named = Counter(model_name(server, info.name) for info in connection.status.tools)
        entries = []
        for info in connection.status.tools:
            name = model_name(server, info.name)
            if named[name] > 1:
                log.warning("MCP %s: tool %r left out: another of its tools is also named %s",
                            server, info.name[:80], name)  # fmt: skip
                continue
            verdict = verdict_for(connection.config, info)
            entries.append(McpToolEntry(server, info.name, verdict,
                                        mcp_tool(connection, info, verdict)))  # fmt: skip
        self._by_server[server] = entries
        if self._started:
            log.info("%s", self._line(server))

    async def close(self) -> None:
        """Close every session (stdio servers end)."""
        await asyncio.gather(*(c.close() for c in self.connections.values()))

    def tools(self) -> list[Tool[Any]]:
        """Every MCP tool, denied ones included (a call of one is refused with the rule)."""
        return [entry.tool for entry in self.entries]

    def tools_for(self, agent: str, only_allowed: bool = False) -> list[Tool[Any]]:
        """The tools `agent` is given: of servers that list it (or list no agents), never
        denied ones, and only those that run at once when `only_allowed`."""
        chosen = []
        for entry in self.entries:
            agents = self.connections[entry.server].config.agents
            if agents is not None and agent not in agents:
                continue
            if entry.verdict.kind == "deny" or (only_allowed and entry.verdict.kind != "allow"):
                continue
            chosen.append(entry.tool)
        return chosen

    def start_lines(self) -> list[str]:
        """One line per server: connected with its tools by verdict, or why not yet."""
        return [self._line(name) for name in self.connections]

    def _line(self, name: str) -> str:
        status = self.connections[name].status
        if status.state == "connecting":
            return (f"MCP {name}: no answer yet; still connecting in the background, its tools "
                    "come when it answers")  # fmt: skip
        if status.state != "connected":
            why = status.detail or status.state
            return (f"MCP {name}: not connected ({why}); retrying in the background, its tools "
                    "come when it answers")  # fmt: skip
        counts = {kind: 0 for kind in ("allow", "approve", "deny")}
        for entry in self._by_server.get(name, []):
            counts[entry.verdict.kind] += 1
        return (
            f"MCP {name}: connected ({status.protocol}), {len(status.tools)} tools: "
            f"{counts['allow']} run at once, {counts['approve']} ask for approval, "
            f"{counts['deny']} denied"
        )


def definition_tokens(tools: Iterable[Tool[Any]]) -> int:
    """About how many input tokens these tools' definitions add to every model call
    (`CHARS_PER_TOKEN` characters of their JSON per token)."""
    text = json.dumps([tool.definition() for tool in tools], ensure_ascii=False)
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
