"""What the durable gate adds to an allowed MCP call over a direct SDK call to the same server.

One real MCP server process, its tool called four ways, interleaved, in one DBOS workflow:
  direct   `mcp.Client.call_tool` on the open session (the SDK alone)
  tool     the opsbot tool without the gate: `tool.run(args, ctx)` (schema check, the
           connection's timeout, redaction, the output cap)
  body     the engine's `call_tool` called as a plain function: the gate without DBOS
           (classify, the tool_use id check, the ToolCallRow written before and after, events,
           the span)
  gate     the same as the DBOS step `tool_call`, as a run calls it: the body plus the step's
           checkpoint

Run: `python -m bench mcp` (part of `make bench`). Target: the gate adds under 10 ms on SQLite.
The server is tests/mcp_servers/ops_server.py over stdio (its `get_status`, allowed by the
configuration), started the way `opsbot serve` starts it: from an `OPSBOT_MCP_CONFIG` file.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from dbos import DBOS, SetWorkflowID
from sqlalchemy import func, select

from agents import runtime, service
from agents.llm import ToolUse
from agents.specs import LOG_ANALYZER
from agents.workflow import step
from bench.harness import (
    ROOT,
    FinishPublisher,
    engine_settings,
    new_message,
    on_each_database,
    percentiles,
    reset_database,
    table,
)
from core.models import ToolCallRow
from core.types import IncomingMessage, ThreadRef
from tools.base import ToolResult, ToolStatus

SERVER = "ops"
TOOL = "get_status"
ARGS = {"service": "checkout"}
WAYS = ("direct", "tool", "body", "gate")
NO_MODEL = "http://127.0.0.1:9"  # never called: the bench calls the tool step itself


def _config(path: Path, calls: Path) -> Path:
    """An OPSBOT_MCP_CONFIG file with the ops server over stdio, `get_status` allowed."""
    server = {"command": sys.executable, "args": ["-m", "tests.mcp_servers.ops_server",
              "--calls", str(calls)], "cwd": str(ROOT), "allow": [TOOL]}  # fmt: skip
    path.write_text(json.dumps({"mcpServers": {SERVER: server}}))
    return path


def _ways(run_id: str, index: int) -> dict[str, Callable[[], Awaitable[Any]]]:
    """The three calls of round `index`, each a fresh coroutine when called."""
    engine = runtime.current_engine()
    assert engine.mcp is not None
    connection = engine.mcp.connections[SERVER]
    client = connection._client  # the session the connection keeps open (same process)
    assert client is not None, connection.status
    spec = engine.agents[LOG_ANALYZER]
    tool = spec.tool(f"mcp__{SERVER}__{TOOL}")
    assert tool is not None, "the allowed MCP tool is not the log analyzer's"
    use = ToolUse(id=f"toolu_gate_{index:06d}", name=tool.name, input=ARGS)
    unsaved = use.model_copy(update={"id": f"toolu_body_{index:06d}"})

    async def direct() -> Any:
        return await client.call_tool(TOOL, ARGS)

    async def plain() -> ToolResult:
        return await tool.run(ARGS, engine.tool_ctx_for(run_id), call_id=use.id)

    async def body() -> Any:
        return await engine.call_tool(run_id, LOG_ANALYZER, unsaved, 0)

    async def gate() -> Any:
        return await step("tool_call", engine.call_tool, run_id, LOG_ANALYZER, use, 0)

    return {"direct": direct, "tool": plain, "body": body, "gate": gate}


@DBOS.workflow(name="bench_mcp")
async def _calls_workflow(
    thread: ThreadRef, message: IncomingMessage, rounds: int
) -> dict[str, list[float]]:
    """`rounds` rounds of the four calls (their order rotating), ms each."""
    engine = runtime.current_engine()
    run_id = message.run_id(thread)
    await step("begin_turn", engine.begin_turn, run_id, thread, message)
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    for index in range(rounds):
        ways = _ways(run_id, index)
        for way in WAYS[index % 4 :] + WAYS[: index % 4]:
            started = time.perf_counter()
            outcome = await ways[way]()
            times[way].append((time.perf_counter() - started) * 1000)
            ok = (not outcome.is_error) if way == "direct" else (
                isinstance(outcome, ToolResult) and outcome.status is ToolStatus.OK)  # fmt: skip
            assert ok, (way, outcome)
    return times


async def measure(label: str, url: str, directory: Path, calls: int, warmup: int) -> dict[str, Any]:
    """Percentiles (ms) of each way over `calls` rounds after `warmup`, and what the tool and
    the gate add over the direct call at the median and at p99, and their ratios."""
    reset_database(url)
    calls_file = directory / "calls.jsonl"
    workspace = directory / "workspace"
    workspace.mkdir()
    settings = engine_settings(url, workspace, NO_MODEL,
                               mcp_config=_config(directory / "mcp.json", calls_file))  # fmt: skip
    engine = await service.launch(settings, FinishPublisher())
    try:
        thread, message = new_message("bench: MCP calls")
        with SetWorkflowID(message.run_id(thread)):
            times = await _calls_workflow(thread, message, warmup + calls)
        rows = await engine.db.run(lambda s: s.scalar(select(func.count()).select_from(
            ToolCallRow).where(ToolCallRow.run_id == message.run_id(thread),
                               ToolCallRow.status == "ok")))  # fmt: skip
    finally:
        await service.stop()
    reached = len(calls_file.read_text().splitlines())
    rounds = warmup + calls
    assert rows == 2 * rounds, f"{rows} tool call rows for {2 * rounds} gated calls"
    assert reached == len(WAYS) * rounds, f"the server saw {reached} calls"
    stats = {way: percentiles(values[warmup:]) for way, values in times.items()}
    result: dict[str, Any] = {"database": label, "calls": calls, "warmup": warmup, **stats}
    for way in WAYS[1:]:
        for q in ("p50", "p99"):
            result[f"{way}_added_{q}_ms"] = round(stats[way][q] - stats["direct"][q], 2)
        result[f"{way}_ratio"] = round(stats[way]["p50"] / stats["direct"]["p50"], 2)
    return result


def run(smoke: bool) -> list[dict[str, Any]]:
    """Every configured database: 20 calls of each way at smoke size, 2,000 otherwise."""
    calls, warmup = (20, 5) if smoke else (2000, 50)
    return on_each_database(lambda label, url, work: measure(label, url, work, calls, warmup))


def report(results: list[dict[str, Any]]) -> str:
    """The table BENCHMARKS.md shows: each way's percentiles, and what it adds over direct."""
    names = {"direct": "direct SDK call", "tool": "opsbot tool, no gate",
             "body": "gate without DBOS", "gate": "durable gate (step)"}  # fmt: skip
    rows = []
    for r in results:
        for way in WAYS:
            s = r[way]
            added = ["", "", ""]
            if way != "direct":
                ratio = f"{r[f'{way}_ratio']}x"
                added = [r[f"{way}_added_p50_ms"], r[f"{way}_added_p99_ms"], ratio]
            rows.append([r["database"], names[way], s["n"], s["p50"], s["p90"], s["p99"],
                         s["max"], *added])  # fmt: skip
    head = ["database", "way", "calls", "p50 ms", "p90 ms", "p99 ms", "max ms", "added p50 ms",
            "added p99 ms", "p50 ratio"]  # fmt: skip
    return table(head, rows)
