"""`deploys`: a deploy system as an MCP server (official SDK), for the bad-deploy scenario.

    python -m sandbox.mcp.deploys --state FILE [--seed deploys.json] [--http PORT]

Tools: `list_deploys` and `get_deploy` (read-only) and `rollback_deploy` (destructive). The
state is a JSON file (`sandbox.mcp.deploy_state`), created from `--seed` (default: the
bad-deploy scenario's deploys.json) when missing. A request the state cannot serve is an MCP
tool error (`isError`), never a crashed server. Over stdio the server exits when its stdin
closes; with `--http PORT` it serves Streamable HTTP at http://127.0.0.1:PORT/mcp.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from sandbox.mcp import deploy_state

DEFAULT_SEED = Path(__file__).resolve().parent.parent / "scenarios" / "bad-deploy" / "deploys.json"
READ_ONLY = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
DESTRUCTIVE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=False
)


@contextmanager
def _tool_error() -> Iterator[None]:
    """A request the state cannot serve becomes a `ToolError`: the caller gets an `isError`
    result with the message (any other exception is a crash, and the SDK hides its text)."""
    try:
        yield
    except deploy_state.DeployError as error:
        raise ToolError(str(error)) from None


def build(state: Path) -> MCPServer:
    """The server over the state file `state` (which must exist or be seeded first)."""
    server = MCPServer(
        "deploys",
        instructions="Deploy history of the services; roll the current deploy back.",
        log_level="WARNING",
    )

    @server.tool(annotations=READ_ONLY)
    def list_deploys(service: str = "", limit: int = 10) -> list[dict[str, Any]]:
        """The newest deploys and rollbacks, newest first: id, service, version, time (UTC),
        summary and whether it is what the service runs now. `service` filters by name
        (empty: every service); `limit` is how many (at least 1)."""
        with _tool_error():
            return deploy_state.list_deploys(state, service, limit)

    @server.tool(annotations=READ_ONLY)
    def get_deploy(deploy_id: str) -> dict[str, Any]:
        """One deploy in full: what it changed (config diff, code changes), when, the version
        it replaced (`previous_version`) and whether it is current."""
        with _tool_error():
            return deploy_state.get_deploy(state, deploy_id)

    @server.tool(annotations=DESTRUCTIVE)
    def rollback_deploy(deploy_id: str, reason: str) -> dict[str, Any]:
        """Roll a service back from its current deploy `deploy_id` to the version before it.
        Only the current deploy of a service can be rolled back; `reason` is kept in the
        history. Returns the rollback record."""
        with _tool_error():
            return deploy_state.rollback_deploy(state, deploy_id, reason)

    return server


def main(argv: list[str] | None = None) -> None:
    """Seed the state if needed, then serve stdio, or Streamable HTTP with `--http PORT`."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.mcp.deploys")
    parser.add_argument("--state", required=True, type=Path, help="the state JSON file")
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED, help="used when it is missing")
    parser.add_argument("--http", type=int, metavar="PORT", help="Streamable HTTP on 127.0.0.1")
    args = parser.parse_args(argv)
    try:
        deploy_state.seed_state(args.state, args.seed)
    except (OSError, deploy_state.DeployError) as error:
        parser.exit(2, f"deploys: cannot prepare {args.state}: {error}\n")
    server = build(args.state)
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
