"""An MCP server that dies between calls is found by the idle connection's ping and reopened,
so the next call reaches the new process instead of failing with an unknown outcome."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from tests.mcp_servers.running import read_calls, started_hub, stdio_config
from tools.base import ToolContext
from tools.mcp import connection

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
async def test_a_server_that_died_while_idle_is_reopened_before_the_next_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
) -> None:
    monkeypatch.setattr(connection, "PING_INTERVAL_S", 0.3)
    calls = tmp_path / "calls.jsonl"
    async with started_hub(stdio_config("ops", calls, allow=("get_*",))) as hub:
        status = hub.get("mcp__ops__get_status")
        assert status is not None
        ctx = ToolContext(workspace=tmp_path)
        first = await status.run({"service": "api"}, ctx)
        assert first.error is None, first
        os.kill(read_calls(calls)[0]["pid"], sig)
        ops = hub.connections["ops"]
        for _ in range(100):  # the ping finds it; the backoff's first wait is 0.5 s
            await asyncio.sleep(0.1)
            if ops.status.state == "down":
                break
        assert ops.status.state == "down", ops.status
        assert "ping" in ops.status.detail
        for _ in range(100):
            await asyncio.sleep(0.1)
            if ops.status.state == "connected":
                break
        second = await status.run({"service": "api"}, ctx)
        assert second.error is None, second
    pids = [c["pid"] for c in read_calls(calls)]
    assert len(pids) == 2, pids
    assert pids[0] != pids[1], "the second call reached a new process"
