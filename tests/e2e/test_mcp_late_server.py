"""An MCP server that answers after opsbot's start (an `npx` download, a server restarted
later) brings its tools then: the start line says it is still connecting, and once it answers
the agents get its tools and calls reach it, without a restart of opsbot."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

import pytest

from agents.specs import CODING, LOG_ANALYZER, default_agents
from core.settings import Settings
from tests.mcp_servers.running import ROOT, read_calls, server_args
from tools.base import ToolContext
from tools.mcp.config import McpServerConfig
from tools.mcp.connection import McpCallError
from tools.mcp.hub import McpHub
from tools.registry import default_tools

pytestmark = pytest.mark.e2e


def late_server(calls: Path, after_s: float, **fields: object) -> McpServerConfig:
    """The ops server, started `after_s` seconds after its process."""
    command = " ".join(shlex.quote(part) for part in (sys.executable, *server_args(calls)))
    script = f"sleep {after_s}; exec {command}"
    return McpServerConfig(name="late", command="sh", args=("-c", script), cwd=str(ROOT),
                           **fields)  # type: ignore[arg-type]  # fmt: skip


async def until(condition: object, timeout_s: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("after_s", [2.0, 4.0])
async def test_a_server_that_answers_late_brings_its_tools_then(
    tmp_path: Path, after_s: float
) -> None:
    calls = tmp_path / "calls.jsonl"
    hub = McpHub([late_server(calls, after_s, allow=("get_*",), approve=("delete_*",))])
    try:
        await hub.start(wait_s=0.5)
        [line] = hub.start_lines()
        assert line.startswith("MCP late: no answer yet; still connecting"), line
        settings = Settings(_env_file=None, workspace=tmp_path)
        agents = default_agents(default_tools(more=hub.get), settings, hub)
        assert agents[LOG_ANALYZER].tool("mcp__late__get_status") is None

        await until(lambda: hub.get("mcp__late__get_status") is not None)
        assert hub.start_lines()[0].startswith("MCP late: connected"), hub.start_lines()
        investigator = agents[LOG_ANALYZER].tool("mcp__late__get_status")
        assert investigator is not None
        assert agents[LOG_ANALYZER].tool("mcp__late__delete_pod") is None  # it only looks
        assert agents[CODING].tool("mcp__late__delete_pod") is not None
        names = [d["name"] for d in agents[CODING].tool_definitions()]
        assert "mcp__late__delete_pod" in names
        result = await investigator.run({"service": "api"}, ToolContext(workspace=tmp_path))
        assert result.error is None, result
    finally:
        await hub.close()
    assert [c["tool"] for c in read_calls(calls)] == ["get_status"]


async def test_a_call_to_a_server_still_starting_waits_briefly_then_says_why(
    tmp_path: Path,
) -> None:
    """Tools exist only once listed; a call on a connection that dropped waits for it a few
    seconds (RECONNECT_WAIT_S) and then fails as a tool error naming the server."""
    calls = tmp_path / "calls.jsonl"
    hub = McpHub([late_server(calls, 30.0, allow=("get_*",))])
    try:
        await hub.start(wait_s=0.5)
        assert hub.get("mcp__late__get_status") is None
        assert hub.tools_for(CODING) == []
        with pytest.raises(McpCallError) as raised:
            await hub.connections["late"].call("get_status", {"service": "x"}, timeout_s=1.0)
        assert "MCP server late is not connected" in str(raised.value)
    finally:
        await hub.close()
    assert not calls.exists() or read_calls(calls) == []
