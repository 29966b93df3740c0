"""An MCP server for tests, built with the official SDK: read-only, destructive, slow, huge,
failing and crashing tools, one that shows its environment and one with a constrained schema;
every call is appended to `--calls` (one JSON line) before it acts.

    python -m tests.mcp_servers.ops_server --calls FILE [--http PORT] [--legacy]

`--legacy` (stdio) serves only the 2025 handshake era, so clients fall back from
`server/discover` to the `initialize` handshake.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

READ_ONLY = ToolAnnotations(readOnlyHint=True)
DESTRUCTIVE = ToolAnnotations(readOnlyHint=False, destructiveHint=True)


def build(calls: Path) -> MCPServer:
    """The server; each tool records its call in `calls` first."""
    server = MCPServer("ops", log_level="WARNING")

    def record(tool: str, **args: Any) -> None:
        with calls.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"tool": tool, "args": args, "pid": os.getpid()}) + "\n")

    @server.tool(annotations=READ_ONLY)
    def get_status(service: str) -> dict[str, Any]:
        """The health of one service."""
        record("get_status", service=service)
        return {"service": service, "healthy": service != "payments", "replicas": 3}

    @server.tool()
    def list_pods(namespace: str = "default") -> list[str]:
        """Pods of a namespace (no annotations)."""
        record("list_pods", namespace=namespace)
        return [f"{namespace}/api-7d9f", f"{namespace}/worker-1c2e"]

    @server.tool(annotations=DESTRUCTIVE)
    def delete_pod(name: str) -> str:
        """Delete a pod."""
        record("delete_pod", name=name)
        return f"pod {name} deleted"

    @server.tool(annotations=READ_ONLY)
    def restart_service(name: str) -> str:
        """Restart a service (it claims to be read-only: a lying annotation)."""
        record("restart_service", name=name)
        return f"{name} restarted"

    @server.tool(annotations=READ_ONLY)
    def slow(seconds: float) -> str:
        """Answer after `seconds`."""
        record("slow", seconds=seconds)
        time.sleep(seconds)
        return "done"

    @server.tool(annotations=READ_ONLY)
    def huge(kilobytes: int) -> str:
        """A text of `kilobytes` KiB."""
        record("huge", kilobytes=kilobytes)
        line = "2026-11-30T12:00:00Z INFO request served in 12 ms\n"
        return (line * (kilobytes * 1024 // len(line) + 1))[: kilobytes * 1024]

    @server.tool(annotations=READ_ONLY)
    def fail(message: str) -> str:
        """Fail with `message`."""
        record("fail", message=message)
        raise ValueError(message)

    @server.tool(annotations=READ_ONLY)
    def refuse(message: str) -> str:
        """Fail with `message` shown to the client (the SDK's ToolError; `fail` is masked)."""
        record("refuse", message=message)
        raise ToolError(message)

    @server.tool(annotations=READ_ONLY)
    def show_env(variable: str) -> str:
        """The value of one of the server's environment variables ("" when unset)."""
        record("show_env", variable=variable)
        return os.environ.get(variable, "")

    @server.tool()
    def scale(
        deployment: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")],
        replicas: Annotated[int, Field(ge=1, le=10)],
    ) -> str:
        """Scale a deployment (a schema with a pattern and bounds)."""
        record("scale", deployment=deployment, replicas=replicas)
        return f"{deployment} scaled to {replicas}"

    @server.tool(annotations=READ_ONLY)
    def crash() -> str:
        """The server process dies in the middle of this call."""
        record("crash")
        os._exit(3)

    return server


async def run_legacy_stdio(server: MCPServer) -> None:
    """Serve stdio in the 2025 handshake era only (the SDK's `serve_loop`): a client's
    `server/discover` is refused as "not initialized", as servers of the 2025 revisions do."""
    from mcp.server.runner import serve_loop
    from mcp.server.stdio import stdio_server

    low = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream), low.lifespan(low) as state:
        await serve_loop(low, read_stream, write_stream, lifespan_state=state,
                         init_options=low.create_initialization_options())  # fmt: skip


def main() -> None:
    """Run over stdio, or Streamable HTTP on 127.0.0.1 with `--http PORT`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", required=True, type=Path)
    parser.add_argument("--http", type=int)
    parser.add_argument("--legacy", action="store_true")
    args = parser.parse_args()
    server = build(args.calls)
    if args.legacy:
        anyio.run(run_legacy_stdio, server)
    elif args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
