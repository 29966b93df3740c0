"""MCP tools through `opsbot serve`, the local Slack workspace and the scripted model: an MCP
call that needs approval survives kill -9 while it waits and runs once when approved, never
when rejected; the investigator (log_analyzer) is refused anything that needs approval."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from core.db import sqlalchemy_url
from core.models import ApprovalRow, ToolCallRow
from sandbox.model.server import RunningModelServer
from sandbox.slack.app import RunningSlack
from sandbox.slack.server import SlackSandbox
from tests.e2e.test_crash_matrix import counter_world, final, posted_card_approvals, serve
from tests.mcp_servers.running import ROOT, read_calls, server_args
from tests.slack_runs import shown_with_blocks
from tests.slackbot import CHANNEL, card_with, reject_with_reason, thread, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
World = tuple[RunningSlack, RunningModelServer, Path]
DELETE = {"name": "mcp__ops__delete_pod", "input": {"name": "api-7d9f", "grace_period": 0}}
CODING_SCRIPT: list[dict[str, Any]] = [
    {"match": ".*", "router": [{"agent": "coding", "reason": "delete the stuck pod"}],
     "coding": [
         {"text": "Deleting the stuck pod api-7d9f.", "tool_calls": [DELETE],
          "if_rejected": [{"text": "The pod was not deleted."}]},
         {"text": "The pod api-7d9f is deleted."}]},
]  # fmt: skip
LOOKS_ONLY = "and log_analyzer only looks"
INVESTIGATE_SCRIPT: list[dict[str, Any]] = [
    {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "look at the pods"}],
     "log_analyzer": [
         {"text": "Checking the service, then cleaning up.", "tool_calls": [
             {"name": "mcp__ops__get_status", "input": {"service": "checkout"}},
             {"name": "mcp__ops__delete_pod", "input": {"name": "api-7d9f"}},
             {"name": "mcp__ops__restart_service", "input": {"name": "checkout"}},
             {"name": "shell_execute", "input": {"command": "python3 count.py"}}]},
         {"text": "Checkout is healthy; a person should delete pod api-7d9f."}]},
]  # fmt: skip


def mcp_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """OPSBOT_MCP_CONFIG for one stdio server "ops" (get_* runs at once, the rest asks), and
    the server's calls file."""
    calls = tmp_path / "mcp-calls.jsonl"
    config = {"mcpServers": {"ops": {
        "command": sys.executable, "args": server_args(calls), "cwd": str(ROOT),
        "allow": ["get_*"], "approve": ["delete_*"],
    }}}  # fmt: skip
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(config))
    return {"OPSBOT_MCP_CONFIG": str(path)}, calls


@pytest.fixture
async def coding_world(tmp_path: Path) -> AsyncIterator[World]:
    async with counter_world(tmp_path, CODING_SCRIPT) as parts:
        yield parts


@pytest.fixture
async def investigate_world(tmp_path: Path) -> AsyncIterator[World]:
    async with counter_world(tmp_path, INVESTIGATE_SCRIPT) as parts:
        yield parts


async def _stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 30)


def _text(sandbox: SlackSandbox, root_ts: str) -> str:
    return shown_with_blocks(thread(sandbox, root_ts))


def _tool_calls(database_url: str) -> dict[str, tuple[str, Any]]:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        rows = connection.execute(
            select(ToolCallRow.name, ToolCallRow.status, ToolCallRow.result)
        ).all()
    engine.dispose()
    return {name: (status, result) for name, status, result in rows}


def _approvals(database_url: str) -> int:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        count = len(connection.execute(select(ApprovalRow.id)).all())
    engine.dispose()
    return count


async def _killed_while_waiting(
    world: World, database_url: str, env: dict[str, str]
) -> tuple[SlackSandbox, str, dict[str, Any], asyncio.subprocess.Process]:
    """Mention, kill -9 at the wait, a new process: (sandbox, root ts, card, new process)."""
    slack, model, workspace = world
    sandbox = slack.sandbox
    first = await serve(slack, model, workspace, database_url, "waiting_approval", extra_env=env)
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> delete the stuck pod api-7d9f")
    await asyncio.wait_for(first.wait(), 60)
    assert first.returncode == -signal.SIGKILL, "the run never waited for the approval"
    second = await serve(slack, model, workspace, database_url, None, extra_env=env)
    card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "delete_pod"), 60)
    return sandbox, root.ts, card, second


def _assert_card_shows_the_call(card: dict[str, Any]) -> None:
    shown = str(card["blocks"])
    assert "mcp__ops__delete_pod" in shown
    assert "MCP server ops" in shown, "the server"
    assert 'tool "delete_pod"' in shown, "the tool (its raw name quoted)"
    assert "Delete a pod." in shown, "the server's description"
    assert '"name": "api-7d9f"' in shown, "the exact arguments"
    assert '"grace_period": 0' in shown, "every argument, even one the schema does not name"


async def test_approved_after_a_kill_the_mcp_call_runs_exactly_once(
    database_url: str, coding_world: World, tmp_path: Path
) -> None:
    env, calls = mcp_env(tmp_path)
    sandbox, root_ts, card, second = await _killed_while_waiting(coding_world, database_url, env)
    try:
        _assert_card_shows_the_call(card)
        assert read_calls(calls) == [], "nothing ran before the click"
        await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve")
        await wait_for(sandbox, lambda: final(sandbox, root_ts), 60)
        await asyncio.sleep(1.0)  # a second run of the call would show now
    finally:
        await _stop(second)
    deleted = [c for c in read_calls(calls) if c["tool"] == "delete_pod"]
    assert [c["args"] for c in deleted] == [{"name": "api-7d9f"}], "run once, with its argument"
    shown = _text(sandbox, root_ts)
    assert shown.count("The pod api-7d9f is deleted.") == 1
    assert _tool_calls(database_url)["mcp__ops__delete_pod"][0] == "ok"
    cards = posted_card_approvals(sandbox)
    assert len(cards) == len(set(cards)) == 1, "one card"


async def test_rejected_after_a_kill_the_mcp_call_never_runs(
    database_url: str, coding_world: World, tmp_path: Path
) -> None:
    env, calls = mcp_env(tmp_path)
    sandbox, root_ts, card, second = await _killed_while_waiting(coding_world, database_url, env)
    try:
        _assert_card_shows_the_call(card)
        await reject_with_reason(sandbox, "U0LEAD", card["ts"], "it still serves traffic")
        await wait_for(sandbox, lambda: final(sandbox, root_ts), 60)
        await asyncio.sleep(1.0)
    finally:
        await _stop(second)
    assert read_calls(calls) == [], "the server never saw the call"
    shown = _text(sandbox, root_ts)
    assert "Rejected by <@U0LEAD>: it still serves traffic" in shown
    assert "The pod was not deleted." in shown
    assert "The pod api-7d9f is deleted." not in shown
    assert _tool_calls(database_url)["mcp__ops__delete_pod"][0] == "rejected"


async def _investigate(world: World, database_url: str, tmp_path: Path) -> list[dict[str, Any]]:
    """The log_analyzer turn through serve; returns the server's calls after it ended."""
    slack, model, workspace = world
    env, calls = mcp_env(tmp_path)
    process = await serve(slack, model, workspace, database_url, None, extra_env=env)
    try:
        root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> why is checkout slow?")
        await wait_for(slack.sandbox, lambda: final(slack.sandbox, root.ts), 60)
        await asyncio.sleep(1.0)  # a late card would show now
    finally:
        await _stop(process)
    assert posted_card_approvals(slack.sandbox) == [], "no card for the investigator"
    assert _approvals(database_url) == 0
    assert not (workspace / "counter.txt").exists(), "the command did not run"
    return read_calls(calls)


async def test_the_investigator_runs_allowed_mcp_tools_and_is_refused_the_rest(
    database_url: str, investigate_world: World, tmp_path: Path
) -> None:
    reached = await _investigate(investigate_world, database_url, tmp_path)
    assert [c["tool"] for c in reached] == ["get_status"], "only the allowed tool reached it"
    calls = _tool_calls(database_url)
    assert calls["mcp__ops__get_status"][0] == "ok"
    status, result = calls["shell_execute"]
    assert status == "denied"
    assert LOOKS_ONLY in result["error"]
    for name in ("mcp__ops__delete_pod", "mcp__ops__restart_service"):
        assert calls[name][0] != "ok", name


async def test_the_investigator_is_told_an_mcp_tool_needs_approval_not_that_it_is_missing(
    database_url: str, investigate_world: World, tmp_path: Path
) -> None:
    await _investigate(investigate_world, database_url, tmp_path)
    calls = _tool_calls(database_url)
    for name in ("mcp__ops__delete_pod", "mcp__ops__restart_service"):
        status, result = calls[name]
        assert "did not connect" not in result["error"], result
        assert status == "denied", result
        assert LOOKS_ONLY in result["error"], result
