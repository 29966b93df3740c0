"""MCP tools against real servers (the official SDK) over stdio, Streamable HTTP and the 2025
handshake: gating by glob and annotation, schema checks before the server, tool errors, a
crash mid-call, a slow call, a huge result. No Slack, no engine: the hub and its tools."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from core.types import Risk
from tests.mcp_servers.running import read_calls, start_http_server, started_hub, stdio_config
from tests.unit.test_tools import MemoryOutputs
from tools.base import Tool, ToolContext, ToolError, ToolResult
from tools.mcp.config import McpServerConfig
from tools.mcp.hub import McpHub
from tools.registry import default_tools

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
NEW, OLD = "2026-07-28", "2025-11-25"
GATES: dict[str, Any] = {
    "allow": ("get_*", "list_*", "show_*", "huge"),
    "approve": ("*_status", "restart_*"),
    "deny": ("*pod*", "delete_*"),
}


@asynccontextmanager
async def ops_hub(transport: str, calls: Path, **fields: Any) -> AsyncIterator[McpHub]:
    """A hub with one server "ops" over `transport` ("stdio", "http" or "legacy")."""
    if transport == "http":
        async with start_http_server(calls) as url, started_hub(
            McpServerConfig(name="ops", url=url, **fields)
        ) as hub:  # fmt: skip
            yield hub
        return
    extra = ("--legacy",) if transport == "legacy" else ()
    async with started_hub(stdio_config("ops", calls, *extra, **fields)) as hub:
        yield hub


def tool(hub: McpHub, name: str, server: str = "ops") -> Tool[Any]:
    found = [t for t in hub.tools() if t.name == f"mcp__{server}__{name}"]
    assert found, f"no tool {name} on {server}: {hub.start_lines()}"
    return found[0]


def context(tmp_path: Path, **changes: Any) -> ToolContext:
    return ToolContext(workspace=tmp_path, **changes)


@pytest.mark.parametrize(("transport", "protocol"),
                         [("stdio", NEW), ("http", NEW), ("legacy", OLD)])  # fmt: skip
async def test_each_transport_connects_gates_by_glob_and_runs(
    tmp_path: Path, transport: str, protocol: str
) -> None:
    calls, ctx = tmp_path / "calls.jsonl", context(tmp_path)
    async with ops_hub(transport, calls, **GATES) as hub:
        assert hub.connections["ops"].status.protocol == protocol
        assert hub.start_lines()[0].startswith(f"MCP ops: connected ({protocol}), 11 tools:")
        verdicts = {entry.name: (entry.verdict.kind, entry.verdict.rule) for entry in hub.entries}
        # first match in the order deny > allow > approve, whatever order the globs came in
        assert verdicts["list_pods"] == ("deny", "deny '*pod*'")  # also on allow 'list_*'
        assert verdicts["delete_pod"] == ("deny", "deny '*pod*'")
        assert verdicts["get_status"] == ("allow", "allow 'get_*'")  # also on approve '*_status'
        assert verdicts["restart_service"] == ("approve", "approve 'restart_*'")
        assert verdicts["scale"] == ("approve", "not in allow, approve or deny")

        status = tool(hub, "get_status").assess({"service": "checkout"}, ctx)
        assert (status.risk, status.denied) == (Risk.READ, None)
        restart = tool(hub, "restart_service").assess({"name": "checkout"}, ctx)
        assert restart.risk is not Risk.READ
        assert restart.denied is None
        assert "needs approval (approve 'restart_*')" in restart.reason
        for name, args in [("delete_pod", {"name": "api-1"}), ("list_pods", {})]:
            refused = tool(hub, name).assess(args, ctx)
            assert refused.denied is not None
            assert "deny '*pod*'" in refused.denied
        assert read_calls(calls) == [], "assessing calls nothing"

        ran = await tool(hub, "get_status").run({"service": "payments"}, ctx, call_id="toolu_1")
        assert ran.error is None
        assert ran.data == {"service": "payments", "healthy": False, "replicas": 3}
    assert [(c["tool"], c["args"]) for c in read_calls(calls)] == [
        ("get_status", {"service": "payments"})
    ]


async def test_annotations_move_a_tool_only_where_trusted_and_lists_still_win(
    tmp_path: Path,
) -> None:
    calls, ctx = tmp_path / "calls.jsonl", context(tmp_path)
    untrusted = stdio_config("plain", calls)
    trusted = stdio_config("trusted", calls, trust_annotations=True, approve=("restart_*",),
                           deny=("crash",))  # fmt: skip
    async with started_hub(untrusted, trusted) as hub:
        kinds = {(e.server, e.name): (e.verdict.kind, e.verdict.rule) for e in hub.entries}
        for name in ("get_status", "restart_service", "huge"):  # readOnlyHint, not trusted
            kind, rule = kinds["plain", name]
            assert kind == "approve", rule
            assert "readOnlyHint" in rule, rule
            assert "not trusted" in rule, rule
            assert tool(hub, name, "plain").assess({"name": "x", "service": "x", "kilobytes": 1},
                                                   ctx).risk is not Risk.READ  # fmt: skip
        assert kinds["plain", "delete_pod"] == (
            "approve",
            "not in allow, approve or deny",
        )  # destructiveHint
        assert kinds["trusted", "get_status"] == ("allow", "readOnlyHint (trust_annotations)")
        assert kinds["trusted", "restart_service"] == ("approve", "approve 'restart_*'")
        assert kinds["trusted", "crash"] == ("deny", "deny 'crash'")
        assert kinds["trusted", "delete_pod"] == ("approve", "not in allow, approve or deny")
        card = tool(hub, "restart_service", "plain").describe({"name": "checkout"}, ctx)
        assert "the server says (not verified): read-only" in card
        assert '"name": "checkout"' in card
        looks = {t.name for t in hub.tools_for("log_analyzer", only_allowed=True)}
        assert looks == {f"mcp__trusted__{name}" for name in
                         ("get_status", "show_env", "slow", "huge", "fail", "refuse")}  # fmt: skip
    assert read_calls(calls) == []


BAD_ARGUMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("get_status", {}, "'service' is a required property"),
    ("get_status", {"service": 3}, "service: 3 is not of type 'string'"),
    ("get_status", {"service": None}, "service: None is not of type 'string'"),
    ("scale", {"deployment": "api", "replicas": 0}, "replicas: 0 is less than the minimum of 1"),
    ("scale", {"deployment": "api", "replicas": 11}, "replicas: 11 is greater than the maximum"),
    ("scale", {"deployment": "api", "replicas": "3"}, "replicas: '3' is not of type 'integer'"),
    ("scale", {"deployment": "Api_1", "replicas": 2}, "does not match"),
    ("list_pods", {"namespace": ["a", "b"]}, "namespace: ['a', 'b'] is not of type 'string'"),
]


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_arguments_are_checked_against_the_servers_schema_before_any_call(
    tmp_path: Path, transport: str
) -> None:
    calls, ctx = tmp_path / "calls.jsonl", context(tmp_path)
    async with ops_hub(transport, calls, allow=("*",)) as hub:
        for name, args, problem in BAD_ARGUMENTS:
            result = await tool(hub, name).run(args, ctx, call_id="toolu_bad")
            assert result.error is not None, (name, args, result)
            assert problem in result.error, (name, args, result)
            assert result.error.startswith(f"invalid input for mcp__ops__{name}: ")
            with pytest.raises(ToolError, match="invalid input"):
                tool(hub, name).assess(args, ctx)
        assert read_calls(calls) == [], "no bad call reached the server"
        good = await tool(hub, "scale").run({"deployment": "api", "replicas": 4}, ctx)
        assert good.data == {"result": "api scaled to 4"}
    assert [c["tool"] for c in read_calls(calls)] == ["scale"]


@pytest.mark.parametrize("transport", ["stdio", "http", "legacy"])
async def test_a_tool_error_reaches_the_model_as_a_tool_error(
    tmp_path: Path, transport: str
) -> None:
    calls, ctx = tmp_path / "calls.jsonl", context(tmp_path)
    async with ops_hub(transport, calls, allow=("*",)) as hub:
        for message in ("disk full", "permission denied: namespace kube-system", "ünïcode ✓"):
            result = await tool(hub, "refuse").run({"message": message}, ctx)
            assert result.status.value == "error", result
            said = f"Error executing tool refuse: {message}"
            assert result.error == f"ops/refuse returned an error: {said}"
        masked = await tool(hub, "fail").run({"message": "a secret stack"}, ctx)  # the SDK masks
        assert masked.error == "ops/fail returned an error: Error executing tool fail", masked
        after = await tool(hub, "get_status").run({"service": "api"}, ctx)
        assert after.error is None, "the server still answers after tool errors"
    assert [c["tool"] for c in read_calls(calls)] == ["refuse"] * 3 + ["fail", "get_status"]


@pytest.mark.parametrize("transport", ["stdio", "legacy"])
async def test_a_server_that_crashes_mid_call_the_outcome_is_unknown_and_never_repeated(
    tmp_path: Path, transport: str
) -> None:
    calls, ctx = tmp_path / "calls.jsonl", context(tmp_path)
    async with ops_hub(transport, calls, allow=("*",)) as hub:
        crashed = await tool(hub, "crash").run({}, ctx, call_id="toolu_crash")
        assert crashed.error is not None, crashed
        assert "outcome is unknown" in crashed.error, crashed
        assert "ops/crash" in crashed.error
        for service in ("api", "web"):  # the server is launched again for the next calls
            after = await tool(hub, "get_status").run({"service": service}, ctx)
            assert after.error is None, after
        assert hub.connections["ops"].status.state == "connected"
    recorded = read_calls(calls)
    assert [c["tool"] for c in recorded] == ["crash", "get_status", "get_status"]
    assert recorded[0]["pid"] != recorded[1]["pid"], "a new server process answered"


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_slow_call_times_out_and_the_server_stays_usable(
    tmp_path: Path, transport: str
) -> None:
    calls, ctx = tmp_path / "calls.jsonl", context(tmp_path)
    async with ops_hub(transport, calls, allow=("*",), timeout_s=1.5) as hub:
        started = time.monotonic()
        slow = await tool(hub, "slow").run({"seconds": 4}, ctx)
        took = time.monotonic() - started
        assert slow.error is not None, slow
        assert "gave no result within 1.5 s" in slow.error, slow
        assert 1.4 < took < 3, took
        quick = await tool(hub, "slow").run({"seconds": 0.1}, ctx)
        assert quick.data == {"result": "done"}, quick
    assert [c["args"]["seconds"] for c in read_calls(calls)] == [4, 0.1]


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_huge_result_is_capped_and_kept_whole_for_read_output(
    tmp_path: Path, transport: str
) -> None:
    calls = tmp_path / "calls.jsonl"
    outputs = MemoryOutputs()
    ctx = context(tmp_path, outputs=outputs, output_cap=8_000)
    read_output = default_tools().get("read_output")
    assert read_output is not None
    async with ops_hub(transport, calls, allow=("*",)) as hub:
        for kilobytes in (64, 1024):
            call_id = f"toolu_huge_{kilobytes}"
            result = await tool(hub, "huge").run({"kilobytes": kilobytes}, ctx, call_id=call_id)
            assert result.truncated
            assert len(result.for_model()) < 10_000, len(result.for_model())
            assert f"read_output(output_id={call_id!r}, offset=8000)" in str(result.data)
            assert len(json.loads(outputs.kept[call_id])["result"]) == kilobytes * 1024
            page: ToolResult = await read_output.run({"output_id": call_id, "offset": 8000}, ctx)
            assert isinstance(page.data, dict)
            assert "request served" in page.data["text"]
        bare = await tool(hub, "huge").run({"kilobytes": 64}, context(tmp_path), call_id="x")
        assert bare.truncated
        assert "read_output" not in str(bare.data), "no store, no pointer"
    assert len(read_calls(calls)) == 3
