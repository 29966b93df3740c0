"""One MCP server's connection: opened, listed, kept and reopened with backoff.

The official SDK's `mcp.Client` (2.x) negotiates the protocol itself (`mode="auto"`: the
2026-07-28 stateless revision through `server/discover`, else the 2025 `initialize`
handshake). Its context must be entered and left in one task, so a supervisor task owns it;
calls from any task go through `call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Literal, TextIO

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CONNECTION_CLOSED, CallToolResult, Implementation
from mcp.types import Tool as McpToolInfo

from tools.mcp.config import McpServerConfig

log = logging.getLogger(__name__)

START_WAIT_S = 10.0
"""How long a start waits for a server before it goes on (the server keeps connecting)."""
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Waits between reconnection attempts; the last repeats."""
PING_INTERVAL_S = 30.0
"""How often an idle connection is checked (MCP `ping`)."""
PING_TIMEOUT_S = 10.0
RECONNECT_WAIT_S = 5.0
"""How long a call waits for a lost connection to come back before it fails."""
MAX_LISTED_TOOLS = 500

State = Literal["connecting", "connected", "down", "closed"]


class McpCallError(Exception):
    """A call that did not reach a result: the server is down, crashed or timed out.
    The message is one line for the model and the thread."""


@dataclass(frozen=True)
class ConnectionStatus:
    """What `opsbot mcp list` and the start line show for a server."""

    state: State
    detail: str
    protocol: str | None
    tools: tuple[McpToolInfo, ...]


def describe_error(error: BaseException) -> str:
    """One line for an exception, the innermost cause of an exception group first."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(error).__name__}: {text}" if type(error).__name__ not in text else text


HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)
"""The SDK's defaults for MCP over HTTP: a response stream may stay open for minutes."""


def _transport(config: McpServerConfig, errlog: TextIO, stack: AsyncExitStack) -> Any:
    """The SDK transport for `config`: a stdio process (its stderr to `errlog`) or Streamable
    HTTP with the configured headers (the HTTP client is closed with `stack`)."""
    if config.transport == "stdio":
        assert config.command is not None
        params = StdioServerParameters(
            command=config.command, args=list(config.args), env=dict(config.env) or None,
            cwd=config.cwd,
        )  # fmt: skip
        return stdio_client(params, errlog=errlog)
    assert config.url is not None
    http = httpx2.AsyncClient(headers=dict(config.headers), timeout=HTTP_TIMEOUT)
    stack.push_async_callback(http.aclose)
    return streamable_http_client(config.url, http_client=http)


class McpConnection:
    """The connection to one configured server (see the module docstring)."""

    def __init__(
        self, config: McpServerConfig, version: str = "", errlog: TextIO | None = None,
        on_listed: Callable[[McpConnection], None] | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        self._on_listed = on_listed
        self._version = version
        self._errlog = errlog
        self._state: State = "connecting"
        self._detail = ""
        self._protocol: str | None = None
        self._tools: tuple[McpToolInfo, ...] = ()
        self._client: Client | None = None
        self._up = asyncio.Event()
        self._tried = asyncio.Event()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def status(self) -> ConnectionStatus:
        """The connection's state now."""
        return ConnectionStatus(self._state, self._detail, self._protocol, self._tools)

    async def start(self, wait_s: float = START_WAIT_S) -> ConnectionStatus:
        """Start the supervisor; return once the first attempt has connected or failed (or
        after `wait_s` seconds, still connecting)."""
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name=f"mcp {self.config.name}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tried.wait(), wait_s)
        return self.status

    async def close(self) -> None:
        """Close the session (a stdio server's process ends with it)."""
        self._closing = True
        self._state = "closed"
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def call(self, name: str, arguments: dict[str, Any], timeout_s: float) -> CallToolResult:
        """Call tool `name` once; raises `McpCallError` when no result comes back (the server is
        down and does not return within `RECONNECT_WAIT_S`, the call failed in transport, or
        `timeout_s` seconds passed). A call is never repeated: it may have taken effect."""
        if self._closing:
            raise McpCallError(f"MCP server {self.config.name} is shut down")
        if not self._up.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), min(RECONNECT_WAIT_S, timeout_s))
        client = self._client
        if client is None or not self._up.is_set():
            why = f" ({self._detail})" if self._detail else ""
            raise McpCallError(f"MCP server {self.config.name} is not connected{why}")
        try:
            return await asyncio.wait_for(client.call_tool(name, arguments), timeout_s)
        except TimeoutError:
            raise McpCallError(
                f"{self.config.name}/{name} gave no result within {timeout_s:g} s (it may still "
                "run on the server)"
            ) from None
        except MCPError as error:
            if error.error.code != CONNECTION_CLOSED:  # the server answered: a JSON-RPC error
                raise McpCallError(
                    f"{self.config.name}/{name} was refused by the server: {error.error.message}"
                ) from None
            self._lose(describe_error(error))
            raise McpCallError(
                f"{self.config.name}/{name} failed in transport, its outcome is unknown: "
                f"{describe_error(error)}"
            ) from None
        except Exception as error:
            self._lose(describe_error(error))
            raise McpCallError(
                f"{self.config.name}/{name} failed in transport, its outcome is unknown: "
                f"{describe_error(error)}"
            ) from None

    def _lose(self, why: str) -> None:
        self._detail = why
        self._up.clear()
        self._lost.set()

    async def _supervise(self) -> None:
        attempt = 0
        while not self._closing:
            self._lost.clear()
            try:
                await self._connected_session()
                attempt = 0
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                self._detail = self._no_answer()
                log.warning("MCP server %s: %s", self.config.name, self._detail)
            except Exception as error:
                self._detail = describe_error(error)
                log.warning("MCP server %s: %s", self.config.name, self._detail)
            finally:
                self._client = None
                self._up.clear()
                if not self._closing:
                    self._state = "down"
                self._tried.set()
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1

    def _no_answer(self) -> str:
        return (f"no answer to the MCP handshake and tool listing within "
                f"{self.config.connect_timeout_s:g} s (connect_timeout_s)")  # fmt: skip

    def _overdue(self) -> None:
        """The connect deadline passed: say so now (tearing a stdio process down takes seconds
        more before the attempt ends)."""
        if not self._up.is_set() and not self._closing:
            self._state, self._detail = "down", self._no_answer()
            self._tried.set()

    async def _connected_session(self) -> None:
        info = Implementation(name="opsbot", version=self._version or "0")
        overdue = asyncio.get_running_loop().call_later(
            self.config.connect_timeout_s, self._overdue
        )
        try:
            await self._session(info)
        finally:
            overdue.cancel()

    async def _session(self, info: Implementation) -> None:
        async with (
            AsyncExitStack() as stack,
            asyncio.timeout(self.config.connect_timeout_s) as deadline,
        ):
            transport = _transport(self.config, self._errlog or sys.stderr, stack)
            client = Client(transport, mode="auto", client_info=info)
            async with client:
                tools = await _list_tools(client)
                deadline.reschedule(None)
                self._client, self._tools, self._protocol = client, tools, client.protocol_version
                self._state, self._detail = "connected", ""
                if self._on_listed is not None:
                    self._on_listed(self)
                self._up.set()
                self._tried.set()
                await self._watch(client)

    async def _watch(self, client: Client) -> None:
        """Until a call loses the connection, ping the idle server every `PING_INTERVAL_S`, so
        one that died between calls is reopened before the next call, not found by it."""
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), PING_INTERVAL_S)
                return
            try:
                await asyncio.wait_for(client.send_ping(), PING_TIMEOUT_S)
            except Exception as error:
                self._lose(f"no answer to a ping: {describe_error(error)}")


async def _list_tools(client: Client) -> tuple[McpToolInfo, ...]:
    tools: list[McpToolInfo] = []
    cursor: str | None = None
    while len(tools) < MAX_LISTED_TOOLS:
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tuple(tools[:MAX_LISTED_TOOLS])
