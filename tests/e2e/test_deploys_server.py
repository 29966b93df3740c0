"""The sandbox `deploys` MCP server as a real process, over stdio and Streamable HTTP, through
the official SDK's Client: what the bad-deploy scenario and opsbot's MCP toolset talk to."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.e2e.dev_process import free_port, served

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "sandbox" / "scenarios" / "bad-deploy" / "deploys.json"


def stdio_params(state: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "sandbox.mcp.deploys", "--state", str(state)],
        cwd=str(ROOT),
    )


@asynccontextmanager
async def http_server(state: Path) -> AsyncIterator[str]:
    """The server on a free loopback port; its /mcp URL once the port answers."""
    port = free_port()
    args = ["-m", "sandbox.mcp.deploys", "--state", str(state), "--http", str(port)]
    process = await asyncio.create_subprocess_exec(sys.executable, *args, cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while not served(port):
            assert process.returncode is None, "the HTTP server stopped during start"
            assert time.monotonic() < deadline, "the HTTP server did not open its port"
            await asyncio.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def rollbacks(state: Path) -> list[dict[str, Any]]:
    records = json.loads(state.read_text())["deploys"]
    return [r for r in records if r.get("kind") == "rollback"]


async def exercise(client: Client, state: Path) -> None:
    """List, read, roll back once, and the errors a caller can make, on one connection."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"list_deploys", "get_deploy", "rollback_deploy"}
    hints = {name: tool.annotations for name, tool in tools.items()}
    assert hints["list_deploys"] is not None
    assert hints["list_deploys"].read_only_hint is True
    assert hints["get_deploy"] is not None
    assert hints["get_deploy"].read_only_hint is True
    assert hints["rollback_deploy"] is not None
    assert hints["rollback_deploy"].destructive_hint is True
    assert hints["rollback_deploy"].read_only_hint is False

    listed = await client.call_tool("list_deploys", {"service": "orders-api", "limit": 5})
    assert not listed.is_error
    newest = listed.structured_content["result"]
    assert [(d["id"], d["version"], d["current"]) for d in newest] == [
        ("d-2044", "3.8.0", True), ("d-2042", "3.7.2", False)]  # fmt: skip

    deploy = await client.call_tool("get_deploy", {"deploy_id": "d-2044"})
    assert not deploy.is_error
    assert deploy.structured_content["previous_version"] == "3.7.2"
    assert "+    max_size: 4" in deploy.structured_content["changes"]["config"]
    assert "max_size: 4" in text_of(deploy)

    done = await client.call_tool(
        "rollback_deploy", {"deploy_id": "d-2044", "reason": "pool of 4 exhausts at once"}
    )
    assert not done.is_error, text_of(done)
    assert done.structured_content["version"] == "3.7.2"
    assert done.structured_content["rolled_back"] == "d-2044"
    (record,) = rollbacks(state)
    assert record["from_version"] == "3.8.0"
    assert record["time"].endswith("Z")

    again = await client.call_tool("rollback_deploy", {"deploy_id": "d-2044", "reason": "again"})
    older = await client.call_tool("rollback_deploy", {"deploy_id": "d-2042", "reason": "older"})
    other = await client.call_tool("rollback_deploy", {"deploy_id": "d-2041", "reason": "stale"})
    for refused in (again, older, other):
        assert refused.is_error
        assert "not current" in text_of(refused)
    assert "orders-api runs 3.7.2 (rb-1)" in text_of(again)

    for unknown in ("d-9999", "", "../../etc/passwd"):
        got = await client.call_tool("get_deploy", {"deploy_id": unknown})
        assert got.is_error, unknown
        assert "no deploy" in text_of(got), unknown
        undo = await client.call_tool("rollback_deploy", {"deploy_id": unknown, "reason": "x"})
        assert undo.is_error, unknown
        assert "no deploy" in text_of(undo), unknown
    for bad in ({"service": "nope"}, {"limit": 0}, {"limit": -3}):
        refused = await client.call_tool("list_deploys", bad)
        assert refused.is_error, bad
    assert len(rollbacks(state)) == 1, "a refused rollback writes nothing"

    now = await client.call_tool("list_deploys", {"service": "orders-api", "limit": 1})
    assert not now.is_error, "the server still answers after the errors"
    assert now.structured_content["result"][0]["version"] == "3.7.2"


async def test_over_stdio_it_lists_reads_and_rolls_back_once(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    async with Client(stdio_params(state)) as client:
        await exercise(client, state)
    assert json.loads(SEED.read_text())["deploys"] == json.loads(state.read_text())["deploys"][:-1]


async def test_over_streamable_http_it_lists_reads_and_rolls_back_once(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    async with http_server(state) as url, Client(url) as client:
        await exercise(client, state)


async def test_an_existing_state_is_kept_and_a_reset_state_is_read_on_the_next_call(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    async with Client(stdio_params(state)) as client:
        await client.call_tool("rollback_deploy", {"deploy_id": "d-2044", "reason": "pool"})
        state.write_text(SEED.read_text())  # a person picks the incident again
        listed = await client.call_tool("list_deploys", {"service": "orders-api", "limit": 1})
        assert listed.structured_content["result"][0]["id"] == "d-2044"
    async with Client(stdio_params(state)) as client:
        await client.call_tool("rollback_deploy", {"deploy_id": "d-2044", "reason": "pool"})
    async with Client(stdio_params(state)) as client:
        listed = await client.call_tool("list_deploys", {"limit": 1})
        assert listed.structured_content["result"][0]["kind"] == "rollback"
    assert len(rollbacks(state)) == 1


@pytest.mark.parametrize(
    "before_close",
    [b"", b"not json at all\n", b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}\n'],
)
def test_the_stdio_server_exits_when_its_stdin_closes(tmp_path: Path, before_close: bytes) -> None:
    args = ["-m", "sandbox.mcp.deploys", "--state", str(tmp_path / "state.json")]
    process = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(before_close)
    process.stdin.close()
    try:
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode is not None


@pytest.mark.parametrize(
    "seed_text", ["{not json", '{"deploys": {"id": "d-1"}}', '{"deploys": [{"id": "d-1"}]}']
)
def test_a_bad_seed_stops_the_start_with_one_line(tmp_path: Path, seed_text: str) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(seed_text)
    args = ["-m", "sandbox.mcp.deploys", "--state", str(tmp_path / "s.json"), "--seed", str(seed)]
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=30,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("deploys: cannot prepare"), done.stderr
    assert not (tmp_path / "s.json").exists()
