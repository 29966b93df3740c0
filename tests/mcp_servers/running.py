"""Running the test MCP server for tests: stdio configs, a Streamable HTTP process on a free
port, a plain HTTP server that answers 404, a port where nothing listens, the calls file."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from tools.mcp.config import McpServerConfig
from tools.mcp.hub import McpHub

ROOT = Path(__file__).resolve().parents[2]
SERVER = ("-m", "tests.mcp_servers.ops_server")


def server_args(calls: Path, *extra: str) -> list[str]:
    """The arguments after the interpreter that run the ops server recording into `calls`."""
    return [*SERVER, "--calls", str(calls), *extra]


def stdio_config(name: str, calls: Path, *extra: str, **fields: Any) -> McpServerConfig:
    """A stdio server config for the ops server (`extra`: e.g. "--legacy"; `fields`: allow,
    approve, deny, timeout_s, trust_annotations, env, ...)."""
    args = tuple(server_args(calls, *extra))
    return McpServerConfig(name=name, command=sys.executable, args=args, cwd=str(ROOT), **fields)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_port(port: int, process: asyncio.subprocess.Process, timeout_s: float = 30) -> None:
    """Return once 127.0.0.1:`port` accepts connections; AssertionError when `process` ends
    first or `timeout_s` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if process.returncode is not None:
            raise AssertionError(f"the server ended with {process.returncode} before listening")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listened on port {port} within {timeout_s} s")


@asynccontextmanager
async def start_http_server(calls: Path) -> AsyncIterator[str]:
    """The ops server over Streamable HTTP in its own process; yields its URL
    (http://127.0.0.1:PORT/mcp) once it listens, and ends the process afterwards."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, *server_args(calls, "--http", str(port)), cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await wait_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


@asynccontextmanager
async def not_found_server() -> AsyncIterator[int]:
    """A plain HTTP server on 127.0.0.1 that answers 404 to everything; yields its port."""
    runner = web.AppRunner(web.Application())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@asynccontextmanager
async def started_hub(
    *configs: McpServerConfig, wait_s: float | None = None
) -> AsyncIterator[McpHub]:
    """An `McpHub` of `configs`, started (each server gets `wait_s` s, else the default) and
    closed afterwards."""
    hub = McpHub(configs, version="test")
    try:
        await (hub.start() if wait_s is None else hub.start(wait_s))
        yield hub
    finally:
        await hub.close()


def read_calls(calls: Path) -> list[dict[str, Any]]:
    """Every call the ops server recorded in `calls`, in order ([] before the first)."""
    if not calls.exists():
        return []
    return [json.loads(line) for line in calls.read_text().splitlines() if line.strip()]
